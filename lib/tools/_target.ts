/** Which task a tool call is about, and which actor (with or without a token) writes. */
import { type Actor, KanbanError } from "../store/mod.ts";
import type { ToolDeps } from "./tool.ts";

/** readTarget is the task a call is about: the id given, or the worker's own task. */
export function readTarget(deps: ToolDeps, ref: string | undefined): string {
  const chosen = ref ?? deps.worker?.task;
  if (chosen === undefined) {
    throw new KanbanError(
      "usage",
      "Missing task id (or run inside a worker, with KANBAN_TASK set)",
    );
  }
  return chosen;
}

/**
 * ownTarget resolves the task of a worker write (heartbeat, comment, complete, block) and the
 * actor to write as. Inside a worker the id defaults to its task, a write to any other task
 * is refused (`foreign_task`), and the run's token is attached, so that a stale worker's
 * write is refused by the store (`stale_lease`) and changes nothing.
 */
export async function ownTarget(
  deps: ToolDeps,
  ref: string | undefined,
  action: string,
): Promise<{ id: string; actor: Actor }> {
  const id = await deps.store.resolveId(readTarget(deps, ref));
  const w = deps.worker;
  if (w && id !== w.task) {
    throw new KanbanError(
      "foreign_task",
      `Cannot ${action} task "${id}" from the worker of task "${w.task}": a worker writes only to its own task`,
    );
  }
  return { id, actor: originActor(deps) };
}

/**
 * originActor is the actor for a write that is not to the caller's own task (create a
 * follow-up, link follow-ups): a worker's carries its token, so the store records the origin
 * run and refuses it once that run has ended.
 */
export function originActor(deps: ToolDeps): Actor {
  return deps.worker ? { ...deps.actor, token: deps.worker.token } : deps.actor;
}
