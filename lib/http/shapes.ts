/**
 * Response shapes of the API, as zod schemas: the OpenAPI document is generated from them,
 * and the tests parse real responses with them, so the document cannot drift from the code.
 * They mirror lib/store/types.ts (strict: a new field there fails the tests until added here).
 */
import { z } from "zod";
import {
  BLOCK_KINDS,
  BUDGET_METRICS,
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  HOLD_KINDS,
  OUTCOMES,
  STATUSES,
  UsageSchema,
} from "../store/mod.ts";

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
  needs: z.array(z.string()),
  block_kind: z.enum(BLOCK_KINDS).nullable()
    .describe("the kind of the latest block since the task completed"),
  blocked_on: z.string().nullable().describe("the task a dependency block waits on"),
  block_counts: z.partialRecord(z.enum(BLOCK_KINDS), z.number().int())
    .describe("blocks per kind since the task completed (the loop breaker's count)"),
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
  reviewer: z.string().nullable().describe("the profile whose worker reviews the task's work"),
  review_rounds: z.number().int().nullable()
    .describe("rounds of review before a person decides (null: the default, 3)"),
  gate: z.strictObject({
    argv: z.array(z.string()).describe("the command; empty: none, not even the profile's"),
    timeout_ms: z.number().int().nullable().describe("its time limit (null: the default, 10m)"),
    rounds: z.number().int().nullable()
      .describe("failed gates before the task is blocked (null: the default, 3)"),
  }).nullable().describe(
    "the completion gate that must exit 0 before the task is done (docs/gates.md); null: none " +
      "yet (a claim copies its profile's)",
  ),
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
  gate_pending: z.boolean().describe("its worker completed; the report waits for the task's gate"),
});

export const Comment = z.strictObject({
  id: z.number().int(),
  task_id: z.string(),
  run_id: z.number().int().nullable(),
  author: z.string(),
  body: z.string(),
  created_at: time,
});

export const Attachment = z.strictObject({
  id: z.number().int(),
  task_id: z.string(),
  run_id: z.number().int().nullable().describe("the run whose worker attached it"),
  name: z.string().describe("the file name, unique per task"),
  media_type: z.string(),
  size: z.number().int().describe("bytes"),
  sha256: z.string().describe("the content's SHA-256, lower-case hex"),
  created_by: z.string(),
  created_at: time,
});

export const Attachments = z.array(Attachment);

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

const round = {
  round: z.number().int(),
  rounds: z.number().int(),
  reviewer: z.string().nullable(),
  implementer: z.string().nullable(),
};

/** ReviewState: where a task's review loop stands (lib/store/reviews.ts). */
export const ReviewState = z.discriminatedUnion("state", [
  z.strictObject({
    state: z.literal("reviewing"),
    ...round,
    by: z.enum(["reviewer", "person"]).describe("who gives the verdict"),
    run: z.number().int().nullable().describe("the run that handed the work in"),
    at: time.describe("when it was handed in"),
  }),
  z.strictObject({
    state: z.literal("changes"),
    ...round,
    reason: z.string().nullable().describe("why the last round sent it back"),
  }),
]);

export const TaskDetail = z.strictObject({
  task: Task,
  parents: z.array(LinkRef),
  children: z.array(LinkRef),
  comments: z.array(Comment),
  events: z.array(TaskEvent),
  runs: z.array(RunDetail).describe("oldest first (the newest 100)"),
  waiting_on: z.array(z.strictObject({ id: z.string(), status })),
  review: ReviewState.optional().describe("where the task's review stands, when one is under way"),
  gate_result: z.strictObject({
    state: z.enum(["pending", "passed", "failed"]),
    round: z.number().int(),
    rounds: z.number().int(),
    exit_code: z.number().int().nullable(),
    duration_ms: z.number().int().nullable(),
    run: z.number().int().nullable(),
    at: time,
  }).optional().describe("the task's last completion gate: waiting to run, passed or failed"),
});

/** WaitsFor: the unfinished parents of a waiting task, as its card on the board shows them. */
export const WaitsFor = z.strictObject({
  count: z.number().int().describe("unfinished parents in all (may exceed parents.length)"),
  parents: z.array(z.strictObject({ id: z.string(), title: z.string(), status }))
    .describe("the first 5, oldest first"),
});

/** BoardTask: a task on the board, with what its card says beyond the task itself. */
export const BoardTask = z.strictObject({
  ...TaskSummary.shape,
  waits_for: WaitsFor.optional()
    .describe("todo tasks: the parents they wait for (a parent archived unfinished counts)"),
  handoff: z.string().optional().describe(
    "review and done tasks: the first line of the handoff (the result, else the summary of " +
      "the latest completion)",
  ),
});

export const Board = z.strictObject({
  columns: z.array(z.strictObject({
    status,
    count: z.number().int().describe("tasks in the column (may exceed tasks.length)"),
    tasks: z.array(BoardTask),
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

/** A budget (lib/store/budgets.ts). */
export const Budget = z.strictObject({
  name: z.string(),
  scope: z.enum(BUDGET_SCOPES),
  target: z.string().nullable().describe("the profile, tenant or task (null: the board)"),
  metric: z.enum(BUDGET_METRICS),
  cap: z.number(),
  period: z.enum(BUDGET_PERIODS),
  hours: z.number().int().nullable().describe("the rolling window's length (period hours)"),
  hard: z.boolean().describe("hard: claims are held and workers stopped; soft: a warning"),
  created_by: z.string(),
  created_at: time,
});

/** A budget with what its window has spent. */
export const BudgetStatus = z.strictObject({
  ...Budget.shape,
  window_start: time.nullable().describe("null: each run is its own window"),
  resets_at: time.nullable().describe("when the count starts again (null: rolling or per run)"),
  spent: z.number(),
  in_flight: z.number().int().describe("runs in flight in the scope"),
  state: z.enum(["ok", "over"]),
});

export const BudgetStatuses = z.array(BudgetStatus);

/** A budget's spend over its window, for a plot (null: a per-run or task budget). */
export const BudgetSeries = z.strictObject({
  budget: z.string(),
  cap: z.number(),
  metric: z.enum(BUDGET_METRICS),
  from: time.describe("the window's start"),
  to: time.describe("the window's end (its reset), or now for a rolling window"),
  at: z.array(time).describe("the end of each point's span"),
  spent: z.array(z.number().nullable())
    .describe("what the window's ended runs had spent by each point (null: not reached yet)"),
}).nullable();

/** What removing a budget answers. */
export const RemovedBudget = z.strictObject({ removed: z.string().describe("its name") });

/** A profile's hold for its account's limits (lib/store/holds.ts). */
export const ProfileHold = z.strictObject({
  profile: z.string(),
  kind: z.enum(HOLD_KINDS).describe("rate_limit, quota, or auth (a failed sign-in)"),
  until: time.nullable().describe("when the hold ends (null: until a person releases it)"),
  active: z.boolean().describe("it holds now (false: ended, kept to count holds in a row)"),
  reason: z.string().describe("what the CLI printed that showed it"),
  task: z.string().nullable().describe("the task whose run met it"),
  run: z.number().int().nullable(),
  holds: z.number().int().describe("holds in a row (the backoff doubles with each)"),
  host: z.string(),
  since: time,
});

export const ProfileHolds = z.array(ProfileHold);

/** What releasing a profile's hold answers. */
export const ReleasedHold = z.strictObject({
  hold: ProfileHold,
  unblocked: z.array(z.string()).describe("tasks a failed sign-in had blocked, now queued"),
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
    host: z.string(),
    holds_board: z.boolean(),
    leader: z.boolean(),
    workers: z.number().int().nullable(),
    labels: z.array(z.string()),
    last_tick_age_s: z.number().nullable(),
  })),
  workers: z.array(z.looseObject({ run: z.number().int(), task: z.string() })),
  caps: z.looseObject({ max_workers: z.number().int().nullable(), running: z.number().int() }),
  queue: z.looseObject({ ready: z.number().int(), claimable: z.number().int() }),
  routines: z.array(z.looseObject({
    name: z.string(),
    paused: z.boolean(),
    next_at: time.nullable().describe("the next occurrence; null when paused"),
  })),
  budgets: BudgetStatuses.describe("every budget with its window's spend"),
  holds: ProfileHolds.describe("the profiles held now for their account's limits"),
  warnings: z.array(z.string()),
});

/** Why a task is not running (lib/store/why.ts). */
export const Why = z.strictObject({
  task: z.string(),
  title: z.string(),
  status: z.enum(STATUSES),
  assignee: z.string().nullable(),
  waiting: z.boolean().describe("todo, scheduled, ready, triage, blocked or review"),
  reasons: z.array(z.strictObject({
    code: z.string().describe(
      "triage, blocked, review, parents, not_before, backoff, no_assignee, no_dispatcher, " +
        "no_profile, labels, profile_cap, host_full, draining, pressure, budget, quota",
    ),
    message: z.string(),
    detail: z.looseObject({}),
  })).describe("in the order the task meets them; empty when nothing holds it"),
  summary: z.string().describe("one line: the first reason, or what the task is doing"),
  hosts: z.array(z.looseObject({ dispatcher: z.string(), host: z.string() }))
    .describe("the live dispatchers and what they published with their last pass"),
  last_held: z.strictObject({ at: time, data: z.looseObject({}) }).nullable()
    .describe("the last held event a dispatcher recorded for the task"),
});

/** A routine (lib/store/routines.ts). */
export const Routine = z.strictObject({
  id: z.string(),
  name: z.string(),
  cron: z.string(),
  tz: z.string().describe("the IANA time zone its cron is read in"),
  template: z.string().nullable().describe("the template it was rendered from; null: one task"),
  nodes: z.array(z.looseObject({ ref: z.string(), task: z.looseObject({}) }))
    .describe("what each occurrence creates (a graph's nodes)"),
  catch_up: z.enum(["skip", "once", "all"]),
  max_catch_up: z.number().int(),
  paused: z.boolean(),
  next_at: time.nullable(),
  last_at: time.nullable(),
  fired: z.number().int(),
  created_by: z.string(),
  created_at: time,
  updated_at: time,
});

export const Routines = z.array(Routine);

/** One occurrence of a routine fired. */
export const Firing = z.strictObject({
  routine: z.string(),
  occurrence: time,
  key: z.string().describe("the graph key its tasks were made under"),
  created: z.boolean().describe("false when the key had made them already"),
  tasks: z.array(z.strictObject({ ref: z.string(), id: z.string() })),
  catch_up: z.boolean(),
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

// Inbox --------------------------------------------------------------------------------------

const inboxKind = z.enum(["question", "review", "triage"]);

/** InboxItem: a task waiting on a person (lib/store/inbox.ts). */
export const InboxItem = z.strictObject({
  id: z.string(),
  title: z.string(),
  status: z.enum(["blocked", "review", "triage"]),
  kind: inboxKind.describe("question: blocked; review: in review; triage: in triage"),
  assignee: z.string().nullable(),
  tenant: z.string().nullable(),
  priority: z.number().int(),
  waiting_since: time.describe("when the task entered its status"),
  question: z.string().nullable().describe("a blocked task's question (blocked_reason)"),
  summary: z.string().nullable().describe("a task in review: the completion's summary"),
  result: z.string().nullable().describe("a task in review: the completion's result"),
  last_comment: Comment.nullable(),
  updated_at: time,
});

export const Inbox = z.strictObject({
  total: z.number().int().describe("tasks waiting on a person, also those past `limit`"),
  by_kind: z.record(inboxKind, z.number().int()),
  items: z.array(InboxItem).describe("oldest wait first"),
});

export const Reply = z.strictObject({
  task: Task.describe("the task after the unblock"),
  comment: Comment.describe("the reply, as a comment"),
});

// Stats series -------------------------------------------------------------------------------

/** Waits in ready (lib/store/series.ts): the median (nearest rank) and the longest. */
const Waits = z.strictObject({
  count: z.number().int().describe("how many waits the figures cover"),
  p50_s: z.number().nonnegative().nullable().describe("median wait in seconds (null: none)"),
  max_s: z.number().nonnegative().nullable().describe("longest wait in seconds (null: none)"),
});

/** SeriesProfile: one profile's runs that ended in a bucket, their outcomes and usage. */
export const SeriesProfile = z.strictObject({
  profile: z.string().nullable(),
  ...UsageTotals.shape,
  runs: z.number().int().describe("runs of this profile that ended in the bucket"),
  outcomes: z.partialRecord(z.enum(OUTCOMES), z.number().int())
    .describe("those runs by outcome (only outcomes that occurred)"),
});

export const Series = z.strictObject({
  since: time.describe("start of the first bucket"),
  until: time.describe("now: inside the last bucket"),
  bucket: z.enum(["hour", "day"]),
  profiles: z.array(z.string().nullable())
    .describe("every profile with a run that ended in the window, most runs first"),
  buckets: z.array(z.strictObject({
    start: time.describe("the bucket's start (UTC)"),
    finished: z.number().int().describe("tasks that entered done in the bucket"),
    queue_age: Waits.describe("how long the runs that started in the bucket waited in ready"),
    profiles: z.array(SeriesProfile).describe("runs that ended in the bucket, per profile"),
  })).describe("every bucket of the window, oldest first; empty ones as zeros"),
  ready_now: Waits.describe("how long the tasks ready now have waited so far"),
});

// Review -------------------------------------------------------------------------------------

/** DiffFile: one changed file of a worktree task (lib/review/diff.ts). */
export const DiffFile = z.strictObject({
  path: z.string().describe("the path in the worktree (a deleted file: where it was)"),
  old_path: z.string().nullable().describe("a renamed file's path in the base"),
  status: z.enum(["added", "modified", "deleted", "renamed"]),
  additions: z.number().int(),
  deletions: z.number().int(),
  binary: z.boolean(),
  patch: z.string().describe("the file's unified diff (git's `diff --git` header and hunks)"),
  truncated: z.boolean().describe("the patch was cut (or left out) by the size caps"),
});

/** TaskDiff: a worktree task's changes against its base, or why there are none to show. */
export const TaskDiff = z.strictObject({
  task: z.string(),
  available: z.boolean().describe("false: no diff to show, and `reason` says why"),
  reason: z.string().nullable(),
  workspace: z.string().nullable().describe("the worktree read (or looked for)"),
  branch: z.string().nullable().describe("the worktree's branch, kanban/<task id>"),
  head: z.string().nullable().describe("the commit the worktree has checked out"),
  base: z.string().nullable().describe("merge base of the repository's HEAD and the worktree's"),
  base_ref: z.string().nullable().describe("the branch the repository has checked out"),
  files: z.array(DiffFile).describe("at most 1000; `files_total` counts all"),
  files_total: z.number().int(),
  additions: z.number().int(),
  deletions: z.number().int(),
  truncated: z.boolean().describe("a patch or files were left out (1 MiB in all, 256 KiB a file)"),
});

export const Artifact = z.strictObject({
  path: z.string().describe("as the worker listed it"),
  note: z.string().nullable().describe("a description, title or name listed with it"),
  run: z.number().int().nullable().describe("the run whose metadata listed it"),
  resolved: z.string().describe("the absolute path (relative ones from the run's workspace)"),
  exists: z.boolean(),
  kind: z.enum(["file", "directory", "other"]).nullable(),
  size: z.number().int().nullable().describe("bytes, for a file"),
  inside_workspace: z.boolean().describe("its content can be read (symlinks resolved)"),
});

export const TaskArtifacts = z.strictObject({
  task: z.string(),
  workspace: z.string(),
  artifacts: z.array(Artifact).describe("newest run first; at most 200"),
  truncated: z.boolean(),
});

export const ArtifactContent = z.strictObject({
  task: z.string(),
  path: z.string(),
  resolved: z.string(),
  size: z.number().int(),
  binary: z.boolean().describe("not UTF-8 text: `text` is null"),
  truncated: z.boolean().describe("the file holds more than `text` (256 KiB)"),
  text: z.string().nullable(),
});

/** Where a task's decomposition stands (lib/store/plans.ts PlanState). */
export const PlanState = z.object({
  state: z.enum(["none", "requested", "approval", "planned"]),
  request: z.object({
    profile: z.string(),
    roster: z.array(z.object({ name: z.string(), description: z.string() })),
    review: z.enum(["person", "orchestrator"]),
    approval: z.boolean(),
  }).optional(),
  event: z.number().int().optional(),
  key: z.string().optional(),
  tasks: z.array(z.string()).optional(),
  sinks: z.array(z.string()).optional(),
  summary: z.string().nullable().optional(),
});
