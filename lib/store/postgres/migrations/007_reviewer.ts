/**
 * Migration 007: the board at schema version 10, the meaning of the SQLite driver's migration
 * 010 (lib/store/sqlite/migrations/010_reviewer.ts): the review loop's `reviewer`, the profile
 * whose worker reviews what the task's worker hands in, and `review_rounds`, its rounds before a
 * person decides (null: the default). Frozen once released: change the schema in a new
 * migration.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN reviewer TEXT COLLATE "C";
ALTER TABLE tasks ADD COLUMN review_rounds INTEGER CHECK (review_rounds BETWEEN 1 AND 20);
`;
