/**
 * Migration 008: the board at schema version 11, the meaning of the SQLite driver's migration
 * 011 (lib/store/sqlite/migrations/011_budgets.ts): budgets. Frozen once released: change the
 * schema in a new migration.
 */
export const sql = `
CREATE TABLE budgets (
  name TEXT COLLATE "C" PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  scope TEXT COLLATE "C" NOT NULL CHECK (scope IN ('board', 'profile', 'tenant', 'task')),
  target TEXT COLLATE "C" CHECK ((scope = 'board') = (target IS NULL)),
  metric TEXT COLLATE "C" NOT NULL CHECK (metric IN ('tokens', 'input_tokens', 'output_tokens',
    'cache_read_tokens', 'cache_write_tokens', 'cost_usd', 'runs', 'wall_seconds')),
  cap DOUBLE PRECISION NOT NULL CHECK (cap > 0),
  period TEXT COLLATE "C" NOT NULL CHECK (period IN ('run', 'day', 'week', 'month', 'hours')),
  hours INTEGER CHECK ((period = 'hours') = (hours IS NOT NULL) AND (hours IS NULL OR hours BETWEEN 1 AND 8760)),
  hard INTEGER NOT NULL CHECK (hard IN (0, 1)),
  noted_window BIGINT,
  created_by TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL
);
`;
