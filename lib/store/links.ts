/**
 * Dependencies between tasks. A link (parent, child) makes the child wait for the parent.
 * Self links and cycles are refused; the child's readiness is re-derived on every change.
 */
import { appendEvent, type Kernel, resolveId, resolveTask } from "./_kernel.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { refresh } from "./readiness.ts";
import { fenceOrigin } from "./runs.ts";
import { createdByRun } from "./origins.ts";
import type { Status } from "./transitions.ts";
import type { Actor } from "./types.ts";

/** addLink inserts the link row after the checks; the caller re-derives the child. */
export async function addLink(k: Kernel, parentId: string, childId: string): Promise<boolean> {
  if (parentId === childId) {
    throw new ConflictError("self_link", `Task "${parentId}" cannot depend on itself`);
  }
  if (await k.q.isAncestor(childId, parentId)) {
    throw new ConflictError(
      "cycle",
      `Linking "${parentId}" -> "${childId}" would make a cycle: "${childId}" is already an ancestor of "${parentId}"`,
    );
  }
  return k.q.linkInsert(parentId, childId, k.now());
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
export async function link(
  k: Kernel,
  parentRef: string,
  childRef: string,
  actor: Actor,
): Promise<LinkResult> {
  const run = await fenceOrigin(k, actor, "link tasks");
  const parent = await resolveTask(k, parentRef);
  const child = await resolveTask(k, childRef);
  if (run && !(await createdByRun(k, child.id, run.id))) {
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
  const changed = await addLink(k, parent.id, child.id);
  let status = child.status;
  if (changed) {
    appendEvent(k, child.id, child.current_run_id, "linked", actor, { parent: parent.id });
    status = (await refresh(k, child.id, actor)).status;
  }
  return { parent: parent.id, child: child.id, changed, child_status: status };
}

/** unlink removes the dependency; a child whose last unfinished parent it was becomes ready. */
export async function unlink(
  k: Kernel,
  parentRef: string,
  childRef: string,
  actor: Actor,
): Promise<LinkResult> {
  const parent = await resolveId(k, parentRef);
  const child = await resolveTask(k, childRef);
  if (!(await k.q.linkDelete(parent, child.id))) {
    throw new NotFoundError(`Task "${child.id}" does not depend on "${parent}"`);
  }
  appendEvent(k, child.id, child.current_run_id, "unlinked", actor, { parent });
  const { status } = await refresh(k, child.id, actor);
  return { parent, child: child.id, changed: true, child_status: status };
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
export async function waitsFor(
  k: Kernel,
  ids: readonly string[],
  shown = 5,
): Promise<Map<string, WaitsFor>> {
  const out = new Map<string, WaitsFor>();
  if (ids.length === 0) return out;
  // Plain rows grouped here: twice as fast as numbering them per child in SQL with window
  // functions, and a task waits for a handful of parents, not thousands.
  for (const r of await k.q.unfinishedParentsOf(ids)) {
    let w = out.get(r.child);
    if (w === undefined) out.set(r.child, w = { count: 0, parents: [] });
    w.count++;
    if (w.parents.length < shown) w.parents.push({ id: r.id, title: r.title, status: r.status });
  }
  return out;
}
