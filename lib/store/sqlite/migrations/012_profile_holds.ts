/**
 * Migration 012: profile holds (lib/store/holds.ts). A profile whose CLI hit a rate limit or an
 * exhausted quota is held until `until_at` (the reset time the CLI reported, or a backoff); one
 * whose CLI failed to sign in is held until a person releases it (`until_at` null). `holds`
 * counts the holds in a row (the backoff doubles with it); a run of the profile that completes
 * after a hold ended clears the row. Existing boards have none.
 */
export const sql = `
CREATE TABLE profile_holds (
  profile TEXT PRIMARY KEY CHECK (length(profile) BETWEEN 1 AND 64),
  kind TEXT NOT NULL CHECK (kind IN ('rate_limit', 'quota', 'auth')),
  until_at INTEGER CHECK ((kind = 'auth') = (until_at IS NULL)),
  reason TEXT NOT NULL,
  task_id TEXT,
  run_id INTEGER,
  holds INTEGER NOT NULL CHECK (holds >= 1),
  host TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;
