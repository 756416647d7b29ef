/**
 * Migration 002: what the dispatcher needs. One row per dispatcher process (at most one
 * active: it holds the board's dispatch lease), notification subscriptions with their cursor,
 * and the workspace a run worked in.
 */
export const sql = `
CREATE TABLE dispatchers (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  last_tick INTEGER NOT NULL,
  active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
  lease_expires INTEGER,
  stopped_at INTEGER,
  report TEXT CHECK (report IS NULL OR json_valid(report)),
  CHECK (active = 0 OR lease_expires IS NOT NULL)
) STRICT;
-- One active dispatcher per board, whatever the code does.
CREATE UNIQUE INDEX dispatchers_one_active ON dispatchers(active) WHERE active = 1;

CREATE TABLE subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('webhook', 'command')),
  target TEXT NOT NULL CHECK (length(target) > 0),
  secret TEXT,
  task_id TEXT REFERENCES tasks(id),
  tenant TEXT,
  assignee TEXT,
  kinds TEXT CHECK (kinds IS NULL OR (json_valid(kinds) AND json_type(kinds) = 'array')),
  cursor INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
  next_attempt_at INTEGER,
  last_error TEXT,
  delivered INTEGER NOT NULL DEFAULT 0,
  disabled_at INTEGER,
  ended_at INTEGER,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

ALTER TABLE task_runs ADD COLUMN workspace TEXT;
`;
