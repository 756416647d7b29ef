/** Migration 001: the board. Frozen once released: change the schema in a new migration. */
export const sql = `
CREATE TABLE tasks (
  id TEXT PRIMARY KEY CHECK (id GLOB 't_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
  title TEXT NOT NULL CHECK (length(trim(title)) > 0 AND length(title) <= 500),
  body TEXT NOT NULL DEFAULT '',
  assignee TEXT CHECK (assignee IS NULL OR length(assignee) BETWEEN 1 AND 100),
  status TEXT NOT NULL CHECK (status IN
    ('triage','todo','scheduled','ready','running','review','done','blocked','archived')),
  priority INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  tenant TEXT CHECK (tenant IS NULL OR length(tenant) BETWEEN 1 AND 100),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  workspace_kind TEXT NOT NULL DEFAULT 'scratch' CHECK (workspace_kind IN ('scratch','worktree','dir')),
  workspace_path TEXT,
  skills TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(skills) AND json_type(skills) = 'array'),
  max_runtime_seconds INTEGER CHECK (max_runtime_seconds IS NULL OR max_runtime_seconds > 0),
  not_before INTEGER,
  review_required INTEGER NOT NULL DEFAULT 0 CHECK (review_required IN (0, 1)),
  idempotency_key TEXT CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 200),
  consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  retry_after INTEGER,
  last_error TEXT,
  blocked_reason TEXT,
  current_run_id INTEGER REFERENCES task_runs(id),
  result TEXT,
  archived_from TEXT CHECK (archived_from IS NULL OR archived_from IN
    ('triage','todo','scheduled','ready','running','review','done','blocked')),
  -- the state machine's pairings: a task points at a run exactly while running,
  -- remembers where it was archived from exactly while archived, and so on
  CHECK ((status = 'running') = (current_run_id IS NOT NULL)),
  CHECK ((status = 'archived') = (archived_from IS NOT NULL)),
  CHECK (status <> 'blocked' OR blocked_reason IS NOT NULL),
  CHECK (status <> 'done' OR completed_at IS NOT NULL),
  CHECK (status <> 'scheduled' OR not_before IS NOT NULL),
  CHECK ((workspace_kind = 'dir') <= (workspace_path IS NOT NULL))
) STRICT;

-- Idempotency is the database's job: two racing creates with one key make one task.
CREATE UNIQUE INDEX tasks_idempotency_key ON tasks(idempotency_key)
  WHERE idempotency_key IS NOT NULL AND status <> 'archived';
-- Claims walk these in order (named with INDEXED BY: without ANALYZE statistics the planner
-- would rather sort every ready task on each claim).
CREATE INDEX tasks_claimable ON tasks(priority DESC, created_at, id) WHERE status = 'ready';
CREATE INDEX tasks_claimable_assignee ON tasks(assignee, priority DESC, created_at, id)
  WHERE status = 'ready';
CREATE INDEX tasks_scheduled ON tasks(not_before) WHERE status = 'scheduled';
CREATE INDEX tasks_status ON tasks(status);
CREATE INDEX tasks_assignee ON tasks(assignee, status);
CREATE INDEX tasks_tenant ON tasks(tenant, status);

CREATE TABLE task_links (
  parent_id TEXT NOT NULL REFERENCES tasks(id),
  child_id TEXT NOT NULL REFERENCES tasks(id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (parent_id, child_id),
  CHECK (parent_id <> child_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX task_links_child ON task_links(child_id, parent_id);

CREATE TABLE task_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL REFERENCES tasks(id),
  profile TEXT,
  claimed_by TEXT NOT NULL,
  lease_token TEXT NOT NULL UNIQUE,
  lease_ms INTEGER NOT NULL CHECK (lease_ms > 0),
  lease_expires INTEGER,
  heartbeat_at INTEGER,
  host TEXT,
  pid INTEGER,
  pid_start_time INTEGER,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  exit_code INTEGER,
  signal TEXT,
  outcome TEXT CHECK (outcome IS NULL OR outcome IN ('completed','blocked','completed_by_human',
    'blocked_by_human','cancelled','archived','spawn_failed','crashed','no_report','stalled',
    'timed_out','lost','transient','stopped','failed')),
  summary TEXT,
  metadata TEXT CHECK (metadata IS NULL OR (json_valid(metadata) AND json_type(metadata) = 'object')),
  error TEXT,
  log_path TEXT,
  usage TEXT CHECK (usage IS NULL OR json_valid(usage)),
  -- a run is open (holds a lease) until it ends; every ended run has an outcome
  CHECK ((ended_at IS NULL) = (outcome IS NULL)),
  CHECK ((ended_at IS NULL) = (lease_expires IS NOT NULL))
) STRICT;
-- At most one open run per task, whatever the code above does.
CREATE UNIQUE INDEX task_runs_one_open ON task_runs(task_id) WHERE ended_at IS NULL;
CREATE INDEX task_runs_task ON task_runs(task_id, id);

CREATE TABLE task_comments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL REFERENCES tasks(id),
  run_id INTEGER REFERENCES task_runs(id),
  author TEXT NOT NULL CHECK (length(author) BETWEEN 1 AND 100),
  body TEXT NOT NULL CHECK (length(trim(body)) > 0),
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX task_comments_task ON task_comments(task_id, id);

-- Append-only; the id is the stream cursor.
CREATE TABLE task_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT REFERENCES tasks(id),
  run_id INTEGER REFERENCES task_runs(id),
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX task_events_task ON task_events(task_id, id);
CREATE TRIGGER task_events_append_only BEFORE UPDATE ON task_events
BEGIN
  SELECT RAISE(ABORT, 'task_events is append-only');
END;
`;
