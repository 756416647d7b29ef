/**
 * Origins: which tasks a worker's run created. A task created by a worker (with its run's
 * lease token) records `origin_task` and `origin_run` in its `created` event; these reads
 * find them again, for a run's history and for the rule that a worker links only its own
 * follow-ups.
 */
import type { Kernel } from "./_kernel.ts";
import type { Run, TaskLinkRef } from "./types.ts";

/** createdByRun tells whether task `taskId` was created by the worker of run `runId`. */
export function createdByRun(k: Kernel, taskId: string, runId: number): boolean {
  return k.db.get(
    `SELECT 1 AS found FROM task_events
     WHERE task_id = ? AND kind = 'created' AND json_extract(data, '$.origin_run') = ?`,
    taskId,
    runId,
  ) !== undefined;
}

/**
 * createdTasks returns, for each of task `taskId`'s runs, the tasks that run created (oldest
 * first). A run can only create while it is open, so the search for run R reads just the
 * events between R's first event (its claim) and its last one (its end), or up to now
 * while R is open: a bounded range of the event log, never the whole of it.
 */
export function createdTasks(
  k: Kernel,
  taskId: string,
  runs: readonly Run[],
): Map<number, TaskLinkRef[]> {
  const out = new Map<number, TaskLinkRef[]>();
  for (const run of runs) {
    const span = k.db.get<{ lo: number | null; hi: number | null }>(
      "SELECT min(id) AS lo, max(id) AS hi FROM task_events WHERE task_id = ? AND run_id = ?",
      taskId,
      run.id,
    );
    if (!span || span.lo === null || span.hi === null) {
      out.set(run.id, []);
      continue;
    }
    const hi = run.open ? Number.MAX_SAFE_INTEGER : span.hi;
    const rows = k.db.all<TaskLinkRef>(
      `SELECT t.id, t.title, t.status, t.assignee FROM task_events e JOIN tasks t ON t.id = e.task_id
       WHERE e.id > ? AND e.id <= ? AND e.kind = 'created'
         AND json_extract(e.data, '$.origin_run') = ?
       ORDER BY e.id`,
      span.lo,
      hi,
      run.id,
    );
    out.set(run.id, rows.map((r) => ({ ...r })));
  }
  return out;
}
