/** `block`: park a task with a question or reason for a person (ends a worker's run). */
import { z } from "zod";
import { runAction, type Task, type TaskSummary } from "../store/mod.ts";
import { capTask } from "./caps.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";
import { USAGE_INPUT } from "./complete.ts";

export const BlockInput = z.strictObject({
  id: z.string().optional().describe("task id (default: your task)"),
  reason: z.string().describe("one clear question or reason"),
  usage: USAGE_INPUT,
});

export async function block(
  deps: ToolDeps,
  input: z.output<typeof BlockInput>,
): Promise<Task | TaskSummary> {
  const t = await ownTarget(deps, input.id, "block");
  const { reason, usage } = input;
  const task = await runAction(deps.store, t.id, "block", { reason, usage }, t.actor);
  return deps.caps ? capTask(task, deps.caps) : task;
}
