/**
 * What a dispatcher records before it starts a worker, and reads back after a crash. The
 * claim already names the host; the launch adds the run's log and workspace before the
 * process exists, so a dispatcher that dies between the spawn and the record of the pid leaves
 * enough for the next one to find the worker (by its run's cgroup and lease token) and adopt
 * or stop it before the task can be claimed again.
 */
import type { Kernel } from "./_kernel.ts";

export interface LaunchRecord {
  log_path: string;
  workspace: string;
}

/** recordLaunch notes where an open run's worker is about to start; false if the run ended. */
export async function recordLaunch(k: Kernel, runId: number, l: LaunchRecord): Promise<boolean> {
  return (await k.q.runUpdate(runId, { log_path: l.log_path, workspace: l.workspace }, true)) !==
    undefined;
}

/**
 * runToken is an open run's lease token, for its supervisor only: the token is in every
 * process of the run's environment (KANBAN_TOKEN), which is how a worker whose pid was never
 * recorded is found. Null once the run has ended.
 */
export async function runToken(k: Kernel, runId: number): Promise<string | null> {
  const run = await k.q.runGet(runId);
  return run && run.ended_at === null ? run.lease_token : null;
}
