/**
 * `complete`: finish a task with a handoff (summary, metadata, result) that the tasks waiting
 * on it receive. A worker completes its own task; a person may complete any.
 */
import { z } from "zod";
import {
  CompleteSchema,
  extendInput,
  runAction,
  type Task,
  type TaskSummary,
  UsageInputSchema,
} from "../store/mod.ts";
import { capTask } from "./caps.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

const USAGE_DOC =
  "what your run used, only if kanban does not read your CLI's output: tokens, cost_usd, models";

/** The optional usage report of complete and block (only for CLIs kanban cannot read). */
export const USAGE_INPUT = UsageInputSchema.optional().describe(USAGE_DOC);

/**
 * The complete tool's input: the store's completion schema (lib/store/input.ts), described for
 * agents, plus the task id. The store accepts what this parsed without parsing it again.
 */
export const CompleteToolInput = extendInput(CompleteSchema, {
  id: z.string().optional().describe("task id (default: your task)"),
}, {
  summary: "what was done, for people and the next tasks",
  metadata: "machine-readable results (files, URLs, numbers)",
  result: "the result itself, if short",
  usage: USAGE_DOC,
});

/** What a worker's report answers when the task's completion gate holds it (docs/gates.md). */
export type Held<T> = T & { gate_pending?: true; note?: string };

/**
 * held marks the answer to a worker's completion (or a reviewer's approval) that the task's
 * completion gate holds: the task is still running, and the gate runs once the worker exits.
 */
export function held<T extends Pick<Task, "status" | "gate">>(task: T, worker: boolean): Held<T> {
  if (!worker || task.status !== "running" || (task.gate?.argv.length ?? 0) === 0) return task;
  return {
    ...task,
    gate_pending: true,
    note: "completed; the task's completion gate runs once you exit (exit now): it is done if " +
      "the gate passes, and comes back to this profile with the gate's output if it fails",
  };
}

export async function complete(
  deps: ToolDeps,
  input: z.output<typeof CompleteToolInput>,
): Promise<Held<Task | TaskSummary>> {
  const t = await ownTarget(deps, input.id, "complete");
  // passed on whole: the store reads the completion's fields and skips the id
  const task = await runAction(deps.store, t.id, "complete", input, t.actor);
  return held(deps.caps ? capTask(task, deps.caps) : task, t.actor.token !== undefined);
}
