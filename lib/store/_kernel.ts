/**
 * The kernel context shared by the store's operations: the connection, the clock, and the
 * primitives every operation uses (load, resolve an id prefix, move through the transition
 * table, append an event). Module-private to lib/store; callers run inside `db.tx()`.
 */
import type { Db, Param } from "./_db.ts";
import type { TaskRow } from "./_rows.ts";
import type { Actor, Clock } from "./types.ts";
import { type Action, assertTransition, type Status } from "./transitions.ts";
import { AmbiguousIdError, NotFoundError, ValidationError } from "./errors.ts";

export interface StoreOptions {
  /** Lease length of a new run unless the claim says otherwise (ms). */
  leaseMs: number;
  /** Consecutive counted failures after which a task is blocked. */
  failureLimit: number;
  /** Backoff before retry number `n` (1-based), in ms. */
  backoffMs: (failures: number) => number;
}

export interface Kernel {
  db: Db;
  now: Clock;
  options: StoreOptions;
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
};

export function appendEvent(
  k: Kernel,
  taskId: string | null,
  runId: number | null,
  kind: string,
  actor: Actor,
  data: Record<string, unknown> = {},
): void {
  k.db.run(
    "INSERT INTO task_events (task_id, run_id, kind, actor, data, at) VALUES (?, ?, ?, ?, ?, ?)",
    taskId,
    runId,
    kind,
    actor.name,
    JSON.stringify(data),
    k.now(),
  );
}

export function findTask(k: Kernel, id: string): TaskRow | undefined {
  return k.db.get<TaskRow>("SELECT * FROM tasks WHERE id = ?", id);
}

/** loadTask returns the task with exactly this id or throws NotFoundError. */
export function loadTask(k: Kernel, id: string): TaskRow {
  const row = findTask(k, id);
  if (!row) throw new NotFoundError(`No task "${id}"`);
  return row;
}

const PREFIX = /^(?:t_)?([0-9a-f]{1,8})$/;

/**
 * resolveId turns any unique prefix (`t_3fa`, `3fa`, or a whole id) into a task id.
 * Throws NotFoundError when nothing matches and AmbiguousIdError when several do.
 */
export function resolveId(k: Kernel, input: string): string {
  const text = input.trim().toLowerCase();
  const match = PREFIX.exec(text);
  if (!match) {
    if (text === "t_") {
      const all = k.db.all<{ id: string }>("SELECT id FROM tasks ORDER BY id LIMIT 6");
      if (all.length === 1) return all[0]!.id;
      if (all.length > 1) {
        const n = k.db.get<{ n: number }>("SELECT count(*) AS n FROM tasks")!.n;
        throw new AmbiguousIdError(input, all.map((r) => r.id), n);
      }
    }
    throw new ValidationError(
      `"${input}" is not a task id (expected t_ followed by up to 8 hex digits)`,
    );
  }
  const prefix = `t_${match[1]}`;
  const rows = k.db.all<{ id: string }>(
    "SELECT id FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
    prefix,
    `${prefix}\x7f`,
  );
  if (rows.length === 1) return rows[0]!.id;
  if (rows.length === 0) throw new NotFoundError(`No task matches "${input}"`);
  const count = k.db.get<{ n: number }>(
    "SELECT count(*) AS n FROM tasks WHERE id >= ? AND id < ?",
    prefix,
    `${prefix}\x7f`,
  )!.n;
  const ids = rows.map((r) => r.id);
  throw new AmbiguousIdError(input, ids, count);
}

/**
 * move changes a task's status through the transition table (compare-and-set on the status
 * it was read with), sets `extra` columns, and appends the event. Column names come from
 * code, never from input.
 */
export function move(
  k: Kernel,
  task: TaskRow,
  to: Status,
  via: Action,
  actor: Actor,
  extra: Record<string, Param> = {},
  data: Record<string, unknown> = {},
  runId: number | null = null,
): TaskRow {
  assertTransition(task.id, task.status, to, via);
  const cols = Object.keys(extra);
  const sets = ["status = ?", "updated_at = ?", ...cols.map((c) => `${c} = ?`)].join(", ");
  const now = k.now();
  const r = k.db.run(
    `UPDATE tasks SET ${sets} WHERE id = ? AND status = ?`,
    to,
    now,
    ...cols.map((c) => extra[c]!),
    task.id,
    task.status,
  );
  if (r.changes !== 1) {
    // Inside BEGIN IMMEDIATE nothing else can write; this means a caller bug.
    throw new Error(`Task "${task.id}" changed under a write transaction`);
  }
  appendEvent(k, task.id, runId ?? task.current_run_id, EVENT_KIND[via], actor, {
    from: task.status,
    to,
    ...data,
  });
  return loadTask(k, task.id);
}
