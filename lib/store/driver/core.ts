/**
 * The core operations: tasks, links, runs, comments, events and the dispatch lease. Rows are
 * in the shapes of lib/store/_rows.ts. Every write that has a precondition says it in its name
 * or arguments (`ifStatus`, `ifOpen`) and reports whether it applied; domain code decides what
 * a refusal means.
 */
import type { CommentRow, EventRow, RunRow, TaskRow } from "../_rows.ts";
import type { Status } from "../transitions.ts";
import type { ListFilter } from "../tasks.ts";

/**
 * KeyTakenError: a write would give a second task a value that must be unique (the idempotency
 * key among tasks that are not archived). Drivers throw it; domain code says what it means.
 */
export class KeyTakenError extends Error {
  constructor(readonly column: string) {
    super(`A unique value of ${column} is taken`);
  }
}

/** The columns a task update may set (names from code, never from input). */
export type TaskSet = Partial<Omit<TaskRow, "id" | "created_at" | "created_by">>;

/** The columns a run update may set. */
export type RunSet = Partial<Omit<RunRow, "id" | "task_id" | "lease_token" | "started_at">>;

/** A new task row: what createTask decides; the driver stores it as given. */
export type NewTask = Omit<
  TaskRow,
  | "started_at"
  | "completed_at"
  | "consecutive_failures"
  | "retry_after"
  | "last_error"
  | "blocked_reason"
  | "current_run_id"
  | "result"
  | "archived_from"
  | "block_kind"
  | "blocked_on"
  | "block_counts"
>;

/** A new run row (claim). */
export type NewRun = Pick<
  RunRow,
  | "task_id"
  | "profile"
  | "claimed_by"
  | "lease_token"
  | "lease_ms"
  | "lease_expires"
  | "host"
  | "pid"
  | "started_at"
>;

export type NewEvent = Omit<EventRow, "id">;

/** Which ready tasks a claim may take: the dispatcher's profiles, a tenant, ... */
export interface ClaimFilter {
  /** Ready tasks whose `retry_after` is at or before this time (ms). */
  now: number;
  assignee?: string | undefined;
  assignees?: readonly string[] | undefined;
  tenant?: string | undefined;
  /**
   * The labels the claiming host offers: only tasks whose `needs` are all among them (a task
   * needing nothing runs anywhere). Undefined: any task, whatever it needs (a person's claim).
   */
  labels?: readonly string[] | undefined;
  /** Tenants whose tasks are held back (a budget): tasks without a tenant are not. */
  notTenants?: readonly string[] | undefined;
  /** Tasks held back (a budget). */
  notTasks?: readonly string[] | undefined;
}

export interface ReadyGroup {
  assignee: string | null;
  ready: number;
  claimable: number;
  oldest: number | null;
}

export interface DispatcherRow {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  last_tick: number;
  active: number;
  lease_expires: number | null;
  stopped_at: number | null;
  report: string | null;
}

export interface TaskRef {
  id: string;
  title: string;
  status: Status;
  assignee: string | null;
}

export interface CoreQueries {
  // Tasks -------------------------------------------------------------------------------------
  taskGet(id: string): Promise<TaskRow | undefined>;
  /**
   * taskLocked is taskGet that also locks the row against every other writer until the
   * transaction ends (waiting for one that holds it), so what is read stays true while the
   * transaction decides on it (TxOptions.lockedReads). SQLite: taskGet (its writer holds the
   * whole database already).
   */
  taskLocked(id: string): Promise<TaskRow | undefined>;
  /** Up to `limit` ids starting with `prefix` (a whole id, or `t_` and some hex), in order. */
  taskIdsWithPrefix(prefix: string, limit: number): Promise<string[]>;
  taskCountWithPrefix(prefix: string): Promise<number>;
  /**
   * taskInsert stores a new task; `duplicate_id` or `duplicate_key` when the id or the
   * idempotency key (unique among tasks that are not archived) is taken.
   */
  taskInsert(row: NewTask): Promise<"inserted" | "duplicate_id" | "duplicate_key">;
  /** The task (not archived) holding an idempotency key. */
  taskWithKey(key: string): Promise<TaskRow | undefined>;
  /**
   * The tasks (not archived) whose idempotency key k has `from <= k < to`, compared as bytes
   * (UTF-8), in key order, at most `limit`: the tasks of one key prefix, by the unique index
   * (createGraph reads a graph's tasks, keyed `<key>/<ref>`, as the range `<key>/` to `<key>0`).
   */
  tasksWithKeyBetween(from: string, to: string, limit: number): Promise<TaskRow[]>;
  /**
   * taskUpdate sets columns of a task, only if it is still in `ifStatus` when one is given;
   * returns the row as updated, or undefined when nothing matched.
   */
  taskUpdate(id: string, set: TaskSet, ifStatus?: Status): Promise<TaskRow | undefined>;
  /**
   * taskList: tasks without their bodies (`body` is ""), in the queue's order: running,
   * review, blocked, ready, scheduled, todo, triage, done, archived, then priority (highest
   * first), age and id; one status alone by priority, age and id; with `recent`, newest
   * completion (else last change) first. Archived tasks only when asked for by status or
   * `archived`. `search` matches id, title or body, ASCII case-insensitive, as plain text.
   */
  taskList(filter: ListFilter): Promise<TaskRow[]>;
  /**
   * The best ready task a claim may take: highest priority, then oldest, then id. It is locked
   * until the transaction ends; a ready task another transaction holds is passed over, never
   * waited for (PostgreSQL: FOR NO KEY UPDATE SKIP LOCKED).
   */
  taskClaimable(filter: ClaimFilter): Promise<TaskRow | undefined>;
  /** The first `limit` tasks a claim for `assignees` would take, best first. */
  tasksClaimable(assignees: readonly string[], now: number, limit: number): Promise<TaskRow[]>;
  /** Ready tasks grouped by assignee, in assignee order. */
  readyGroups(now: number): Promise<ReadyGroup[]>;
  /**
   * Ids of scheduled tasks whose `not_before` is at or before `now`, earliest first, each locked
   * until the transaction ends; one that another transaction holds is left out (the next pass
   * promotes it), never waited for.
   */
  scheduledDue(now: number): Promise<string[]>;

  // Links -------------------------------------------------------------------------------------
  /** Whether `ancestor` is reachable from `taskId` by following parents. */
  isAncestor(ancestor: string, taskId: string): Promise<boolean>;
  /** Inserts a link; false when it already existed. */
  linkInsert(parent: string, child: string, at: number): Promise<boolean>;
  /** Deletes a link; false when there was none. */
  linkDelete(parent: string, child: string): Promise<boolean>;
  /** The ids of a task's children, in id order. */
  childIds(parent: string): Promise<string[]>;
  /**
   * The parents that keep a task waiting (not done, not archived after done), by id. With
   * `guard` (only in a serialisable write transaction) every parent row read is share-locked,
   * without waiting: a parent that another transaction is writing fails the transaction as a
   * serialization failure does, to be run again (PostgreSQL: FOR SHARE NOWAIT, 55P03). A
   * writer at READ COMMITTED (a worker's complete) is invisible to the serialisable checks;
   * this lock is how a child derived from its parents here never misses that writer's move
   * (lib/store/readiness.ts). SQLite ignores it.
   */
  unfinishedParents(child: string, guard?: boolean): Promise<{ id: string; status: Status }[]>;
  /** For each task of `ids`, its unfinished parents, oldest parent first. */
  unfinishedParentsOf(
    ids: readonly string[],
  ): Promise<{ child: string; id: string; title: string; status: Status }[]>;
  /**
   * For each task of `ids`, the text of its handoff: its `result` when not blank, else the
   * summary of its latest `completed` event, else the latest summary a run recorded; null when
   * none.
   */
  handoffTexts(ids: readonly string[]): Promise<{ id: string; text: string | null }[]>;
  /** A task's parents and children, oldest first. */
  parentsOf(child: string): Promise<TaskRef[]>;
  childrenOf(parent: string): Promise<TaskRef[]>;

  // Runs --------------------------------------------------------------------------------------
  runInsert(row: NewRun): Promise<RunRow>;
  runGet(id: number): Promise<RunRow | undefined>;
  runWithToken(token: string): Promise<RunRow | undefined>;
  /**
   * runWithTokenLocked is runWithToken that also locks the run against every other writer
   * until the transaction ends, as taskLocked does a task. SQLite: runWithToken.
   */
  runWithTokenLocked(token: string): Promise<RunRow | undefined>;
  /** Sets columns of a run, only while it is open when `ifOpen`; the row, or undefined. */
  runUpdate(id: number, set: RunSet, ifOpen: boolean): Promise<RunRow | undefined>;
  /** Extends an open run's lease to `now + lease_ms`; false once it has ended. */
  runRenew(id: number, now: number): Promise<boolean>;
  /** Runs newest first: of one task, or of the board. */
  runsNewest(taskId: string | null, limit: number): Promise<RunRow[]>;
  /** Every open run, oldest first. */
  runsOpen(): Promise<RunRow[]>;
  /**
   * capLock takes, until the transaction ends, one lock per profile of `profiles`: two claims
   * counting one profile's open runs against its cap take turns, each counting after the
   * other's run has committed (TxOptions.lockedReads). Taken in one order whatever the order
   * given, so two claims locking several profiles never wait for each other in a circle; call
   * it before anything that appends an event (the event lock is taken after it). SQLite: a
   * no-op (its writer holds the whole database already).
   */
  capLock(profiles: readonly string[]): Promise<void>;

  // Comments and events -----------------------------------------------------------------------
  commentInsert(row: Omit<CommentRow, "id">): Promise<CommentRow>;
  /** A task's newest `limit` comments, oldest first. */
  commentsOf(taskId: string, limit: number): Promise<CommentRow[]>;
  eventAppend(row: NewEvent): Promise<EventRow>;
  /**
   * Appends events in the order given, their ids in that order, and returns them as stored
   * (in that order). On a server, ids commit in id order across transactions: the append takes
   * the board's event lock, held until the transaction ends (lib/store/feed.ts relies on it).
   */
  eventsAppend(rows: readonly NewEvent[]): Promise<EventRow[]>;
  /** A task's newest `limit` events, oldest first. */
  eventsOf(taskId: string, limit: number): Promise<EventRow[]>;
  /** A task's newest `limit` events of these kinds, newest first. */
  lastEventsOf(taskId: string, kinds: readonly string[], limit: number): Promise<EventRow[]>;
  /** The board's events after id `after`, oldest first. */
  eventsAfter(after: number, limit: number): Promise<EventRow[]>;
  /** The newest event id, 0 when none. */
  eventHead(): Promise<number>;

  // Time --------------------------------------------------------------------------------------
  /**
   * Adds `stepMs` to every pending deadline later than `before` (task retries, open runs'
   * leases, notification attempts) and counts what moved.
   */
  shiftDeadlines(
    stepMs: number,
    before: number,
  ): Promise<{ retries: number; leases: number; notifications: number }>;

  // Dispatchers -------------------------------------------------------------------------------
  /** Deletes inactive dispatcher rows that last ticked before `before`, except `keep`. */
  dispatchersPrune(before: number, keep: string): Promise<void>;
  /** Records a dispatcher's tick (inserting its row the first time). */
  dispatcherSeen(me: { id: string; host: string; pid: number }, now: number): Promise<void>;
  dispatcherActive(): Promise<DispatcherRow | undefined>;
  dispatcherUpdate(
    id: string,
    set: Partial<Omit<DispatcherRow, "id" | "host" | "pid" | "started_at">>,
  ): Promise<void>;
  /** Dispatchers that ticked at or after `since`, and the active one; active first. */
  dispatchersSince(since: number): Promise<DispatcherRow[]>;
}
