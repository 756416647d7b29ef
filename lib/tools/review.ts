/**
 * The review loop's two worker tools (lib/store/reviews.ts): `request_review`, the
 * implementer's hand-in of its work with a handoff (as complete takes), and `review`, the
 * reviewer's verdict on the task under its review: approve, or request changes with reasons
 * and line comments.
 */
import { z } from "zod";
import { CompleteSchema, extendInput, type Task, type TaskSummary } from "../store/mod.ts";
import { capTask } from "./caps.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";
import { type Held, held, USAGE_INPUT } from "./complete.ts";

/** request_review takes what complete takes: the handoff the reviewer and later tasks read. */
export const RequestReviewInput = extendInput(CompleteSchema, {
  id: z.string().optional().describe("task id (default: your task)"),
}, {
  summary: "what you did and where, for the reviewer",
  metadata: "machine-readable results (files, URLs, numbers)",
  result: "the result itself, if short",
  usage: "what your run used, only if kanban does not read your CLI's output",
});

/** requestReview hands the caller's task in for review, ending its run. */
export async function requestReview(
  deps: ToolDeps,
  input: z.output<typeof RequestReviewInput>,
): Promise<Task | TaskSummary> {
  const t = await ownTarget(deps, input.id, "request review of");
  const { id: _id, ...handoff } = input;
  const task = await deps.store.requestReview(t.id, handoff, t.actor);
  return deps.caps ? capTask(task, deps.caps) : task;
}

export const ReviewInput = z.strictObject({
  id: z.string().optional().describe("task id (default: your task)"),
  verdict: z.enum(["approve", "changes"]).describe(
    "approve: the work is done; changes: it goes back to its implementer",
  ),
  reason: z.string().optional().describe("why; required with changes"),
  // Listed lean (every worker's tools/list pays for it); the store checks each comment whole.
  comments: z.array(z.strictObject({
    file: z.string(),
    line: z.number().int().optional(),
    side: z.enum(["old", "new"]).optional(),
    body: z.string(),
    quote: z.array(z.string()).optional(),
  })).optional().describe("with changes: on a file, or its line (new side unless old)"),
  usage: USAGE_INPUT,
});

/** review gives the reviewer's verdict on the task under its review, ending its run. */
export async function review(
  deps: ToolDeps,
  input: z.output<typeof ReviewInput>,
): Promise<Held<Task | TaskSummary>> {
  const t = await ownTarget(deps, input.id, "review");
  const decision = input.verdict === "approve" ? "approve" : "reject";
  const { reason, comments, usage } = input;
  const task = await deps.store.review(t.id, decision, reason, t.actor, comments, usage);
  return held(deps.caps ? capTask(task, deps.caps) : task, t.actor.token !== undefined);
}
