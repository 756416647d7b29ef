/**
 * Migration 010: the board at schema version 13, the meaning of the SQLite driver's migration
 * 013 (lib/store/sqlite/migrations/013_gates.ts): a task's completion gate (`gate`, an argv as
 * JSON text; `gate_timeout_ms`; `gate_rounds`) and a run's `gate_handoff`, the worker's report
 * held while its gate runs. Frozen once released: change the schema in a new migration.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN gate TEXT COLLATE "C"
  CHECK (gate IS NULL OR json_typeof(gate::json) = 'array');
ALTER TABLE tasks ADD COLUMN gate_timeout_ms BIGINT
  CHECK (gate_timeout_ms IS NULL OR gate_timeout_ms > 0);
ALTER TABLE tasks ADD COLUMN gate_rounds INTEGER CHECK (gate_rounds BETWEEN 1 AND 20);
ALTER TABLE task_runs ADD COLUMN gate_handoff TEXT COLLATE "C"
  CHECK (gate_handoff IS NULL OR json_typeof(gate_handoff::json) = 'object');
`;
