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

export interface LaunchInput {
  claim: Claim;
  profile: Profile;
  prompt: string;
  /** The path of one of the run's own files (logs.ts runFile): the prompt is "prompt.md". */
  runFile: (name: string) => string;
  /** The prepared workspace: the worker's cwd. */
  cwd: string;
  board: BoardRef;
  /** The kanban binary the worker calls (its folder goes first on PATH). */
  bin: string;
  /** The dispatcher's environment. */
  env: Env;
}

/** baseEnv is the dispatcher's environment without KANBAN_* (the run sets its own). */
function baseEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !k.startsWith("KANBAN_")) out[k] = v;
  }
  return out;
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

export function launchPlan(i: LaunchInput): LaunchPlan {
  const { task, run, token } = i.claim;
  const env: Record<string, string> = {
    ...baseEnv(i.env),
    ...i.profile.env,
    PATH: `${dirname(i.bin)}:${i.profile.env["PATH"] ?? i.env["PATH"] ?? "/usr/bin:/bin"}`,
    ...encodeWorkerEnv({
      task: task.id,
      run: run.id,
      token,
      db: i.board.path,
      board: i.board.name,
      workspace: i.cwd,
      profile: task.assignee!,
      tenant: task.tenant,
      bin: i.bin,
      promptFile: i.runFile("prompt.md"),
    }),
  };
  const added = presetLaunch(i.profile, {
    kanban: i.bin,
    board: i.board.path,
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
    board: i.board.path,
    kanban: i.bin,
  }, added);
  return {
    argv,
    env: { ...env, ...added.env },
    files: added.files ?? {},
    stdin: presetOf(i.profile)?.stdin === "prompt" ? i.runFile("prompt.md") : null,
  };
}
