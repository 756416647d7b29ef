/**
 * Helpers shared by the store tests: make tasks, claim them, read the board behind the
 * store's back (a second connection), and collect event kinds.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { Actor, Claim, CreateTaskInput, Store, Task } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";

/** add creates a task as the test's person and returns it. */
export async function add(
  store: Store,
  title: string,
  input: Omit<CreateTaskInput, "title"> = {},
): Promise<Task> {
  return (await store.createTask({ title, ...input }, HUMAN)).task;
}

/** claimId claims exactly task `id` for the dispatcher; the test fails if nothing is claimed. */
export async function claimId(store: Store, id: string, profile = "coder"): Promise<Claim> {
  const c = await store.claim({ taskId: id, profile }, DISPATCHER);
  assert.ok(c, `claim of ${id} returned null`);
  return c;
}

/** worker is the actor of the process that holds claim `c`. */
export function worker(c: Claim, name = "coder-1"): Actor {
  return { name, token: c.token };
}

/** eventKinds lists the kinds of a task's events, oldest first. */
export async function eventKinds(store: Store, id: string): Promise<string[]> {
  return (await store.showTask(id)).events.map((e) => e.kind);
}

export const TABLES = ["tasks", "task_links", "task_runs", "task_comments", "task_events"];

/**
 * snapshot reads every row of every board table through a second, read-only connection, so
 * that a test sees what is committed on disk rather than what the store reports.
 */
export function snapshot(path: string): Record<string, Record<string, unknown>[]> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Object.fromEntries(
      TABLES.map((t) => [
        t,
        db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all().map((r) => ({ ...r })),
      ]),
    );
  } finally {
    db.close();
  }
}

/**
 * rawDb opens a second, writable connection without foreign key enforcement: tests use it to
 * corrupt a board on purpose and check that the invariant checks notice.
 */
export function rawDb(path: string): DatabaseSync & Disposable {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: false });
  return Object.assign(db, { [Symbol.dispose]: () => db.close() });
}
