/**
 * Migration 009: the board at schema version 12, the meaning of the SQLite driver's migration
 * 012 (lib/store/sqlite/migrations/012_profile_holds.ts): profile holds. Frozen once released:
 * change the schema in a new migration.
 */
export const sql = `
CREATE TABLE profile_holds (
  profile TEXT COLLATE "C" PRIMARY KEY CHECK (length(profile) BETWEEN 1 AND 64),
  kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('rate_limit', 'quota', 'auth')),
  until_at BIGINT CHECK ((kind = 'auth') = (until_at IS NULL)),
  reason TEXT NOT NULL,
  task_id TEXT COLLATE "C",
  run_id BIGINT,
  holds INTEGER NOT NULL CHECK (holds >= 1),
  host TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL
);
`;
