/**
 * Migration 009: attachments. A task's files (specs, screenshots, logs) live in the board, in
 * `task_attachments`, so that every host that reads the board reads them too. One name per
 * task; the content is kept whole with its size and SHA-256 (lower-case hex). A worker that
 * attaches a file records its run. Attachments go with their task (ON DELETE CASCADE).
 */
export const sql = `
CREATE TABLE task_attachments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  run_id INTEGER REFERENCES task_runs(id),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  media_type TEXT NOT NULL CHECK (length(media_type) BETWEEN 1 AND 255),
  size INTEGER NOT NULL CHECK (size >= 0),
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  content BLOB NOT NULL CHECK (length(content) = size),
  created_by TEXT NOT NULL CHECK (length(created_by) BETWEEN 1 AND 100),
  created_at INTEGER NOT NULL,
  UNIQUE (task_id, name)
) STRICT;
`;
