/**
 * Migration 005: the board at schema version 8, the meaning of the SQLite driver's migration 008
 * (lib/store/sqlite/migrations/008_block_kinds.ts): typed blocks. `block_kind` is the kind of
 * the task's latest block, `blocked_on` the task a dependency block waits on, `block_counts`
 * JSON text of an object counting blocks per kind since the task last completed.
 * Frozen once released: change the schema in a new migration.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN block_kind TEXT COLLATE "C"
  CHECK (block_kind IN ('needs_input', 'dependency', 'transient', 'capability'));
ALTER TABLE tasks ADD COLUMN blocked_on TEXT COLLATE "C";
ALTER TABLE tasks ADD COLUMN block_counts TEXT COLLATE "C" NOT NULL DEFAULT '{}'
  CHECK (json_typeof(block_counts::json) = 'object');
`;
