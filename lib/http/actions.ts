/**
 * Running a person's status action on one task (the transition endpoints, drag and drop, and
 * bulk all come here), always through the store, so the one transition table applies.
 */
import type { Actor, Status, Store, Task, UsageInput } from "../store/mod.ts";
import type { ReviewCommentInput } from "../store/review_comments.ts";
import { planMove } from "./moves.ts";
import type { BulkAction } from "./schemas.ts";

export interface ActionInput {
  /** For move: the column dropped on. */
  status?: Status | undefined;
  reason?: string | undefined;
  summary?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  result?: string | undefined;
  /** For complete: what the run used, as the caller reports it (the store validates it). */
  usage?: UsageInput | undefined;
  /** For reject: review comments, their diff lines quoted (lib/review/quote.ts). */
  comments?: ReviewCommentInput[] | undefined;
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
  const run = (): Promise<Task> => {
    switch (action) {
      case "promote":
        return store.promote(ref, actor);
      case "unblock":
        return store.unblock(ref, actor);
      case "complete":
        return store.complete(ref, {
          summary: input.summary,
          metadata: input.metadata,
          result: input.result,
          usage: input.usage,
        }, actor);
      case "block":
        return store.block(ref, input.reason ?? "", actor);
      case "approve":
        return store.review(ref, "approve", input.reason, actor, input.comments);
      case "reject":
        return store.review(ref, "reject", input.reason, actor, input.comments);
      case "cancel":
        return store.cancel(ref, input.reason, actor);
      case "archive":
        return store.archive(ref, actor);
      case "unarchive":
        return store.unarchive(ref, actor);
      case "reopen":
        return store.reopen(ref, actor);
    }
  };
  return { task: await run(), action, changed: true };
}
