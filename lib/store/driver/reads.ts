/**
 * Read models: what the board's views, context, inbox, statistics and series read. Each is one
 * named query returning rows; shaping them for people stays in the domain files. Times are
 * epoch ms; `tenant: null` means the whole board.
 */
import type { RunRow } from "../_rows.ts";
import type { Status } from "../transitions.ts";
import type { TaskRef } from "./core.ts";

/** A status and how many tasks (or runs) are in it. */
export interface StatusCount<S = Status> {
  status: S;
  n: number;
}

/** The statuses in which a task waits on a person (lib/store/inbox.ts). */
export type InboxStatus = "blocked" | "review" | "triage";

/** One waiting task of the inbox, with what it waits on and its newest comment (`c_*`). */
export interface InboxRow {
  id: string;
  title: string;
  status: InboxStatus;
  assignee: string | null;
  tenant: string | null;
  priority: number;
  blocked_reason: string | null;
  result: string | null;
  updated_at: number;
  /** When the task entered its status (its entering event), else its last change. */
  since: number;
  /** In review: the `summary` its entering (completed) event recorded, as recorded. */
  summary: unknown;
  c_id: number | null;
  c_run_id: number | null;
  c_author: string | null;
  c_body: string | null;
  c_created_at: number | null;
}

/** The sums of the usage of a group of runs; cost only over the runs that reported one. */
export interface UsageSumsRow {
  runs: number;
  with_usage: number;
  input: number | null;
  output: number | null;
  cache_read: number | null;
  cache_write: number | null;
  reasoning: number | null;
  cost: number | null;
  with_cost: number;
  /** The runs' time from start to end, summed (ms). */
  wall: number | null;
}

/** The runs of one profile and tenant, with the sums of their usage. */
export interface UsageGroupRow extends UsageSumsRow {
  profile: string | null;
  tenant: string | null;
}

/** Which ended runs a usage sum covers. */
export interface UsageWindow {
  /** Runs that ended at or after this (undefined: all time) and at or before `until`. */
  since?: number | undefined;
  until: number;
  tenant: string | null;
}

/**
 * A series' buckets: bucket `b` holds the times from `origin + b * size` on; the window ends at
 * `now`. Rows name their bucket by its number `b`.
 */
export interface BucketWindow {
  origin: number;
  size: number;
  now: number;
  tenant: string | null;
}

/** The runs of one profile that ended with one outcome in bucket `b`, with their usage. */
export interface BucketRunsRow extends UsageSumsRow {
  b: number;
  profile: string | null;
  outcome: string;
}

export interface ReadQueries {
  // Worker context ----------------------------------------------------------------------------
  /** The ended runs of a task, newest first (all of them: the context counts what it omits). */
  runsEndedOf(taskId: string): Promise<RunRow[]>;
  /** A task's parents in the order they completed (unfinished ones, with none, first), then by id. */
  parentsByCompletion(child: string): Promise<{ id: string; title: string; status: Status }[]>;
  /** The data of a task's newest handoff event (completed, review_requested), JSON text. */
  completionData(taskId: string): Promise<string | undefined>;
  /** The `data` of each task's `created` event (JSON text), for the tasks of `ids` that have one. */
  creationData(ids: readonly string[]): Promise<{ id: string; data: string }[]>;
  /** How many comments a task has. */
  commentCount(taskId: string): Promise<number>;

  // Inbox -------------------------------------------------------------------------------------
  /**
   * inboxPage: the first `limit` tasks waiting on a person (blocked, review, triage), of the
   * board or of one tenant, longest wait first: by the time each entered its status (the
   * newest event that moved it there, else its last change), ties in event order, then id.
   */
  inboxPage(tenant: string | null, limit: number): Promise<InboxRow[]>;
  /** How many tasks wait in each inbox status (statuses with none are left out). */
  inboxCounts(tenant: string | null): Promise<StatusCount<InboxStatus>[]>;

  // Origins -----------------------------------------------------------------------------------
  /** Whether task `taskId`'s `created` event names run `runId` as its origin. */
  taskCreatedByRun(taskId: string, runId: number): Promise<boolean>;
  /** The first and last event ids a run recorded on its task; nulls when it recorded none. */
  runEventSpan(
    taskId: string,
    runId: number,
  ): Promise<{ lo: number | null; hi: number | null }>;
  /**
   * The tasks whose `created` event names run `runId` as its origin, looking only at events
   * with ids in (`after`, `upTo`], in the order they were created.
   */
  tasksCreatedByRun(runId: number, after: number, upTo: number): Promise<TaskRef[]>;

  // Statistics --------------------------------------------------------------------------------
  /** How many tasks are in each status (statuses with none are left out). */
  taskCountsByStatus(tenant: string | null): Promise<StatusCount[]>;
  /** How many runs ended with each outcome; outcome null counts the open runs. */
  runCountsByOutcome(tenant: string | null): Promise<{ outcome: string | null; n: number }[]>;
  /** The oldest last change of a ready task, null when none is ready. */
  oldestReadyAt(tenant: string | null): Promise<number | null>;
  /** How many tasks completed at or after `since`. */
  completedCountSince(since: number, tenant: string | null): Promise<number>;
  /** How many tasks each assignee has in each status (pairs with none are left out). */
  taskCountsByAssignee(): Promise<{ assignee: string | null; status: Status; n: number }[]>;

  // Usage and series --------------------------------------------------------------------------
  /** The usage of the runs that ended in the window, grouped by profile and tenant. */
  usageByProfileAndTenant(w: UsageWindow): Promise<UsageGroupRow[]>;
  /**
   * How many tasks completed in each bucket of the window (tasks now done or archived), by
   * bucket number; buckets with none are left out.
   */
  finishedPerBucket(w: BucketWindow): Promise<{ b: number; n: number }[]>;
  /** The runs that ended in the window, grouped by bucket, profile and outcome. */
  endedRunsPerBucket(w: BucketWindow): Promise<BucketRunsRow[]>;
  /**
   * The runs that started in the window (ended since it began, or still open): when each
   * started, and when its task last entered ready before the run claimed it (null when those
   * events were pruned).
   */
  runStartsInWindow(w: BucketWindow): Promise<{ started: number; ready: number | null }[]>;
  /**
   * For each task ready now, when it last entered ready (its newest event that moved it
   * there, else its last change).
   */
  readySince(tenant: string | null): Promise<number[]>;
}
