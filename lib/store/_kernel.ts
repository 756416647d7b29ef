/**
 * The kernel context shared by the store's operations: the driver's named queries (of the
 * transaction the operation runs in), the clock, and the primitives every operation uses
 * (load, resolve an id prefix, move through the transition table, append an event).
 * Module-private to lib/store; callers run inside a driver transaction.
 */
import type { Queries } from "./driver.ts";
import type { NewEvent, TaskSet } from "./driver/core.ts";
import type { EventRow, TaskRow } from "./_rows.ts";
import type { Actor, Clock } from "./types.ts";
import { type Action, assertTransition, type Status } from "./transitions.ts";
import { AmbiguousIdError, ConflictError, NotFoundError, ValidationError } from "./errors.ts";

export interface StoreOptions {
  /** Lease length of a new run unless the claim says otherwise (ms). */
  leaseMs: number;
  /** Consecutive counted failures after which a task is blocked. */
  failureLimit: number;
  /** Backoff before retry number `n` (1-based), in ms. */
  backoffMs: (failures: number) => number;
  /** Blocks of one kind (transient aside) after which a block sends the task to triage. */
  blockLimit: number;
  /** Transient blocks after which a transient block sends the task to triage. */
  transientLimit: number;
}

export interface Kernel {
  q: Queries;
  now: Clock;
  options: StoreOptions;
  /**
   * The transaction runs with TxOptions.lockedReads (a claim, a worker's complete or block):
   * what it decides on it reads locked (and, on PostgreSQL, each statement sees what has
   * committed by then), so it reads the parents it derives a child from plainly, once the
   * child is locked (readiness.ts). Otherwise it is serialisable.
   */
  locked: boolean;
  /**
   * The events this transaction has appended and not yet written: appendEvent adds to it,
   * flushEvents writes them all at once, which the store does as the transaction's last
   * statement (store.ts), so the event lock (lib/store/postgres/core.ts) is the last lock a
   * transaction takes and it never waits for another lock while holding it.
   */
  events: NewEvent[];
}

/** Past-tense event kind for each action. */
export const EVENT_KIND: Record<Action, string> = {
  create: "created",
  promote: "promoted",
  derive: "derived",
  claim: "claimed",
  complete: "completed",
  approve: "approved",
  reject: "rejected",
  block: "blocked",
  unblock: "unblocked",
  fail: "failed",
  cancel: "cancelled",
  archive: "archived",
  unarchive: "unarchived",
  reopen: "reopened",
  decompose: "decomposition_requested",
  plan: "planned",
  request_review: "review_requested",
  approve_review: "review_approved",
  request_changes: "changes_requested",
  fail_gate: "gate_failed",
};

/**
 * appendEvent adds an event to the transaction's log (written by flushEvents as the
 * transaction ends, in the order appended, with its time as of now).
 */
export function appendEvent(
  k: Kernel,
  taskId: string | null,
  runId: number | null,
  kind: string,
  actor: Actor,
  data: Record<string, unknown> = {},
): void {
  k.events.push({
    task_id: taskId,
    run_id: runId,
    kind,
    actor: actor.name,
    data: JSON.stringify(data),
    at: k.now(),
  });
}

/** flushEvents writes the events appended so far, in order, and returns them as stored. */
export async function flushEvents(k: Kernel): Promise<EventRow[]> {
  if (k.events.length === 0) return [];
  return await k.q.eventsAppend(k.events.splice(0));
}

export function findTask(k: Kernel, id: string): Promise<TaskRow | undefined> {
  return k.q.taskGet(id);
}

/** loadTask returns the task with exactly this id or throws NotFoundError. */
export async function loadTask(k: Kernel, id: string): Promise<TaskRow> {
  const row = await k.q.taskGet(id);
  if (!row) throw new NotFoundError(`No task "${id}"`);
  return row;
}

/** lockedTask is loadTask that locks the row until the transaction ends (taskLocked). */
export async function lockedTask(k: Kernel, id: string): Promise<TaskRow> {
  const row = await k.q.taskLocked(id);
  if (!row) throw new NotFoundError(`No task "${id}"`);
  return row;
}

const PREFIX = /^(?:t_)?([0-9a-f]{1,8})$/;

/**
 * resolveId turns any unique prefix (`t_3fa`, `3fa`, or a whole id) into a task id.
 * Throws NotFoundError when nothing matches and AmbiguousIdError when several do.
 */
export async function resolveId(k: Kernel, input: string): Promise<string> {
  return (await resolveTask(k, input)).id;
}

/**
 * resolveTask is resolveId and loadTask at once: a whole id is one lookup by key (the common
 * case: every worker write names its task in full), a prefix one range scan, then one lookup.
 * With `lock` the task is read with `taskLocked` (held until the transaction ends).
 */
export async function resolveTask(k: Kernel, input: string, lock = false): Promise<TaskRow> {
  const get = (id: string) => lock ? k.q.taskLocked(id) : k.q.taskGet(id);
  const load = async (id: string) => {
    const row = await get(id);
    if (!row) throw new NotFoundError(`No task "${id}"`);
    return row;
  };
  const text = input.trim().toLowerCase();
  const match = PREFIX.exec(text);
  if (!match) {
    if (text === "t_") {
      const all = await k.q.taskIdsWithPrefix("t_", 6);
      if (all.length === 1) return load(all[0]!);
      if (all.length > 1) {
        throw new AmbiguousIdError(input, all, await k.q.taskCountWithPrefix("t_"));
      }
    }
    throw new ValidationError(
      `"${input}" is not a task id (expected t_ followed by up to 8 hex digits)`,
    );
  }
  const prefix = `t_${match[1]}`;
  if (prefix.length === 10) {
    const row = await get(prefix);
    if (row) return row;
    throw new NotFoundError(`No task matches "${input}"`);
  }
  const ids = await k.q.taskIdsWithPrefix(prefix, 6);
  if (ids.length === 1) return load(ids[0]!);
  if (ids.length === 0) throw new NotFoundError(`No task matches "${input}"`);
  throw new AmbiguousIdError(input, ids, await k.q.taskCountWithPrefix(prefix));
}

/**
 * move changes a task's status through the transition table (compare-and-set on the status
 * it was read with), sets `extra` columns, appends the event, and returns the task as moved.
 * Column names come from code, never from input.
 */
export async function move(
  k: Kernel,
  task: TaskRow,
  to: Status,
  via: Action,
  actor: Actor,
  extra: TaskSet = {},
  data: Record<string, unknown> = {},
  runId: number | null = null,
): Promise<TaskRow> {
  assertTransition(task.id, task.status, to, via);
  const moved = await k.q.taskUpdate(
    task.id,
    { ...extra, status: to, updated_at: k.now() },
    task.status,
  );
  if (moved === undefined) {
    // The caller read the task in this write transaction, which is serialisable or holds the
    // task's lock (TxOptions.lockedReads): nothing else can have moved it; a caller bug.
    throw new Error(`Task "${task.id}" changed under a write transaction`);
  }
  appendEvent(k, task.id, runId ?? task.current_run_id, EVENT_KIND[via], actor, {
    from: task.status,
    to,
    ...data,
  });
  return moved;
}

/**
 * refuseWorker refuses a worker (an actor with a run's token) what only a person, or a
 * dispatcher, may do: `does` says what it cannot and who does (`set budgets; a person does`).
 */
export function refuseWorker(actor: Actor, does: string): void {
  if (actor.token !== undefined) throw new ConflictError("not_allowed", `A worker cannot ${does}`);
}
