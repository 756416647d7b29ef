/**
 * Readiness is derived, never set by hand: a task is `ready` when every parent is satisfied
 * and `not_before` has passed, `scheduled` when only the time is missing, `todo` otherwise.
 * A parent is satisfied when it is done, or was archived after being done (archiving a
 * finished task is cleanup). A parent archived unfinished (cancelled) keeps its children
 * waiting; `show` names it so a person can unlink it.
 */
import type { TaskRow } from "./_rows.ts";
import { type Kernel, loadTask, move } from "./_kernel.ts";
import type { Actor } from "./types.ts";
import { type Action, DERIVED, type Status } from "./transitions.ts";

/** SQL condition: parent row `p` satisfies its children. */
export const PARENT_SATISFIED =
  "(p.status = 'done' OR (p.status = 'archived' AND p.archived_from = 'done'))";

export function unsatisfiedParents(k: Kernel, taskId: string): number {
  return k.db.get<{ n: number }>(
    `SELECT count(*) AS n FROM task_links l JOIN tasks p ON p.id = l.parent_id
     WHERE l.child_id = ? AND NOT ${PARENT_SATISFIED}`,
    taskId,
  )!.n;
}

/** derivedStatus is where a waiting task belongs now. */
export function derivedStatus(k: Kernel, task: TaskRow): "todo" | "scheduled" | "ready" {
  if (unsatisfiedParents(k, task.id) > 0) return "todo";
  if (task.not_before !== null && task.not_before > k.now()) return "scheduled";
  return "ready";
}

/**
 * moveToDerived moves a task out of a non-derived status (unblock, reject, reopen, ...)
 * into whichever of todo/scheduled/ready fits it now.
 */
export function moveToDerived(
  k: Kernel,
  task: TaskRow,
  via: Action,
  actor: Actor,
  extra: Record<string, string | number | null> = {},
  data: Record<string, unknown> = {},
): TaskRow {
  return move(k, task, derivedStatus(k, task), via, actor, extra, data);
}

/** refresh re-derives a waiting task's status; tasks in other statuses are left alone. */
export function refresh(k: Kernel, taskId: string, actor: Actor): TaskRow {
  const task = loadTask(k, taskId);
  if (!(DERIVED as readonly Status[]).includes(task.status)) return task;
  const to = derivedStatus(k, task);
  return to === task.status ? task : move(k, task, to, "derive", actor);
}

/** refreshChildren re-derives every child of `parentId` (its status just changed). */
export function refreshChildren(k: Kernel, parentId: string, actor: Actor): void {
  const children = k.db.all<{ child_id: string }>(
    "SELECT child_id FROM task_links WHERE parent_id = ? ORDER BY child_id",
    parentId,
  );
  for (const { child_id } of children) refresh(k, child_id, actor);
}

/** promoteDue moves scheduled tasks whose `not_before` has passed; returns how many moved. */
export function promoteDue(k: Kernel, actor: Actor): number {
  const due = k.db.all<{ id: string }>(
    // The partial index holds only scheduled tasks: without ANALYZE statistics the planner
    // would rather read every scheduled task, due or not, before each claim.
    `SELECT id FROM tasks INDEXED BY tasks_scheduled
     WHERE status = 'scheduled' AND not_before <= ? ORDER BY not_before`,
    k.now(),
  );
  let moved = 0;
  for (const { id } of due) if (refresh(k, id, actor).status !== "scheduled") moved++;
  return moved;
}
