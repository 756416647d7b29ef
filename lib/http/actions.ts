/**
 * Running a person's status action on one task (the transition endpoints, drag and drop, and
 * bulk all come here). The action vocabulary (lib/store/actions.ts) maps a drop to its action
 * and each action to its store call, so the one transition table applies.
 */
import {
  type ActionInput as StoreActionInput,
  type Actor,
  planMove,
  runAction,
  type Status,
  type Store,
  type Task,
} from "../store/mod.ts";
import type { BulkAction } from "./schemas.ts";

export interface ActionInput extends StoreActionInput {
  /** For move: the column dropped on. */
  status?: Status | undefined;
}

export interface ActionResult {
  task: Task;
  /** The action that ran (for a move, the one the drop mapped to; null: nothing changed). */
  action: string | null;
  changed: boolean;
}

/** act applies `action` to task `ref`; store errors (illegal transition, ...) pass through. */
export async function act(
  store: Store,
  ref: string,
  action: BulkAction,
  input: ActionInput,
  actor: Actor,
): Promise<ActionResult> {
  if (action === "move") {
    const task = await store.getTask(ref);
    const plan = planMove(task, input.status!, input.reason !== undefined);
    if (plan.action === null) return { task, action: null, changed: false };
    return await act(store, task.id, plan.action, input, actor);
  }
  return { task: await runAction(store, ref, action, input, actor), action, changed: true };
}
