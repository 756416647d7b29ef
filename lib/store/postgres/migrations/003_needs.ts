/**
 * Migration 003: the board at schema version 6, the meaning of the SQLite driver's migration
 * 006 (lib/store/sqlite/migrations/006_needs.ts): `needs`, the labels a host must offer to run
 * a task, as JSON text of an array (as SQLite keeps it, so rows read back byte for byte).
 * Frozen once released: change the schema in a new migration.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN needs TEXT COLLATE "C" NOT NULL DEFAULT '[]'
  CHECK (json_typeof(needs::json) = 'array');
`;
