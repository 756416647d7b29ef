/** The board kernel: the only module with SQL. Surfaces import from here. */
export { DEFAULT_OPTIONS, type OpenOptions, openStore, Store } from "./store.ts";
export {
  type DecomposeRequest,
  DESCRIPTION_MAX_CHARS,
  PLAN_EVENTS,
  type PlanInput,
  type PlanResult,
  type PlanReview,
  type PlanState,
  type PlanTaskInput,
  type RosterEntry,
} from "./plans.ts";
export {
  GATE_ACTOR,
  GATE_EVENTS,
  type GateFailedData,
  type GateOutcome,
  type GateResult,
  type GateState,
  type SettledGate,
} from "./gates.ts";
export {
  REVIEW_EVENTS,
  REVIEW_ROUNDS_DEFAULT,
  REVIEW_ROUNDS_MAX,
  type ReviewState,
} from "./reviews.ts";
export { ReviewComment, type ReviewCommentInput } from "./review_comments.ts";
export {
  type Budget,
  BUDGET_METRICS,
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  type BudgetHolds,
  type BudgetInput,
  type BudgetMetric,
  type BudgetPeriod,
  type BudgetScope,
  budgetScope,
  type BudgetStatus,
  budgetWindow,
  unitOf,
  windowText,
} from "./budgets.ts";
export {
  authBlockReason,
  HOLD_BACKOFF,
  HOLD_KINDS,
  holdBackoffMs,
  type HoldInput,
  type HoldKind,
  holdMessage,
  type ProfileHold,
} from "./holds.ts";
export * from "../errors.ts";
export { SOCKET_CODES, TRANSIENT_CODES, transientReason } from "./transient.ts";
export { FEED_POLL_MS, type FollowOptions } from "./feed.ts";
export * from "./types.ts";
export {
  type Action,
  ACTIONS,
  canTransition,
  DERIVED,
  isStatus,
  START,
  type Status,
  STATUSES,
  targetsFrom,
  TRANSITIONS,
} from "./transitions.ts";
export {
  type ActionInput,
  actionsFrom,
  canAct,
  type DropAction,
  dropAction,
  isPersonAction,
  type Landing,
  landing,
  landsOn,
  type MovePlan,
  PERSON_ACTIONS,
  type PersonAction,
  planMove,
  runAction,
} from "./actions.ts";
export { COUNTED_FAILURES, type Outcome, OUTCOMES } from "./outcomes.ts";
export {
  BLOCK_KINDS,
  type BlockCounts,
  type BlockKind,
  type BlockOptions,
  breakerReason,
  isBlockKind,
} from "./blocks.ts";
export {
  BlockFields,
  blockOptions,
  BODY_MAX_BYTES,
  type CompleteInput,
  type CreateTaskInput,
  type EditTaskInput,
  extendInput,
  GATE_ROUNDS_DEFAULT,
  GATE_TIMEOUT_DEFAULT_MS,
  parse,
} from "./input.ts";
/** The zod schemas behind those inputs, for surfaces that validate (and document) early. */
export {
  CompleteInput as CompleteSchema,
  CreateTaskInput as CreateTaskSchema,
  EditTaskInput as EditTaskSchema,
} from "./input.ts";
export {
  attachmentPath,
  ATTACHMENTS_DIR,
  type ContextCaps,
  DEFAULT_CAPS,
  type WorkerContext,
} from "./context.ts";
export type { ListFilter } from "./tasks.ts";
export type { LinkResult } from "./links.ts";
export {
  checkGraph,
  type CreateGraphInput,
  GRAPH_KEY_MAX_CHARS,
  GRAPH_MAX_BYTES,
  GRAPH_MAX_EDGES,
  GRAPH_MAX_NODES,
  type GraphNodeInput,
  type GraphResult,
  type GraphTaskInput,
  REF_MAX_CHARS,
} from "./graph.ts";
export {
  type AddRoutineInput,
  CATCH_UPS,
  type CatchUp,
  DEFAULT_MAX_CATCH_UP,
  type Firing,
  MISSED_AFTER_MS,
  type Routine,
} from "./routines.ts";
export { checkTimeZone, hostTimeZone, localText, nextOccurrence, parseCron } from "./cron.ts";
export type {
  ClaimOptions,
  EndRunInput,
  EndRunResult,
  QueueEntry,
  RetryPolicy,
  SpawnRecord,
} from "./runs.ts";
export type { Dispatcher, LeaseResult, Takeover } from "./dispatchers.ts";
export {
  type HeldInput,
  type HostOffer,
  type Why,
  WHY_CHECKS,
  type WhyCheck,
  type WhyContext,
  type WhyReason,
} from "./why.ts";
export { holderKey } from "./dispatchers.ts";
export type { ShiftResult } from "./clock_step.ts";
export type { AssigneeStats, Stats } from "./stats.ts";
export {
  type Inbox,
  INBOX_KINDS,
  INBOX_MAX,
  INBOX_PAGE,
  type InboxFilter,
  type InboxItem,
  type InboxKind,
  type InboxStatus,
  type Reply,
} from "./inbox.ts";
export { COMMENT_MAX_CHARS } from "./comments.ts";
export {
  type AttachInput,
  type Attachment,
  ATTACHMENT_CAP_LIMIT,
  ATTACHMENT_MAX_BYTES,
  type AttachmentContent,
  type AttachmentLimits,
  attachmentNameProblem,
  ATTACHMENTS_TASK_MAX,
  ATTACHMENTS_TASK_MAX_BYTES,
  checkAttachmentName,
  DEFAULT_ATTACHMENT_LIMITS,
  mediaTypeOf,
  tooLargeError,
} from "./attachments.ts";
export type { UsageFilter, UsageStats, UsageTotals } from "./usage_stats.ts";
export {
  type Bucket,
  BUCKETS,
  MAX_BUCKETS,
  type ProfileBucket,
  type Series,
  type SeriesBucket,
  type SeriesFilter,
  type Waits,
} from "./series.ts";
export { compactCount, dollars, sumRuns } from "./usage_text.ts";
export { argvText } from "./gate_text.ts";
export { PRIORITY_NAMES, priorityFromText, priorityText } from "./priority.ts";
export type { Violation } from "./invariants.ts";
export { SCHEMA_VERSION } from "./sqlite/migrations.ts";
export {
  type ExportHeader,
  type ExportReport,
  FORMAT_VERSION,
  type ImportOptions,
  type ImportReport,
  type TransferCounts,
  type TransferWriter,
} from "./transfer.ts";
export {
  type Batch,
  type DueSubscription,
  KNOWN_EVENT_KINDS,
  type Notification,
  type Subscription,
  type SubscriptionInput,
  type SubscriptionKind,
  type SubscriptionState,
} from "./subscriptions.ts";
export {
  type BackupResult,
  DEFAULT_STALE_AFTER_MS,
  type DoctorOptions,
  type DoctorReport,
  FILE_CHECKS,
  type Finding,
  type GcCandidate,
  type GcCandidates,
  type PruneResult,
} from "./maintenance.ts";
export {
  emptyUsage,
  totalTokens,
  type Usage,
  type UsageInput,
  UsageInput as UsageInputSchema,
  UsageSchema,
  type UsageSource,
} from "./usage.ts";
