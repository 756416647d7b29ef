/**
 * Readiness is derived, never set by hand: a task is `ready` when every parent is satisfied
 * and `not_before` has passed, `scheduled` when only the time is missing, `todo` otherwise.
 * A parent is satisfied when it is done, or was archived after being done (archiving a
 * finished task is cleanup). A parent archived unfinished (cancelled) keeps its children
 * waiting; `show` names it so a person can unlink it.
 */
import type { TaskRow } from "./_rows.ts";
import type { TaskSet } from "./driver/core.ts";
import { type Kernel, loadTask, lockedTask, move } from "./_kernel.ts";
import type { Actor } from "./types.ts";
import { type Action, DERIVED, type Status } from "./transitions.ts";
import { reviewedByPerson } from "./plans.ts";

/** timeStatus is where a task with no unfinished parent belongs now. */
export function timeStatus(k: Kernel, task: TaskRow): "scheduled" | "ready" {
  return task.not_before !== null && task.not_before > k.now() ? "scheduled" : "ready";
}

/**
 * derivedStatus is where a waiting task belongs now (call it in a write transaction only).
 *
 * Its parents are read with a guard in a serialisable transaction: a worker's complete runs
 * at READ COMMITTED (TxOptions.lockedReads), where the serialisable checks cannot see it, and
 * moves a parent to done while re-deriving that parent's children itself. Without the guard
 * a serialisable transaction re-deriving the same child (ending its run, unblocking it) could
 * read the parent as unfinished and commit `todo` after the complete had looked at the child
 * and left it: a child stuck waiting for a parent that is done. The guard locks the parents
 * read, without waiting: a parent being written fails the transaction, which runs again and
 * reads it as committed (unfinishedParents). A lockedReads transaction reads the parents
 * plainly, having locked the child first (refresh).
 */
export async function derivedStatus(
  k: Kernel,
  task: TaskRow,
): Promise<"todo" | "scheduled" | "ready"> {
  if ((await k.q.unfinishedParents(task.id, !k.locked)).length > 0) return "todo";
  return timeStatus(k, task);
}

/**
 * moveToDerived moves a task out of a non-derived status (unblock, reject, reopen, ...)
 * into whichever of todo/scheduled/ready fits it now.
 */
export async function moveToDerived(
  k: Kernel,
  task: TaskRow,
  via: Action,
  actor: Actor,
  extra: TaskSet = {},
  data: Record<string, unknown> = {},
): Promise<TaskRow> {
  return move(k, task, await derivedStatus(k, task), via, actor, extra, data);
}

/**
 * refresh re-derives a waiting task's status; tasks in other statuses are left alone. In a
 * lockedReads transaction the task is locked before its parents are read: two workers
 * completing two parents of one child at once take turns on the child, and the second reads
 * the first's parent as committed (each statement at READ COMMITTED sees what has committed
 * before it began).
 */
export async function refresh(k: Kernel, taskId: string, actor: Actor): Promise<TaskRow> {
  const task = k.locked ? await lockedTask(k, taskId) : await loadTask(k, taskId);
  if (!(DERIVED as readonly Status[]).includes(task.status)) return task;
  const to = await derivedStatus(k, task);
  if (to === task.status) return task;
  // the root of a plan a person reviews is completed by the plan's tasks: it goes to review
  if (to === "ready" && await reviewedByPerson(k, task)) {
    return move(k, task, "review", "complete", actor, {}, { plan: "done" });
  }
  return move(k, task, to, "derive", actor);
}

/** refreshChildren re-derives every child of `parentId` (its status just changed). */
export async function refreshChildren(k: Kernel, parentId: string, actor: Actor): Promise<void> {
  for (const child of await k.q.childIds(parentId)) await refresh(k, child, actor);
}

/** promoteDue moves scheduled tasks whose `not_before` has passed; returns how many moved. */
export async function promoteDue(k: Kernel, actor: Actor): Promise<number> {
  let moved = 0;
  for (const id of await k.q.scheduledDue(k.now())) {
    if ((await refresh(k, id, actor)).status !== "scheduled") moved++;
  }
  return moved;
}
