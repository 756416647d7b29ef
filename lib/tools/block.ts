/**
 * `block`: stop work on a task for a reason, by kind (ends a worker's run): a question for a
 * person (needs_input, the default), a task to wait for (dependency), a passing outage to retry
 * later (transient), or another profile to take it (capability). lib/store/blocks.ts.
 */
import { z } from "zod";
import { BlockFields, blockOptions, runAction, type Task, type TaskSummary } from "../store/mod.ts";
import { capTask } from "./caps.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";
import { USAGE_INPUT } from "./complete.ts";

export const BlockInput = z.strictObject({
  id: z.string().optional().describe("task id (default: your task)"),
  reason: z.string().describe("one clear question or reason"),
  ...BlockFields,
  usage: USAGE_INPUT,
});

/** block runs the block action on the caller's task (or `id`) with its kind's fields. */
export async function block(
  deps: ToolDeps,
  input: z.output<typeof BlockInput>,
): Promise<Task | TaskSummary> {
  const t = await ownTarget(deps, input.id, "block");
  const { reason, usage } = input;
  const task = await runAction(deps.store, t.id, "block", {
    reason,
    usage,
    block: blockOptions(input),
  }, t.actor);
  return deps.caps ? capTask(task, deps.caps) : task;
}
