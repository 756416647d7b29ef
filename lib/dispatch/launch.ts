/**
 * What a worker is started with: the argv of its profile (placeholders filled) and its
 * environment (the dispatcher's without KANBAN_*, the profile's, then the run's own).
 */
import { dirname } from "node:path";
import type { Profile } from "../config/config.ts";
import type { BoardRef, Env } from "../config/paths.ts";
import type { Claim } from "../store/mod.ts";
import { encodeWorkerEnv } from "../worker_env.ts";
import { presetLaunch, presetOf, renderArgv } from "./profiles.ts";
import { boardSecrets } from "./worker_socket.ts";

export interface LaunchInput {
  claim: Claim;
  profile: Profile;
  prompt: string;
  /** The path of one of the run's own files (logs.ts runFile): the prompt is "prompt.md". */
  runFile: (name: string) => string;
  /** The prepared workspace: the worker's cwd. */
  cwd: string;
  board: BoardRef;
  /**
   * The dispatcher's worker socket: the worker then reaches the board through it, and gets no
   * board location at all (KANBAN_SOCKET, no KANBAN_DB). Null or absent: it opens the board.
   */
  socket?: string | null | undefined;
  /** The kanban binary the worker calls (its folder goes first on PATH). */
  bin: string;
  /** The dispatcher's environment. */
  env: Env;
}

/**
 * The database client's variables that carry a password (or where to find one): a worker of a
 * server board gets none of them, nor anything holding PGPASSWORD's value. A worker that needs a
 * database of its own gets its credentials from its profile's `env`.
 */
const PASSWORD_VARS: ReadonlySet<string> = new Set(["PGPASSWORD", "PGPASSFILE"]);

/** serverSecrets: what a worker of a server board must never see, from its location and env. */
function serverSecrets(location: string, env: Env): string[] {
  const password = env["PGPASSWORD"] ?? "";
  return [...boardSecrets(location), ...(password.length >= 4 ? [password] : [])];
}

/**
 * baseEnv is the dispatcher's environment without KANBAN_* (the run sets its own); for a server
 * board (`secrets` not null) also without PASSWORD_VARS and any variable whose value holds one of
 * `secrets` (a DATABASE_URL naming the board's server).
 */
function baseEnv(env: Env, secrets: readonly string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k.startsWith("KANBAN_")) continue;
    if (secrets === null) {
      out[k] = v;
      continue;
    }
    if (PASSWORD_VARS.has(k)) continue;
    if (secrets.some((s) => v.includes(s))) continue;
    out[k] = v;
  }
  return out;
}

/** What a completion gate's environment is made from (gateEnv). */
export interface GateEnvInput {
  /** The dispatcher's environment. */
  env: Env;
  board: BoardRef;
  /** The dispatcher's worker socket: set, the board is a server's (its secrets stay out). */
  socket: string | null;
  /** The profile's `env`. */
  profileEnv: Record<string, string>;
  task: string;
  workspace: string;
  profile: string;
}

/**
 * gateEnv is a completion gate's environment (docs/gates.md): the dispatcher's as a worker gets
 * it (no KANBAN_*, and none of a server board's secrets), the profile's `env`, and
 * KANBAN_TASK, KANBAN_WORKSPACE and KANBAN_PROFILE. No lease token: a gate is not a worker.
 */
export function gateEnv(i: GateEnvInput): Record<string, string> {
  return {
    ...baseEnv(i.env, i.socket === null ? null : serverSecrets(i.board.path, i.env)),
    ...i.profileEnv,
    KANBAN_TASK: i.task,
    KANBAN_WORKSPACE: i.workspace,
    KANBAN_PROFILE: i.profile,
  };
}

/** LaunchPlan: the worker's argv and environment, and the files to write before it starts. */
export interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
  /** path -> content, written private (0600) before the spawn. */
  files: Record<string, string>;
  /** The file the worker reads on stdin (its prompt, for a preset that asks), or null. */
  stdin: string | null;
}

/**
 * claimedLease is the lease length a claim gave its run: a claim sets the lease to expire one
 * lease length after the run's start, and a worker is launched before anything renews it.
 */
function claimedLease(run: Claim["run"]): number {
  const ms = Date.parse(run.lease_expires ?? "") - Date.parse(run.started_at);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_LEASE_MS;
}

/** The lease a run has when its own cannot be read (the store's default lease). */
const DEFAULT_LEASE_MS = 120_000;

export function launchPlan(i: LaunchInput): LaunchPlan {
  const { task, run, token } = i.claim;
  const socket = i.socket ?? null;
  // Through the socket, the board's location reaches the worker nowhere: not in KANBAN_DB,
  // not in an inherited variable, not in a preset's arguments or the {board} placeholder (the
  // socket stands in for it there: its folder is the one a sandbox must let the worker reach).
  const board = socket ?? i.board.path;
  const env: Record<string, string> = {
    ...baseEnv(i.env, socket === null ? null : serverSecrets(i.board.path, i.env)),
    ...i.profile.env,
    PATH: `${dirname(i.bin)}:${i.profile.env["PATH"] ?? i.env["PATH"] ?? "/usr/bin:/bin"}`,
    ...encodeWorkerEnv({
      task: task.id,
      run: run.id,
      token,
      db: socket === null ? i.board.path : null,
      socket,
      board: i.board.name,
      workspace: i.cwd,
      profile: task.assignee!,
      tenant: task.tenant,
      bin: i.bin,
      promptFile: i.runFile("prompt.md"),
      leaseMs: claimedLease(run),
      reportFile: i.runFile("report.json"),
    }),
  };
  const added = presetLaunch(i.profile, {
    kanban: i.bin,
    board,
    env,
    args: i.profile.args,
    mcp: i.profile.mcp,
    runFile: i.runFile,
    workspace: { path: i.cwd, own: task.workspace === "scratch" },
  });
  const argv = renderArgv(i.profile, {
    prompt: i.prompt,
    task: task.id,
    workspace: i.cwd,
    run: String(run.id),
    profile: task.assignee!,
    board,
    kanban: i.bin,
  }, added);
  return {
    argv,
    env: { ...env, ...added.env },
    files: added.files ?? {},
    stdin: presetOf(i.profile)?.stdin === "prompt" ? i.runFile("prompt.md") : null,
  };
}
