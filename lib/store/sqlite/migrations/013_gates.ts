/**
 * Migration 013: completion gates (lib/store/gates.ts, docs/gates.md). A task's `gate` is the
 * command (a JSON array of strings: an argv) that must exit 0 before the task is done, with its
 * time limit in ms (`gate_timeout_ms`) and how many failed gates send the task back before it
 * is blocked (`gate_rounds`); null: no gate, or the default. A person sets them, or the first
 * claim copies the claiming profile's. A run's `gate_handoff` is the worker's report held while
 * its gate runs (JSON: the route and the handoff), delivered when the gate passes.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN gate TEXT
  CHECK (gate IS NULL OR (json_valid(gate) AND json_type(gate) = 'array'));
ALTER TABLE tasks ADD COLUMN gate_timeout_ms INTEGER
  CHECK (gate_timeout_ms IS NULL OR gate_timeout_ms > 0);
ALTER TABLE tasks ADD COLUMN gate_rounds INTEGER CHECK (gate_rounds BETWEEN 1 AND 20);
ALTER TABLE task_runs ADD COLUMN gate_handoff TEXT
  CHECK (gate_handoff IS NULL OR (json_valid(gate_handoff) AND json_type(gate_handoff) = 'object'));
`;
