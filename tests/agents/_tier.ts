/**
 * The real-CLI tier: runs a task through the real `kanban dispatch` (the compiled binary)
 * with a preset's real agent CLI (installed by scripts/setup into agents/node_modules) talking
 * to the scripted model server on 127.0.0.1, and returns what happened.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import type { PresetName } from "../../lib/config/config.ts";
import {
  authBlockReason,
  openStore,
  type ProfileHold,
  type Run,
  type Task,
} from "../../lib/store/mod.ts";
import { BINARY } from "../e2e/_binary.ts";
import { MACHINE_OFF, tempDir } from "../_setup.ts";
import {
  type Api,
  type Failure,
  type Logged,
  type ModelServer,
  startModelServer,
} from "./model/server.ts";
import { FIGURES, type Step, WORKER_TOOLS } from "./model/script.ts";

/** The kanban binary the tier runs: dist/kanban, or $KANBAN_TIER_BINARY (a private build). */
export const KANBAN = process.env["KANBAN_TIER_BINARY"] || BINARY;

/** Where scripts/setup installs the agent CLIs (agents/package.json pins them). */
export const AGENTS_BIN = fileURLToPath(new URL("../../agents/node_modules/.bin", import.meta.url));

/** One agent CLI as the tier runs it. */
export interface TierCli {
  preset: PresetName;
  /** The APIs of the model server this CLI calls. */
  apis: Api[];
  /**
   * configure points the CLI at the model server: it may write the CLI's own config files
   * under `home` (the worker's HOME) and returns variables for the dispatcher's environment,
   * which workers inherit.
   */
  configure(home: string, url: string): Record<string, string>;
  /** More TOML lines for the profile (after `preset` and `mcp`). */
  profile?: string;
  /**
   * The folder the temp home is made in (default: the system's temp folder). Gemini CLI reads
   * a per-run settings file only if no folder above it is writable by others, as /tmp is.
   */
  root?: string;
}

export interface TierResult {
  task: Task;
  runs: Run[];
  server: ModelServer;
  /** The worker log of the latest run. */
  log: string;
  /** What the dispatcher printed. */
  dispatcher: string;
  home: string;
  /** The profiles' holds when the run was over (lib/store/holds.ts). */
  holds: ProfileHold[];
  [Symbol.asyncDispose](): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** kanban runs the binary without blocking the event loop (the model server lives here). */
async function kanban(args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(KANBAN, { args, env, clearEnv: true }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`kanban ${args.join(" ")}: ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** tempHome makes a private folder in `root` (or the system's temp folder). */
function tempHome(prefix: string, root?: string): { dir: string } & Disposable {
  if (root === undefined) return tempDir(prefix);
  mkdirSync(root, { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(root, prefix));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** nodeDir is the folder of the node that runs the JavaScript CLIs. */
function nodeDir(): string {
  const found = (process.env["PATH"] ?? "").split(":").find((d) => existsSync(join(d, "node")));
  return found ?? "/usr/bin";
}

/**
 * runTask creates one task for a profile of `cli`'s preset, runs `kanban dispatch` until the
 * task leaves running (done or blocked, or `timeoutMs`), stops the dispatcher and returns
 * the board's record of it with the server's request log.
 */
export async function runTask(
  cli: TierCli,
  options: {
    steps: Step[];
    mcp?: boolean;
    timeoutMs?: number;
    profile?: string;
    /** Run the dispatcher (and so its workers) as this user: the test home becomes theirs. */
    user?: { uid: number; gid: number };
    /** The model server answers every turn with this account error (model/errors.ts). */
    fail?: Failure;
    /** More TOML lines for [dispatch]. */
    dispatch?: string;
    /**
     * When the run counts as over (default: the task is done or blocked and its first run's
     * exit is recorded).
     */
    settled?: (task: Task, runs: Run[]) => boolean;
  },
): Promise<TierResult> {
  if (!existsSync(join(AGENTS_BIN, cli.preset === "claude-code" ? "claude" : cli.preset))) {
    throw new Error(
      `the agent CLIs are not installed in ${AGENTS_BIN}: run scripts/setup --agents`,
    );
  }
  const tmp = tempHome(`kanban-tier-${cli.preset}-`, cli.root);
  const home = tmp.dir;
  const server = await startModelServer(cli.apis, options.steps, options.fail ?? null);
  const env: Record<string, string> = {
    HOME: home,
    KANBAN_HOME: home,
    USER: process.env["USER"] ?? "root",
    LANG: "C.UTF-8",
    TMPDIR: join(home, "tmp"),
    PATH: `${AGENTS_BIN}:${nodeDir()}:/usr/local/bin:/usr/bin:/bin`,
  };
  mkdirSync(env["TMPDIR"]!, { recursive: true });
  Object.assign(env, cli.configure(home, server.url));
  const profile = [
    `preset = "${cli.preset}"`,
    `mcp = ${options.mcp === true}`,
    cli.profile ?? "",
    options.profile ?? "",
  ].join("\n");
  writeFileSync(
    join(home, "config.toml"),
    `[dispatch]\n${MACHINE_OFF}poll_interval = "1s"\nstop_grace = "2s"\nexit_grace = "5s"\nfailure_limit = 1\n` +
      `max_runtime = "5m"\n${options.dispatch ?? ""}\n\n[profiles.agent]\n${profile}\n`,
  );
  await kanban(["init"], env);
  const created = JSON.parse(
    await kanban(["create", `scripted ${cli.preset} task`, "--assignee", "agent", "--json"], env),
  );
  const id: string = created.task?.id ?? created.id;
  const user = options.user;
  if (user) {
    const chown = ["-R", `${user.uid}:${user.gid}`, home];
    if (!(await new Deno.Command("chown", { args: chown }).output()).success) {
      throw new Error(`chown ${chown.join(" ")} failed`);
    }
  }
  const child = spawn(KANBAN, ["dispatch", "--stop-workers"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  let printed = "";
  child.stdout!.on("data", (b) => (printed += b));
  child.stderr!.on("data", (b) => (printed += b));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const boardPath = join(home, "boards", "default", "board.db");
  const store = openStore(boardPath);
  try {
    const deadline = Date.now() + (options.timeoutMs ?? 180_000);
    for (;;) {
      const t = await store.getTask(id);
      const runs = await store.listRuns(id);
      const settled = options.settled?.(t, runs) ??
        (runs.length > 0 && runs.every((r) => r.ended_at !== null) &&
          (t.status === "done" || t.status === "blocked") &&
          (runs[0]!.outcome !== "completed" && runs[0]!.outcome !== "blocked" ||
            runs[0]!.exit_code !== null || runs[0]!.signal !== null));
      if (settled || Date.now() > deadline) break;
      await sleep(250);
    }
  } finally {
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  const task = await store.getTask(id);
  const runs = await store.listRuns(id);
  const holds = await store.profileHolds();
  store.close();
  const logPath = runs[0]?.log_path;
  const log = logPath && existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
  return {
    task,
    runs,
    server,
    log,
    dispatcher: printed,
    home,
    holds,
    [Symbol.asyncDispose]: async () => {
      await server[Symbol.asyncDispose]();
      if (!process.env["KANBAN_KEEP_TIER"]) tmp[Symbol.dispose]();
    },
  };
}

/** explain is the message a failed tier assertion carries: what the board, CLI and server saw. */
export function explain(r: TierResult): string {
  const run = r.runs[0];
  return [
    `task ${r.task.id} is ${r.task.status}; run: ${JSON.stringify(run ?? null)}`,
    `--- dispatcher:\n${r.dispatcher.slice(-3000)}`,
    `--- worker log:\n${r.log.slice(-4000)}`,
    `--- requests: ${
      r.server.requests.map((q) =>
        `${q.method} ${q.path} -> ${q.reply ? JSON.stringify(q.reply).slice(0, 200) : "-"}`
      ).join("\n")
    }`,
    `--- home: ${r.home}`,
  ].join("\n");
}

/** writeJson writes `data` as JSON to `path`, making its folder. */
export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2));
}

/** HANDOFF is what every scripted run hands over: kanban complete's summary and metadata. */
export const HANDOFF = {
  summary: "Scripted work is done.",
  metadata: { files: 2, url: "https://example.test/pr/1" },
};

/** COMPLETE is the command line that hands HANDOFF over through the CLI's shell tool. */
export const COMPLETE = `kanban complete --summary '${HANDOFF.summary}' --metadata '${
  JSON.stringify(HANDOFF.metadata)
}'`;

/** shellComplete is the script `before`, then the shell tool running COMPLETE, then "Done.". */
export function shellComplete(...before: Step[]): Step[] {
  return [...before, { shell: COMPLETE }, { text: "Done." }];
}

/** mcpComplete is the script `before`, then kanban's MCP `complete` of HANDOFF, then "Done.". */
export function mcpComplete(...before: Step[]): Step[] {
  return [...before, { mcp: "complete", args: HANDOFF }, { text: "Done." }];
}

/**
 * assertHandedOff checks a run that ended with the script's complete: the task is done, its
 * run completed with exactly HANDOFF, and the first scripted turn's prompt is the task's.
 * It returns that run, the scripted turns and explain(r) for the test's own assertions.
 */
export function assertHandedOff(r: TierResult): { run: Run; turns: Logged[]; why: string } {
  const why = explain(r);
  assert.equal(r.task.status, "done", why);
  const run = r.runs[0]!;
  assert.equal(run.outcome, "completed", why);
  assert.equal(run.summary, HANDOFF.summary, why);
  assert.deepEqual(run.metadata, HANDOFF.metadata, why);
  const turns = r.server.turns();
  const prompt = turns[0]?.turn?.prompt ?? "";
  assert.ok(prompt.includes(`# Task ${r.task.id}`), why);
  assert.ok(prompt.includes("## How to work on this task"), why);
  return { run, turns, why };
}

/**
 * assertTwoTurns checks a run of shellComplete() or mcpComplete() as assertHandedOff does, and
 * that it took exactly two scripted turns: the first reply called `call` (the CLI's name for its
 * shell tool, or for kanban's complete), the second said "Done.".
 */
export function assertTwoTurns(r: TierResult, call: string): ReturnType<typeof assertHandedOff> {
  const done = assertHandedOff(r);
  assert.equal(done.turns.length, 2, `a call of ${call}, then the closing text\n${done.why}`);
  assert.equal(firstCall(r), call, done.why);
  return done;
}

/**
 * assertWorkerTools checks that the first scripted turn offered all seven WORKER_TOOLS under
 * the CLI's names for them (`nameOf("complete")`, e.g. `mcp__kanban__complete`). kanban's MCP
 * server lists them only when the worker's KANBAN_* variables reach it.
 */
export function assertWorkerTools(r: TierResult, nameOf: (tool: string) => string): void {
  const offered = r.server.turns()[0]?.turn?.tools.map((t) => t.name) ?? [];
  for (const tool of WORKER_TOOLS) {
    assert.ok(
      offered.includes(nameOf(tool)),
      `kanban's ${tool} is offered as ${nameOf(tool)}: ${offered.join(", ")}\n${explain(r)}`,
    );
  }
}

/**
 * firstCall is the name of the tool the first scripted reply called, or that reply's kind
 * when it called none ("text"); undefined when the CLI asked nothing.
 */
function firstCall(r: TierResult): string | undefined {
  const reply = r.server.turns()[0]?.reply;
  return reply?.kind === "tool" ? reply.name : reply?.kind;
}

/**
 * servedUsage is the usage of `replies` scripted replies with every FIGURES kind counted, as
 * a CLI that reports them all records it; each tier adds its CLI's models, turns and cost.
 */
export function servedUsage(replies: number) {
  return {
    input_tokens: replies * FIGURES.input,
    output_tokens: replies * FIGURES.output,
    cache_read_tokens: replies * FIGURES.cache_read,
    cache_write_tokens: replies * FIGURES.cache_write,
    reasoning_tokens: replies * FIGURES.reasoning,
    source: "output",
  };
}

/**
 * chatUsage is servedUsage over Chat Completions, which has no cache writes: the server's
 * cache-write tokens reach the CLI as plain input (see CHAT_USAGE).
 */
export function chatUsage(replies: number) {
  return {
    ...servedUsage(replies),
    input_tokens: replies * (FIGURES.input + FIGURES.cache_write),
    cache_write_tokens: 0,
  };
}

/**
 * runHeld runs the standard script against a model server that answers every turn with `fail`
 * and waits until the task's run has ended and `lingerMs` (3 s) more have passed (time for a
 * retry the hold must prevent). The dispatcher reads a CLI retrying once as stuck (quota_retries = 1), so that
 * CLIs that back off for minutes are stopped at their first retry.
 */
export function runHeld(
  cli: TierCli,
  fail: Failure,
  options: { lingerMs?: number; timeoutMs?: number } = {},
): Promise<TierResult> {
  const linger = options.lingerMs ?? 3_000;
  return runTask(cli, {
    steps: shellComplete(),
    fail,
    dispatch: "quota_retries = 1",
    timeoutMs: options.timeoutMs ?? 120_000,
    settled: (task, runs) =>
      task.status !== "running" && runs.length > 0 &&
      runs.every((r) => r.ended_at !== null && Date.parse(r.ended_at) < Date.now() - linger),
  });
}

/**
 * assertHeld checks the first run of a task that met `kind`: it ended `transient` saying the
 * profile is held, counted no failure, no run started again before the hold ended, and the
 * profile is held (a rate limit or quota until a time, `resetS` seconds from the run's end when
 * the CLI reported it; a failed sign-in until released, with the task blocked for it).
 */
export function assertHeld(
  r: TierResult,
  kind: Failure["kind"],
  resetS?: number,
): void {
  const why = explain(r);
  const [run, ...later] = [...r.runs].sort((a, b) => a.id - b.id);
  assert.ok(run, why);
  assert.equal(run.outcome, "transient", why);
  assert.match(run.error ?? "", /; profile agent held (until|until a person)/, why);
  assert.equal(r.task.consecutive_failures, 0, why);
  const hold = r.holds.find((h) => h.profile === "agent");
  assert.equal(hold?.kind, kind, why);
  assert.equal(hold!.task, r.task.id, why);
  for (const next of later) {
    assert.ok(
      hold!.until !== null && Date.parse(next.started_at) >= Date.parse(hold!.until),
      `run ${next.id} started at ${next.started_at}, while the profile was held\n${why}`,
    );
  }
  if (kind === "auth") {
    assert.equal(hold!.until, null, why);
    assert.equal(r.task.status, "blocked", why);
    assert.equal(r.task.blocked_reason, authBlockReason("agent"), why);
    return;
  }
  if (later.length === 0) assert.equal(r.task.status, "ready", why);
  const left = Date.parse(hold!.until!) - Date.parse(run.ended_at!);
  if (resetS === undefined) {
    // no reset reported: the first hold's backoff, a minute
    assert.ok(left > 55_000 && left <= 61_000, `held ${left} ms after the run\n${why}`);
  } else {
    assert.ok(
      left > (resetS - 5) * 1000 && left <= (resetS + 1) * 1000,
      `held ${left} ms after the run, the CLI said ${resetS} s\n${why}`,
    );
  }
}
