/**
 * Request schemas of the API. Bodies are strict (an unknown field such as a misspelt
 * `assigne` is refused, not ignored) and reuse the store's own input schemas, so the API,
 * the CLI and the tools accept and refuse the same things.
 */
import { z } from "zod";
import { parseSince } from "../config/duration.ts";
import {
  BlockFields,
  BUCKETS,
  BUDGET_METRICS,
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  CompleteSchema,
  CreateTaskSchema,
  EditTaskSchema,
  extendInput,
  INBOX_MAX,
  INBOX_PAGE,
  PERSON_ACTIONS,
  STATUSES,
} from "../store/mod.ts";
import {
  REVIEW_COMMENTS_MAX,
  reviewCommentFields,
  sideNeedsLine,
} from "../store/review_comments.ts";

/** A time: milliseconds since the epoch, or an ISO 8601 date-time with an offset. */
const when = z.union([
  z.number().int(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

const reason = (what: string) =>
  z.string().trim().min(1, `${what} is empty`).max(20_000, `${what} is too long`);

export const CreateBody = z.strictObject({
  ...CreateTaskSchema.shape,
  // Checked by the store (which turns it into a kind and a path): kept as text here.
  workspace: z.string().optional().describe("scratch (default), worktree or dir:/absolute/path"),
  not_before: when.nullish().describe("do not start before: epoch ms or ISO date-time"),
});

export const EditBody = z.strictObject({
  title: EditTaskSchema.shape.title,
  body: EditTaskSchema.shape.body,
  priority: EditTaskSchema.shape.priority,
  assignee: CreateTaskSchema.shape.assignee.describe("a profile name; null unassigns"),
  reviewer: EditTaskSchema.shape.reviewer.describe(
    "the profile whose worker reviews the task's work; null: none",
  ),
  review_rounds: EditTaskSchema.shape.review_rounds.describe(
    "rounds of review before a person decides; null: the default (3)",
  ),
  gate: EditTaskSchema.shape.gate.describe(
    "the completion gate, an argv that must exit 0 before the task is done (docs/gates.md); " +
      "[]: none, not even its profile's; null: none yet (a claim copies its profile's)",
  ),
  gate_timeout_ms: EditTaskSchema.shape.gate_timeout_ms.describe(
    "the gate's time limit in ms; null: the default (10 minutes)",
  ),
  gate_rounds: EditTaskSchema.shape.gate_rounds.describe(
    "failed gates before the task is blocked; null: the default (3)",
  ),
}).refine((p) => Object.values(p).some((v) => v !== undefined), "nothing to change");

/** The store's completion schema itself (strict): the store does not parse it again. */
export const CompleteBody = extendInput(CompleteSchema, {}, {
  usage: "what the task's open run used (tokens, cost_usd, models), for a worker whose CLI " +
    "output kanban cannot read; usage read from the output later replaces it",
});
export const BlockBody = z.strictObject({ reason: reason("reason"), ...BlockFields });
export const ReasonBody = z.strictObject({ reason: reason("reason").optional() });
export const ReviewBody = z.strictObject({
  decision: z.enum(["approve", "reject"]),
  reason: reason("reason").optional(),
  comments: z.array(z.strictObject(reviewCommentFields).refine(...sideNeedsLine))
    .max(REVIEW_COMMENTS_MAX, `more than ${REVIEW_COMMENTS_MAX} comments`).optional()
    .describe(
      "with reject: comments on a changed file, or a line of it, that reach the next worker " +
        "with the diff lines quoted; a file must be one the task's diff changed",
    ),
});

export const MoveBody = z.strictObject({
  status: z.enum(STATUSES).describe("the column the task was dropped on"),
  reason: reason("reason").optional().describe("required when moving to blocked"),
  summary: CompleteSchema.shape.summary,
  metadata: CompleteSchema.shape.metadata,
});

/** The actions a person can apply to several tasks at once (`move` takes a `status`). */
export const BULK_ACTIONS = [...PERSON_ACTIONS, "move"] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

export const BulkBody = z.strictObject({
  ids: z.array(z.string().min(1)).min(1, "ids is empty").max(500, "more than 500 ids"),
  action: z.enum(BULK_ACTIONS),
  status: z.enum(STATUSES).optional().describe("the target column, for action move"),
  reason: reason("reason").optional().describe("required for block"),
  summary: CompleteSchema.shape.summary,
  metadata: CompleteSchema.shape.metadata,
}).superRefine((b, ctx) => {
  if (b.action === "block" && b.reason === undefined) {
    ctx.addIssue({ code: "custom", path: ["reason"], message: "reason is required to block" });
  }
  if (b.action === "move" && b.status === undefined) {
    ctx.addIssue({ code: "custom", path: ["status"], message: "status is required to move" });
  }
});

export const CommentBody = z.strictObject({
  body: z.string().describe("markdown"),
  author: z.string().optional().describe("who writes it (default: the person serving)"),
});

export const LinkBody = z.strictObject({
  parent: z.string().min(1, "parent is empty"),
  child: z.string().min(1, "child is empty"),
});

// Query strings ------------------------------------------------------------------------------

const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const count = (what: string, max: number) =>
  z.string().regex(/^\d+$/, `${what} is not a whole number`).transform(Number)
    .pipe(z.number().int().min(1, `${what} is below 1`).max(max, `${what} is above ${max}`));

const filters = {
  tenant: z.string().optional(),
  assignee: z.string().optional(),
  search: z.string().optional().describe("text in the id, title or body"),
  archived: flag.optional().describe("include archived tasks"),
};

export const BoardQuery = z.strictObject({
  ...filters,
  limit: count("limit", 5000).optional().describe("tasks per column (default 200)"),
  done_limit: count("done_limit", 5000).optional()
    .describe("tasks of the done column, newest finished first (default: limit)"),
  archived_limit: count("archived_limit", 5000).optional()
    .describe("tasks of the archived column, newest first (default: limit)"),
});

/** GET /api/v1/tasks answers at most this many tasks unless `limit` asks for another number. */
export const TASKS_PAGE = 500;
/** The largest `limit` of GET /api/v1/tasks (a page of summaries stays a few MB at most). */
export const TASKS_PAGE_MAX = 5000;

/** A position in an ordered list: how many items to skip. */
const offset = z.string().regex(/^\d{1,9}$/, "offset is not a whole number below 10^9")
  .transform(Number);

export const ListQuery = z.strictObject({
  ...filters,
  status: z.string().optional().describe("comma-separated statuses"),
  limit: count("limit", TASKS_PAGE_MAX).optional()
    .describe(`tasks per page (default ${TASKS_PAGE}, at most ${TASKS_PAGE_MAX})`),
  offset: offset.optional()
    .describe('skip this many tasks first; the Link header\'s rel="next" gives the next page'),
});

/** GET /api/v1/assignees: busiest first, a page at a time (its default and maximum). */
export const ASSIGNEES_PAGE = 500;
export const ASSIGNEES_PAGE_MAX = 5000;

export const AssigneesQuery = z.strictObject({
  limit: count("limit", ASSIGNEES_PAGE_MAX).optional()
    .describe(`assignees per page (default ${ASSIGNEES_PAGE}, at most ${ASSIGNEES_PAGE_MAX})`),
  offset: offset.optional()
    .describe('skip this many assignees first; the Link header\'s rel="next" gives the next'),
});

export const StatsQuery = z.strictObject({ tenant: z.string().optional() });

/** The start of a window as the CLI's `--since` reads it: `24h`, `7d` ago, or an ISO time. */
const since = z.string().superRefine((text, ctx) => {
  try {
    parseSince(text, 0); // whether it reads does not depend on the time now
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

export const UsageQuery = z.strictObject({
  since: since.optional()
    .describe("runs that ended since: a duration ago (24h, 7d) or an ISO time; default: all"),
  tenant: z.string().optional(),
});

export const LinkQuery = LinkBody;

export const LogQuery = z.strictObject({
  bytes: count("bytes", 1024 * 1024).optional().describe("how much of the end (default 64 KiB)"),
});

export const EventsQuery = z.strictObject({
  since: z.string().regex(/^\d+$/, "since is not an event id").transform(Number).optional()
    .describe("start after this event id (Last-Event-ID wins); default: the current head"),
  task: z.string().optional().describe("only this task's events"),
});

// Inbox --------------------------------------------------------------------------------------

export const InboxQuery = z.strictObject({
  tenant: z.string().optional(),
  limit: count("limit", INBOX_MAX).optional()
    .describe(`tasks listed (default ${INBOX_PAGE}, at most ${INBOX_MAX}); the counts are of all`),
});

export const ReplyBody = z.strictObject({
  body: z.string().describe("the answer (markdown), added as your comment; must not be empty"),
});

export const RunRoutineBody = z.strictObject({
  key: z.string().optional()
    .describe("names this run: the same key again returns the tasks it made (default: a new key)"),
});

// Stats series -------------------------------------------------------------------------------

export const SeriesQuery = z.strictObject({
  since: since.optional().describe(
    "start of the window: a duration ago (24h, 7d, 30d) or an ISO time; default 7d; rounded " +
      "down to the start of its bucket",
  ),
  bucket: z.enum(BUCKETS).optional()
    .describe("hour or day (UTC); default: hour for a window of up to 2 days, else day"),
  tenant: z.string().optional(),
});

export const ArtifactQuery = z.strictObject({
  path: z.string().min(1, "path is empty").max(4096, "path is longer than 4096 characters")
    .describe("the artifact's path exactly as the task's metadata lists it"),
});

/** POST /api/v1/tasks/{id}/decompose: the request's options (config.toml gives the rest). */
export const DecomposeBody = z.strictObject({
  profile: z.string().min(1).optional().describe("the orchestrator (default: decompose.profile)"),
  review: z.enum(["person", "orchestrator"]).optional()
    .describe("who reviews once the plan's tasks are done (default: decompose.review)"),
  approval: z.boolean().optional()
    .describe("a person approves the plan before any of its tasks runs"),
});

/** POST /api/v1/tasks/{id}/plan/reject. */
export const RejectPlanBody = z.strictObject({ reason: reason("reason") });

/** A new budget, as the store takes it (the store checks it whole). */
export const BudgetBody = z.strictObject({
  name: z.string(),
  scope: z.enum(BUDGET_SCOPES),
  target: z.string().optional().describe("the profile, tenant or task; none for the board"),
  metric: z.enum(BUDGET_METRICS),
  cap: z.number().describe("the most the window may spend (US dollars for cost_usd)"),
  period: z.enum(BUDGET_PERIODS).describe("run: each run; day, week, month: UTC; hours: rolling"),
  hours: z.number().int().optional().describe("the rolling window's length (period hours)"),
  hard: z.boolean().optional().describe("true (default): hold claims and stop workers"),
});
