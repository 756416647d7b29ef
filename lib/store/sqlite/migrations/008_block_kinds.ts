/**
 * Migration 008: typed blocks (lib/store/blocks.ts). `block_kind` is the kind of the task's
 * latest block (needs_input, dependency, transient, capability), `blocked_on` the task a
 * dependency block waits on, and `block_counts` a JSON object counting the task's blocks per
 * kind since it last completed (the loop breaker's count). Existing tasks were never blocked
 * by kind: null, null and `{}`.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN block_kind TEXT
  CHECK (block_kind IN ('needs_input', 'dependency', 'transient', 'capability'));
ALTER TABLE tasks ADD COLUMN blocked_on TEXT;
ALTER TABLE tasks ADD COLUMN block_counts TEXT NOT NULL DEFAULT '{}'
  CHECK (json_valid(block_counts) AND json_type(block_counts) = 'object');
`;
