/**
 * `complete`: finish a task with a handoff (summary, metadata, result) that the tasks waiting
 * on it receive. A worker completes its own task; a person may complete any.
 */
import { z } from "zod";
import { runAction, type Task, type TaskSummary, UsageInputSchema } from "../store/mod.ts";
import { capTask } from "./caps.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

/** The optional usage report of complete and block (only for CLIs kanban cannot read). */
export const USAGE_INPUT = UsageInputSchema.optional().describe(
  "what your run used, only if kanban does not read your CLI's output: tokens, cost_usd, models",
);

export const CompleteInput = z.strictObject({
  id: z.string().optional().describe("task id (default: your task)"),
  summary: z.string().optional().describe("what was done, for people and the next tasks"),
  metadata: z.record(z.string(), z.unknown()).optional().describe(
    "machine-readable results (files, URLs, numbers)",
  ),
  result: z.string().optional().describe("the result itself, if short"),
  usage: USAGE_INPUT,
});

export async function complete(
  deps: ToolDeps,
  input: z.output<typeof CompleteInput>,
): Promise<Task | TaskSummary> {
  const t = await ownTarget(deps, input.id, "complete");
  const { summary, metadata, result, usage } = input;
  const done = { summary, metadata, result, usage };
  const task = await runAction(deps.store, t.id, "complete", done, t.actor);
  return deps.caps ? capTask(task, deps.caps) : task;
}
