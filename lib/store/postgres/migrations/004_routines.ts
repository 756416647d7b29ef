/**
 * Migration 004: the board at schema version 7, the meaning of the SQLite driver's migration
 * 007 (lib/store/sqlite/migrations/007_routines.ts): routines, recurring work. Frozen once
 * released: change the schema in a new migration.
 */
export const sql = `
CREATE TABLE routines (
  id TEXT COLLATE "C" PRIMARY KEY CHECK (id ~ '^r_[0-9a-f]{8}$'),
  name TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  cron TEXT COLLATE "C" NOT NULL CHECK (length(trim(cron)) > 0),
  tz TEXT COLLATE "C" NOT NULL CHECK (length(tz) > 0),
  spec TEXT COLLATE "C" NOT NULL CHECK (json_typeof(spec::json) = 'object'),
  template TEXT COLLATE "C",
  catch_up TEXT COLLATE "C" NOT NULL DEFAULT 'skip' CHECK (catch_up IN ('skip', 'once', 'all')),
  max_catch_up INTEGER NOT NULL DEFAULT 10 CHECK (max_catch_up BETWEEN 1 AND 1000),
  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  next_at BIGINT,
  last_at BIGINT,
  fired BIGINT NOT NULL DEFAULT 0 CHECK (fired >= 0),
  created_by TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX routines_due ON routines(next_at) WHERE paused = 0 AND next_at IS NOT NULL;
`;
