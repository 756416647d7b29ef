/** Which task a tool call is about, and which actor (with or without a token) writes. */
import { type Actor, KanbanError } from "../store/mod.ts";
import type { ToolDeps } from "./tool.ts";

/** readTarget is the task a call is about: the id given, or the worker's own task. */
export function readTarget(deps: Pick<ToolDeps, "worker">, ref: string | undefined): string {
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
 * ownTarget picks the task of a worker write (heartbeat, comment, complete, block) and the
 * actor to write as. The ref is passed on for the store to resolve, once: a person's as given,
 * a worker's own task by its id. Inside a worker a ref naming another task is refused
 * (`foreign_task`; that alone is resolved here, to compare), and the run's token is attached,
 * so that a stale worker's write is refused by the store (`stale_lease`) and changes nothing.
 */
export async function ownTarget(
  deps: ToolDeps,
  ref: string | undefined,
  action: string,
): Promise<{ id: string; actor: Actor }> {
  const target = readTarget(deps, ref);
  const w = deps.worker;
  if (w && target !== w.task) {
    const id = await deps.store.resolveId(target);
    if (id !== w.task) {
      throw new KanbanError(
        "foreign_task",
        `Cannot ${action} task "${id}" from the worker of task "${w.task}": a worker writes only to its own task`,
      );
    }
    return { id, actor: originActor(deps) };
  }
  return { id: target, actor: originActor(deps) };
}

/**
 * originActor is the actor for a write that is not to the caller's own task (create a
 * follow-up, link follow-ups): a worker's carries its token, so the store records the origin
 * run and refuses it once that run has ended.
 */
export function originActor(deps: ToolDeps): Actor {
  return deps.worker ? { ...deps.actor, token: deps.worker.token } : deps.actor;
}
