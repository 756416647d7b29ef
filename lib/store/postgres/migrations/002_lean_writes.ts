/**
 * Migration 002: the board at schema version 5, the meaning of the SQLite driver's migration
 * 005 (lib/store/sqlite/migrations/005_lean_writes.ts), plus what importing a board needs.
 * Frozen once released: change the schema in a new migration.
 *
 * - Fewer index entries rewritten by each claim and each completion, as in SQLite's 005. Every
 *   index whose key holds `status` gets an entry moved on every move of a task (a move is
 *   never a heap-only update, since indexed columns change: every index gets a new entry):
 *   - `tasks_claimable` (ready tasks by priority, age and id) said again what the `ready` part
 *     of `tasks_board` (status, priority DESC, created_at, id) already holds, in the same
 *     order: a claim for any assignee walks `tasks_board` from `status = 'ready'` in its ORDER
 *     BY, and SKIP LOCKED works the same on it. `tasks_claimable_assignee` stays (SQLite's too).
 *   - `tasks_assignee` and `tasks_tenant` carried the status after the assignee or tenant; a
 *     list by assignee or tenant reads that one's tasks and filters them by status.
 * - `tasks.current_run_id`'s foreign key becomes DEFERRABLE (INITIALLY IMMEDIATE: every write
 *   of the domain code is still checked at its statement). An import inserts a running task
 *   before the run it names (runs name their task) and defers the check to its commit with
 *   SET CONSTRAINTS (lib/store/postgres/transfer.ts), as SQLite's PRAGMA defer_foreign_keys.
 */
export const sql = `
DROP INDEX tasks_claimable;
DROP INDEX tasks_assignee;
DROP INDEX tasks_tenant;
CREATE INDEX tasks_assignee ON tasks(assignee);
CREATE INDEX tasks_tenant ON tasks(tenant);
ALTER TABLE tasks ALTER CONSTRAINT tasks_current_run_id_fkey DEFERRABLE INITIALLY IMMEDIATE;
`;
