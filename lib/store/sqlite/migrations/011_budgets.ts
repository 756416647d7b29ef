/**
 * Migration 011: budgets (lib/store/budgets.ts). A budget caps one metric (tokens of a kind,
 * cost, runs, worker time) of the runs in its scope (the board, a profile, a tenant, a task)
 * over a window (each run, the UTC day, week or month, or a rolling number of hours), hard
 * (claims and workers are stopped) or soft (a warning). `noted_window` is the start of the
 * window whose crossing was last recorded (an event, once per window however many dispatchers
 * see it). Existing boards have none.
 */
export const sql = `
CREATE TABLE budgets (
  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  scope TEXT NOT NULL CHECK (scope IN ('board', 'profile', 'tenant', 'task')),
  target TEXT CHECK ((scope = 'board') = (target IS NULL)),
  metric TEXT NOT NULL CHECK (metric IN ('tokens', 'input_tokens', 'output_tokens',
    'cache_read_tokens', 'cache_write_tokens', 'cost_usd', 'runs', 'wall_seconds')),
  cap REAL NOT NULL CHECK (cap > 0),
  period TEXT NOT NULL CHECK (period IN ('run', 'day', 'week', 'month', 'hours')),
  hours INTEGER CHECK ((period = 'hours') = (hours IS NOT NULL) AND (hours IS NULL OR hours BETWEEN 1 AND 8760)),
  hard INTEGER NOT NULL CHECK (hard IN (0, 1)),
  noted_window INTEGER,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;
