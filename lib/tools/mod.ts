/**
 * The agent tool surface: every tool with its short description (what an agent reads in
 * tools/list), and the two sets `kanban mcp` serves. The CLI verbs of the same names run
 * the same tools. docs/mcp.md describes the sets and their token budget.
 */
import { block, BlockInput } from "./block.ts";
import { comment, CommentInput } from "./comment.ts";
import { complete, CompleteToolInput } from "./complete.ts";
import { create, CreateInput } from "./create.ts";
import { heartbeat, HeartbeatInput } from "./heartbeat.ts";
import { link, LinkInput } from "./link.ts";
import { list, ListInput } from "./list.ts";
import { plan, PlanToolInput } from "./plan.ts";
import { requestReview, RequestReviewInput, review, ReviewInput } from "./review.ts";
import { show, ShowInput } from "./show.ts";
import { stats, StatsInput } from "./stats.ts";
import { defineTool, type Tool } from "./tool.ts";

export const TOOLS = {
  show: defineTool({
    name: "show",
    description:
      "Read a task: body, parents, children, comments, recent events, and runs with the tasks each run created.",
    input: ShowInput,
    handler: show,
  }),
  heartbeat: defineTool({
    name: "heartbeat",
    description:
      "Renew your lease and say what you are doing. Call every few minutes on long work.",
    input: HeartbeatInput,
    handler: heartbeat,
    target: "own",
  }),
  comment: defineTool({
    name: "comment",
    description: "Add a comment to a task: progress, findings, answers.",
    input: CommentInput,
    handler: comment,
    target: "own",
  }),
  complete: defineTool({
    name: "complete",
    description:
      "Finish a task with a handoff: the summary and metadata reach every task that waits on it. Stop working afterwards.",
    input: CompleteToolInput,
    handler: complete,
    target: "own",
    unlisted: ["usage"],
    report: "complete",
  }),
  block: defineTool({
    name: "block",
    description:
      "Stop work on a task, then stop working: by default park it with one clear question for a person; kind dependency (on: a task id) waits for that task, transient retries later (an outage), capability asks for another profile.",
    input: BlockInput,
    handler: block,
    target: "own",
    unlisted: ["usage"],
    report: "block",
  }),
  request_review: defineTool({
    name: "request_review",
    description:
      "Hand your work in for review with a handoff, as complete does: the task goes to its reviewer or a person. Stop working afterwards.",
    input: RequestReviewInput,
    handler: requestReview,
    target: "own",
    unlisted: ["usage"],
    report: "request_review",
  }),
  review: defineTool({
    name: "review",
    description:
      "Only when your task asks you to review it: approve the work, or request changes (reason, comments) for its implementer. Stop working afterwards.",
    input: ReviewInput,
    handler: review,
    target: "own",
    unlisted: ["usage"],
    report: "review",
  }),
  plan: defineTool({
    name: "plan",
    description:
      "Only when your task asks you to decompose it: submit the plan (tasks for the roster's profiles, with after) instead of completing. Once.",
    input: PlanToolInput,
    handler: plan,
    target: "own",
  }),
  create: defineTool({
    name: "create",
    description:
      "Create a task, e.g. a follow-up for another profile (assignee). List your task in parents to start it after you complete, with your handoff.",
    input: CreateInput,
    handler: create,
  }),
  link: defineTool({
    name: "link",
    description:
      "Make child wait for parent: it starts once parent is done and receives its handoff. A worker links only tasks it created.",
    input: LinkInput,
    handler: link,
  }),
  list: defineTool({
    name: "list",
    description:
      "List tasks without bodies, by status, priority, age. Pages: pass next_offset back as offset.",
    input: ListInput,
    handler: list,
  }),
  stats: defineTool({
    name: "stats",
    description: "Board counts: tasks by status, run outcomes, oldest ready task, done in 24 h.",
    input: StatsInput,
    handler: stats,
  }),
} as const;

export type ToolName = keyof typeof TOOLS;

/** WORKER_TOOLS: what a worker's `kanban mcp` serves, bound to its task and run token. */
export const WORKER_TOOLS: readonly ToolName[] = [
  "show",
  "heartbeat",
  "comment",
  "complete",
  "block",
  "request_review",
  "review",
  "plan",
  "create",
  "link",
];

/**
 * ORCHESTRATOR_TOOLS: what `kanban mcp` serves outside a worker. An orchestrator decomposes
 * work into linked tasks and watches the board; it does not finish or block work (a person
 * does that with the CLI or the dashboard, a worker with its own tools).
 */
export const ORCHESTRATOR_TOOLS: readonly ToolName[] = [
  "list",
  "stats",
  "show",
  "create",
  "link",
  "comment",
];

/** toolSet returns the tools for a worker (true) or an orchestrator (false). */
export function toolSet(worker: boolean): Tool[] {
  return (worker ? WORKER_TOOLS : ORCHESTRATOR_TOOLS).map((n) => TOOLS[n] as Tool);
}

export { AGENT_CAPS, type Caps } from "./caps.ts";
export { ownTarget, readTarget } from "./_target.ts";
export { deliver, type Delivery } from "./deliver.ts";
export { runTool, type ToolDeps, type ToolError, toolError, type WorkerBinding } from "./tool.ts";
export type { Tool } from "./tool.ts";
