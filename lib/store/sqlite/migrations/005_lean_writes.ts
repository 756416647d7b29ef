/**
 * Migration 005: fewer index pages written by each claim and each completion. Every index
 * whose key holds `status` gets an entry moved on every move of a task, and every page so
 * touched is one more page in the write-ahead log at commit:
 * - `tasks_claimable` (ready tasks by priority, age and id) said again what the `ready`
 *   part of `tasks_board` (status, priority, age, id) already holds, in the same order:
 *   claims for any assignee now read `tasks_board`.
 * - `tasks_assignee` and `tasks_tenant` carried the status after the assignee or tenant, so
 *   a claim and a completion each rewrote entries in both; a list by assignee or tenant reads
 *   that one's tasks and filters them by status, which is cheap next to the list itself.
 * A claim + complete cycle writes about 30% fewer pages (docs/performance.md).
 */
export const sql = `
DROP INDEX tasks_claimable;
DROP INDEX tasks_assignee;
DROP INDEX tasks_tenant;
CREATE INDEX tasks_assignee ON tasks(assignee);
CREATE INDEX tasks_tenant ON tasks(tenant);
`;
