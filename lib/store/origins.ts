/**
 * Origins: which tasks a worker's run created. A task created by a worker (with its run's
 * lease token) records `origin_task` and `origin_run` in its `created` event; these reads
 * find them again, for a run's history and for the rule that a worker links only its own
 * follow-ups.
 */
import type { Kernel } from "./_kernel.ts";
import type { Run, TaskLinkRef } from "./types.ts";

/** createdByRun tells whether task `taskId` was created by the worker of run `runId`. */
export function createdByRun(k: Kernel, taskId: string, runId: number): Promise<boolean> {
  return k.q.taskCreatedByRun(taskId, runId);
}

/**
 * createdTasks returns, for each of task `taskId`'s runs, the tasks that run created (oldest
 * first). A run can only create while it is open, so the search for run R reads just the
 * events between R's first event (its claim) and its last one (its end), or up to now
 * while R is open: a bounded range of the event log, never the whole of it.
 */
export async function createdTasks(
  k: Kernel,
  taskId: string,
  runs: readonly Run[],
): Promise<Map<number, TaskLinkRef[]>> {
  // Each run's reads are asked together (a server driver pipelines them), kept in run order.
  const created = await Promise.all(runs.map(async (run) => {
    const span = await k.q.runEventSpan(taskId, run.id);
    if (span.lo === null || span.hi === null) return [] as TaskLinkRef[];
    const hi = run.open ? Number.MAX_SAFE_INTEGER : span.hi;
    return await k.q.tasksCreatedByRun(run.id, span.lo, hi);
  }));
  return new Map(runs.map((run, i) => [run.id, created[i]!]));
}
