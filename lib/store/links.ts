/**
 * Dependencies between tasks. A link (parent, child) makes the child wait for the parent.
 * Self links and cycles are refused; the child's readiness is re-derived on every change.
 */
import { appendEvent, type Kernel, loadTask, resolveId } from "./_kernel.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { PARENT_SATISFIED, refresh } from "./readiness.ts";
import { fenceOrigin } from "./runs.ts";
import { createdByRun } from "./origins.ts";
import type { Status } from "./transitions.ts";
import type { Actor } from "./types.ts";

/** isAncestor tells whether `ancestor` is reachable from `taskId` by following parents. */
function isAncestor(k: Kernel, ancestor: string, taskId: string): boolean {
  return k.db.get(
    `WITH RECURSIVE up(id) AS (
       SELECT parent_id FROM task_links WHERE child_id = ?
       UNION SELECT l.parent_id FROM task_links l JOIN up ON l.child_id = up.id)
     SELECT 1 AS found FROM up WHERE id = ? LIMIT 1`,
    taskId,
    ancestor,
  ) !== undefined;
}

/** addLink inserts the link row after the checks; the caller re-derives the child. */
export function addLink(k: Kernel, parentId: string, childId: string): boolean {
  if (parentId === childId) {
    throw new ConflictError("self_link", `Task "${parentId}" cannot depend on itself`);
  }
  if (isAncestor(k, childId, parentId)) {
    throw new ConflictError(
      "cycle",
      `Linking "${parentId}" -> "${childId}" would make a cycle: "${childId}" is already an ancestor of "${parentId}"`,
    );
  }
  const r = k.db.run(
    "INSERT OR IGNORE INTO task_links (parent_id, child_id, created_at) VALUES (?, ?, ?)",
    parentId,
    childId,
    k.now(),
  );
  return r.changes === 1;
}

export interface LinkResult {
  parent: string;
  child: string;
  /** false when the link already existed (or, for unlink, never existed). */
  changed: boolean;
  /** Where the child is now (a ready child waits again once linked to an open parent). */
  child_status: Status;
}

/**
 * link makes `child` wait for `parent`; a ready child is demoted until the parent is done.
 * A worker (an actor with a lease token) links only while its run is open, and only a child
 * that its run created: it may order its own follow-ups, not hold up other tasks.
 */
export function link(k: Kernel, parentRef: string, childRef: string, actor: Actor): LinkResult {
  const run = fenceOrigin(k, actor, "link tasks");
  const parent = loadTask(k, resolveId(k, parentRef));
  const child = loadTask(k, resolveId(k, childRef));
  if (run && !createdByRun(k, child.id, run.id)) {
    throw new ConflictError(
      "foreign_task",
      `Cannot make task "${child.id}" wait for "${parent.id}" from the worker of task "${run.task_id}": a worker links only tasks its run created`,
    );
  }
  for (const t of [parent, child]) {
    if (t.status === "archived") {
      throw new ConflictError(
        "archived",
        `Cannot link archived task "${t.id}"; unarchive it first`,
      );
    }
  }
  const changed = addLink(k, parent.id, child.id);
  if (changed) {
    appendEvent(k, child.id, child.current_run_id, "linked", actor, { parent: parent.id });
    refresh(k, child.id, actor);
  }
  return { parent: parent.id, child: child.id, changed, child_status: statusOf(k, child.id) };
}

/** unlink removes the dependency; a child whose last unfinished parent it was becomes ready. */
export function unlink(k: Kernel, parentRef: string, childRef: string, actor: Actor): LinkResult {
  const parent = resolveId(k, parentRef);
  const child = loadTask(k, resolveId(k, childRef));
  const r = k.db.run(
    "DELETE FROM task_links WHERE parent_id = ? AND child_id = ?",
    parent,
    child.id,
  );
  if (r.changes === 0) {
    throw new NotFoundError(`Task "${child.id}" does not depend on "${parent}"`);
  }
  appendEvent(k, child.id, child.current_run_id, "unlinked", actor, { parent });
  refresh(k, child.id, actor);
  return { parent, child: child.id, changed: true, child_status: statusOf(k, child.id) };
}

function statusOf(k: Kernel, id: string): Status {
  return loadTask(k, id).status;
}

/** WaitsFor: a waiting task's unfinished parents as the board shows them. */
export interface WaitsFor {
  /** How many parents are unfinished (may exceed `parents.length`). */
  count: number;
  /** The first few of them, oldest first. */
  parents: { id: string; title: string; status: Status }[];
}

/**
 * waitsFor reads the unfinished parents of every task in `ids` with one query (the board asks
 * for a whole column at once; one query per card would cost a round of SQLite work each): at
 * most `shown` parents per task, oldest first, and the full count. A task that waits for no
 * parent is absent from the map. Unfinished is what readiness means by it: a parent archived
 * unfinished (cancelled) still holds its children.
 */
export function waitsFor(
  k: Kernel,
  ids: readonly string[],
  shown = 5,
): Map<string, WaitsFor> {
  const out = new Map<string, WaitsFor>();
  if (ids.length === 0) return out;
  // Plain rows grouped here: twice as fast as numbering them per child in SQL with window
  // functions, and a task waits for a handful of parents, not thousands.
  const rows = k.db.all<{ child: string; id: string; title: string; status: Status }>(
    `SELECT l.child_id AS child, p.id, p.title, p.status
     FROM json_each(?) j
     JOIN task_links l ON l.child_id = j.value
     JOIN tasks p ON p.id = l.parent_id
     WHERE NOT ${PARENT_SATISFIED}
     ORDER BY l.child_id, p.created_at, p.id`,
    JSON.stringify(ids),
  );
  for (const r of rows) {
    let w = out.get(r.child);
    if (w === undefined) out.set(r.child, w = { count: 0, parents: [] });
    w.count++;
    if (w.parents.length < shown) w.parents.push({ id: r.id, title: r.title, status: r.status });
  }
  return out;
}
