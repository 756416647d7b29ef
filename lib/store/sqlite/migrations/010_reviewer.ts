/**
 * Migration 010: the review loop (lib/store/reviews.ts). `reviewer` is the profile whose worker
 * reviews what the task's worker hands in (set when the task is made or edited, or at its first
 * claim from the claiming profile's config), and `review_rounds` how many rounds of review it
 * gets before a person decides (null: the default, 3). Existing tasks have neither.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN reviewer TEXT;
ALTER TABLE tasks ADD COLUMN review_rounds INTEGER CHECK (review_rounds BETWEEN 1 AND 20);
`;
