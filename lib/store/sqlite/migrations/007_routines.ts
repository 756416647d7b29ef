/**
 * Migration 007: routines, recurring work (lib/store/routines.ts). A routine makes a graph of
 * tasks (`spec`, JSON: what createGraph takes, but its key) at each occurrence of its cron
 * expression in its time zone. `next_at` is the occurrence it fires next: a firing claims its
 * occurrences by moving `next_at` past them in the transaction that creates their tasks, so
 * an occurrence fires once however many dispatchers see it due. Existing boards have none.
 */
export const sql = `
CREATE TABLE routines (
  id TEXT PRIMARY KEY CHECK (id GLOB 'r_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  cron TEXT NOT NULL CHECK (length(trim(cron)) > 0),
  tz TEXT NOT NULL CHECK (length(tz) > 0),
  spec TEXT NOT NULL CHECK (json_valid(spec) AND json_type(spec) = 'object'),
  template TEXT,
  catch_up TEXT NOT NULL DEFAULT 'skip' CHECK (catch_up IN ('skip', 'once', 'all')),
  max_catch_up INTEGER NOT NULL DEFAULT 10 CHECK (max_catch_up BETWEEN 1 AND 1000),
  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  next_at INTEGER,
  last_at INTEGER,
  fired INTEGER NOT NULL DEFAULT 0 CHECK (fired >= 0),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX routines_due ON routines(next_at) WHERE paused = 0 AND next_at IS NOT NULL;
`;
