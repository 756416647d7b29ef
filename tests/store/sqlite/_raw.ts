/**
 * The SQLite driver's raw access to a board file, for its own tests (and for tests of other
 * folders that check a board file the CLI wrote): read every row behind the store's back, or
 * write rows the store would refuse. The conformance suite (tests/store/*_test.ts) must not
 * use these; tests/store/conformance_meta_test.ts checks that it does not.
 */
import { DatabaseSync } from "node:sqlite";

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
