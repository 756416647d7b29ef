/**
 * Notifications (subscriptions), confinement audits, invariants and maintenance. Times are
 * epoch ms. The file checks and the backup read the board's storage itself: call them through
 * `Driver.exclusive`, outside any transaction.
 */
import type { EventRow, TaskRow } from "../_rows.ts";

export type SubscriptionKind = "webhook" | "command";

/** A subscription as stored (lib/store/subscriptions.ts shapes it for people). */
export interface SubscriptionRow {
  id: number;
  kind: SubscriptionKind;
  target: string;
  secret: string | null;
  task_id: string | null;
  tenant: string | null;
  assignee: string | null;
  /** The event kinds delivered, a JSON array of strings; null means every kind. */
  kinds: string | null;
  cursor: number;
  failures: number;
  next_attempt_at: number | null;
  last_error: string | null;
  delivered: number;
  disabled_at: number | null;
  ended_at: number | null;
  created_by: string;
  created_at: number;
}

/** A new subscription: what addSubscription decides; the driver stores it as given. */
export type NewSubscription = Pick<
  SubscriptionRow,
  | "kind"
  | "target"
  | "secret"
  | "task_id"
  | "tenant"
  | "assignee"
  | "kinds"
  | "cursor"
  | "created_by"
  | "created_at"
>;

/** Which events a subscription receives: its filters and its place in the event stream. */
export interface SubscriptionFilter {
  /** Events after this id (the subscription's cursor)... */
  after: number;
  /** ...and at or before this one (the head of the stream when the batch is read). */
  through: number;
  task_id: string | null;
  /** The task's tenant and assignee as they are now. */
  tenant: string | null;
  assignee: string | null;
  /** Event kinds; null means every kind. */
  kinds: readonly string[] | null;
}

/** A failed delivery attempt. */
export interface SubscriptionFailure {
  /** The error, as it is to be kept. */
  error: string;
  /** When to try again; null when disabling. */
  next_attempt_at: number | null;
  /** Disable the subscription (it keeps the time it was first disabled). */
  disable: boolean;
  at: number;
}

/**
 * The board's invariants, each checked by the driver over the whole board (their meaning, in
 * words, is in lib/store/invariants.ts). Every check must be linear in the board, or n log n
 * through an index.
 */
export type Invariant =
  | "task_run_not_open_own"
  | "open_run_not_current"
  | "lease_not_running"
  | "running_without_run"
  | "ended_run_without_outcome"
  | "todo_parents_done"
  | "ready_parent_unfinished"
  | "unknown_status"
  | "event_missing_task"
  | "event_wrong_run"
  | "done_without_completion";

/** A row that points at a missing row of another table, as the storage reports it. */
export interface ForeignKeyBreach {
  table: string;
  rowid: number | null;
  parent: string;
  fkid: number;
}

/** One thing the storage's own check of itself found (the file is damaged). */
export interface FileFinding {
  /** The check that found it, e.g. `integrity_check`. */
  check: string;
  message: string;
}

/** A task gc may clean up: done, or archived, at or before a cutoff. */
export interface FinishedTaskRow
  extends Pick<TaskRow, "id" | "archived_from" | "workspace_kind" | "workspace_path"> {
  status: "done" | "archived";
  /** completed_at of a done task, updated_at of an archived one. */
  finished_at: number;
}

export interface AdminQueries {
  // Subscriptions -----------------------------------------------------------------------------
  subscriptionInsert(row: NewSubscription): Promise<SubscriptionRow>;
  subscriptionGet(id: number): Promise<SubscriptionRow | undefined>;
  /** Every subscription, oldest first. */
  subscriptionsAll(): Promise<SubscriptionRow[]>;
  /** Deletes a subscription; false when there was none. */
  subscriptionDelete(id: number): Promise<boolean>;
  /** Clears a subscription's disabling, failures, retry time and error. */
  subscriptionEnable(id: number): Promise<void>;
  /**
   * The subscriptions neither disabled nor ended whose retry time is at or before `now` (or
   * unset) and whose cursor is behind the newest event, oldest first.
   */
  subscriptionsDue(now: number): Promise<SubscriptionRow[]>;
  /** Up to `limit` events a subscription's filter matches, oldest first. */
  subscriptionEvents(filter: SubscriptionFilter, limit: number): Promise<EventRow[]>;
  /**
   * Moves the cursor forward to `through` (never back), adds `count` to the delivered total
   * and clears failures, retry time and error; false when there is no such subscription.
   */
  subscriptionDelivered(id: number, through: number, count: number): Promise<boolean>;
  /** Counts a failed attempt; false when there is no such subscription. */
  subscriptionFailed(id: number, failure: SubscriptionFailure): Promise<boolean>;
  /** Marks a subscription ended at `at`. */
  subscriptionEnd(id: number, at: number): Promise<void>;
  /** Whether a task has events after id `after`. */
  taskHasEventsAfter(taskId: string, after: number): Promise<boolean>;

  // Confinement audits ------------------------------------------------------------------------
  /**
   * A count that grows with every row this connection writes: the same before and after a
   * transaction means it wrote nothing.
   */
  writesSoFar(): Promise<number>;

  // Invariants --------------------------------------------------------------------------------
  /** Up to `limit` ids (of tasks, runs or events) that break `invariant`. */
  invariantBreaches(invariant: Invariant, limit: number): Promise<(string | number)[]>;
  /** Every link, as [parent, child]. */
  linksAll(): Promise<[string, string][]>;
  /** Rows that point at missing rows (empty where the storage enforces its keys itself). */
  foreignKeyBreaches(): Promise<ForeignKeyBreach[]>;
  /** Every problem the storage's full check of itself reports; empty when healthy. */
  integrityProblems(): Promise<string[]>;

  // Maintenance -------------------------------------------------------------------------------
  /**
   * fileChecks checks the storage itself, and reports damage as findings (at most `limit`)
   * rather than throwing: a damaged file is what it is asked to find. Throws only errors that
   * are not damage. Call it outside any transaction.
   */
  fileChecks(limit: number): Promise<FileFinding[]>;
  /**
   * backupTo writes a consistent, compact, self-contained copy of the board to the new file
   * `path` while writers carry on. A damaged board throws CorruptBoardError. Call it outside
   * any transaction.
   */
  backupTo(path: string): Promise<void>;
  /** The tasks finished (done, or archived) at or before `cutoff`, oldest first, then by id. */
  tasksFinishedBefore(cutoff: number): Promise<FinishedTaskRow[]>;
  /**
   * How many events pruning would delete, and of how many tasks: the events of tasks finished
   * at or before `cutoff`, except each task's `created` event and its latest `completed` event
   * (the worker context reads a parent's handoff from it), and except events after the cursor
   * of a subscription that has not ended (a disabled one resumes from it when re-enabled).
   */
  prunableEvents(cutoff: number): Promise<{ events: number; tasks: number }>;
  /** Deletes up to `limit` of the events prunableEvents counts; returns how many. */
  eventsPrune(cutoff: number, limit: number): Promise<number>;
  /** Open runs whose lease expired before `before`, oldest expiry first, at most `limit`. */
  runsStale(
    before: number,
    limit: number,
  ): Promise<{ id: number; task_id: string; lease_expires: number }[]>;
}
