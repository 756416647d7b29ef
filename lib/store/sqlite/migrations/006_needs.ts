/**
 * Migration 006: what a task needs of the host that runs it. `needs` is a JSON array of labels
 * (macos, gpu, ...); a dispatcher claims a task only when its host offers every one of them
 * (its dispatch.labels). Existing tasks need nothing, and run anywhere as before.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN needs TEXT NOT NULL DEFAULT '[]'
  CHECK (json_valid(needs) AND json_type(needs) = 'array');
`;
