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
export function recordLaunch(k: Kernel, runId: number, l: LaunchRecord): boolean {
  return k.db.run(
    "UPDATE task_runs SET log_path = ?, workspace = ? WHERE id = ? AND ended_at IS NULL",
    l.log_path,
    l.workspace,
    runId,
  ).changes === 1;
}

/**
 * runToken is an open run's lease token, for its supervisor only: the token is in every
 * process of the run's environment (KANBAN_TOKEN), which is how a worker whose pid was never
 * recorded is found. Null once the run has ended.
 */
export function runToken(k: Kernel, runId: number): string | null {
  return k.db.get<{ lease_token: string }>(
    "SELECT lease_token FROM task_runs WHERE id = ? AND ended_at IS NULL",
    runId,
  )?.lease_token ?? null;
}
