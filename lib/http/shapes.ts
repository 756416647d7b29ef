/**
 * Response shapes of the API, as zod schemas: the OpenAPI document is generated from them,
 * and the tests parse real responses with them, so the document cannot drift from the code.
 * They mirror lib/store/types.ts (strict: a new field there fails the tests until added here).
 */
import { z } from "zod";
import { OUTCOMES, STATUSES, UsageSchema } from "../store/mod.ts";

const time = z.string().describe("ISO 8601 date-time");
const status = z.enum(STATUSES);

export const TaskSummary = z.strictObject({
  id: z.string(),
  title: z.string(),
  status,
  assignee: z.string().nullable(),
  priority: z.number().int(),
  tenant: z.string().nullable(),
  created_by: z.string(),
  created_at: time,
  updated_at: time,
  started_at: time.nullable(),
  completed_at: time.nullable(),
  workspace: z.string(),
  skills: z.array(z.string()),
  max_runtime_seconds: z.number().int().nullable(),
  not_before: time.nullable(),
  review_required: z.boolean(),
  idempotency_key: z.string().nullable(),
  consecutive_failures: z.number().int(),
  retry_after: time.nullable(),
  last_error: z.string().nullable(),
  blocked_reason: z.string().nullable(),
  current_run_id: z.number().int().nullable(),
  result: z.string().nullable(),
  archived_from: status.nullable(),
});

export const TaskSummaries = z.array(TaskSummary);

export const Task = z.strictObject({ ...TaskSummary.shape, body: z.string() });

const tokens = z.number().int().nonnegative();

/** Usage: what one run used (lib/store/usage.ts); `cost_usd` only when the agent CLI said. */
export const Usage = z.strictObject({
  input_tokens: tokens.describe("fresh input tokens, not counting cache reads and writes"),
  output_tokens: tokens.describe("output tokens, reasoning included"),
  cache_read_tokens: tokens,
  cache_write_tokens: tokens,
  reasoning_tokens: tokens.optional().describe("of the output tokens, how many were reasoning"),
  models: z.array(z.string()),
  turns: tokens.optional(),
  cost_usd: z.number().nonnegative().optional()
    .describe("US dollars, only when the agent CLI reported a cost (absent: unknown, not 0)"),
  source: UsageSchema.shape.source.describe(
    "output: read from the CLI's output; reported: the worker said so itself",
  ),
});

export const Run = z.strictObject({
  id: z.number().int(),
  task_id: z.string(),
  profile: z.string().nullable(),
  claimed_by: z.string(),
  open: z.boolean(),
  started_at: time,
  ended_at: time.nullable(),
  duration_ms: z.number().nullable(),
  lease_expires: time.nullable(),
  heartbeat_at: time.nullable(),
  host: z.string().nullable(),
  pid: z.number().int().nullable(),
  pid_start_time: z.number().nullable(),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  outcome: z.enum(OUTCOMES).nullable(),
  summary: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  log_path: z.string().nullable(),
  workspace: z.string().nullable(),
  usage: Usage.nullable().describe("null: unknown (the CLI's output had none, nobody reported)"),
});

export const Comment = z.strictObject({
  id: z.number().int(),
  task_id: z.string(),
  run_id: z.number().int().nullable(),
  author: z.string(),
  body: z.string(),
  created_at: time,
});

export const TaskEvent = z.strictObject({
  id: z.number().int().describe("the stream cursor (SSE id)"),
  task_id: z.string().nullable(),
  run_id: z.number().int().nullable(),
  kind: z.string(),
  actor: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: time,
});

const LinkRef = z.strictObject({
  id: z.string(),
  title: z.string(),
  status,
  assignee: z.string().nullable(),
});

export const RunDetail = z.strictObject({
  ...Run.shape,
  created_tasks: z.array(LinkRef).describe("tasks this run's worker created"),
});

export const TaskDetail = z.strictObject({
  task: Task,
  parents: z.array(LinkRef),
  children: z.array(LinkRef),
  comments: z.array(Comment),
  events: z.array(TaskEvent),
  runs: z.array(RunDetail).describe("oldest first (the newest 100)"),
  waiting_on: z.array(z.strictObject({ id: z.string(), status })),
});

export const Board = z.strictObject({
  columns: z.array(z.strictObject({
    status,
    count: z.number().int().describe("tasks in the column (may exceed tasks.length)"),
    tasks: z.array(TaskSummary),
  })),
  total: z.number().int(),
});

export const Created = z.strictObject({
  task: Task,
  created: z.boolean().describe("false: an existing task with this idempotency key"),
});

export const Moved = z.strictObject({
  task: Task,
  action: z.string().nullable().describe("the action the move mapped to (null: no change)"),
  changed: z.boolean(),
});

export const BulkResult = z.strictObject({
  results: z.array(z.union([
    z.strictObject({ id: z.string(), ok: z.literal(true), task: Task }),
    z.strictObject({
      id: z.string(),
      ok: z.literal(false),
      error: z.strictObject({ code: z.string(), message: z.string() }),
    }),
  ])),
  succeeded: z.number().int(),
  failed: z.number().int(),
});

export const LinkResult = z.strictObject({
  parent: z.string(),
  child: z.string(),
  changed: z.boolean(),
  child_status: status,
});

export const Stats = z.strictObject({
  total: z.number().int(),
  by_status: z.record(status, z.number().int()),
  runs: z.strictObject({
    open: z.number().int(),
    total: z.number().int(),
    by_outcome: z.record(z.string(), z.number().int()),
  }),
  oldest_ready_at: time.nullable(),
  completed_last_24h: z.number().int(),
});

/** UsageTotals: what the runs that ended in a window used, summed. */
export const UsageTotals = z.strictObject({
  runs: z.number().int().describe("runs that ended in the window"),
  runs_with_usage: z.number().int().describe("of those, runs whose usage is known"),
  input_tokens: tokens,
  output_tokens: tokens,
  cache_read_tokens: tokens,
  cache_write_tokens: tokens,
  reasoning_tokens: tokens,
  cost_usd: z.number().nonnegative().nullable()
    .describe("sum of the reported costs in US dollars; null when no run reported one"),
  runs_with_cost: z.number().int().describe("runs whose CLI reported a cost"),
});

export const UsageStats = z.strictObject({
  since: time.nullable().describe("start of the window (null: all time)"),
  until: time,
  total: UsageTotals,
  by_profile: z.array(z.strictObject({ profile: z.string().nullable(), ...UsageTotals.shape })),
  by_tenant: z.array(z.strictObject({ tenant: z.string().nullable(), ...UsageTotals.shape })),
});

export const Assignees = z.array(z.strictObject({
  assignee: z.string().nullable(),
  total: z.number().int(),
  by_status: z.partialRecord(status, z.number().int()),
}));

export const Health = z.strictObject({
  board: z.string(),
  dispatchers: z.array(z.looseObject({
    id: z.string(),
    holds_board: z.boolean(),
    last_tick_age_s: z.number().nullable(),
  })),
  workers: z.array(z.looseObject({ run: z.number().int(), task: z.string() })),
  caps: z.looseObject({ max_workers: z.number().int().nullable(), running: z.number().int() }),
  queue: z.looseObject({ ready: z.number().int(), claimable: z.number().int() }),
  warnings: z.array(z.string()),
});

export const LogTail = z.strictObject({
  run: z.number().int(),
  task: z.string(),
  path: z.string(),
  size: z.number().int().describe("bytes in the log (current part plus the rotated .1)"),
  truncated: z.boolean().describe("true when the log holds more than `text`"),
  text: z.string(),
});

export const Nudged = z.strictObject({ event: TaskEvent });

export const LoginLink = z.strictObject({
  path: z.string().describe("/login?t=CODE: opening it once logs a browser in"),
});

export const ErrorResponse = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string() }),
});

export const OpenApi = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});
