/**
 * `plan`: an orchestrator's worker submits the plan of the task it was asked to decompose
 * (lib/store/plans.ts): the plan's tasks are created, the task waits for them, and the run
 * ends, in one step, once.
 */
import { z } from "zod";
import type { PlanResult } from "../store/mod.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

export const PlanToolInput = z.strictObject({
  id: z.string().optional().describe("task id (default: your task)"),
  summary: z.string().optional().describe("one or two lines: how the work is split"),
  tasks: z.array(z.strictObject({
    ref: z.string().describe("its name in the plan: letters, digits, . _ -"),
    title: z.string(),
    body: z.string().optional().describe("what to do, and how to tell it is done"),
    assignee: z.string().describe("a profile of the roster in your prompt"),
    after: z.array(z.string()).optional().describe("refs of the plan's tasks it waits for"),
    priority: z.number().int().optional(),
    needs: z.array(z.string()).optional().describe("labels a host must offer"),
  })).describe("the plan's tasks"),
});

/** The answer: the task as it is now, and each of the plan's tasks by ref. */
export interface PlanOutput {
  task: { id: string; status: string };
  created: boolean;
  tasks: { ref: string; id: string; status: string; assignee: string | null }[];
}

export async function plan(
  deps: ToolDeps,
  input: z.output<typeof PlanToolInput>,
): Promise<PlanOutput> {
  const t = await ownTarget(deps, input.id, "submit a plan for");
  const { id: _id, ...fields } = input;
  const r: PlanResult = await deps.store.plan(t.id, fields, t.actor);
  return {
    task: { id: r.task.id, status: r.task.status },
    created: r.plan.created,
    tasks: r.plan.tasks.map((n) => ({
      ref: n.ref,
      id: n.task.id,
      status: n.task.status,
      assignee: n.task.assignee,
    })),
  };
}
