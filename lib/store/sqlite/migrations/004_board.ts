/**
 * Migration 004: the board reads each column in its own order with a LIMIT, from an index
 * instead of sorting every task of the status (a column of 17,000 ready tasks took 25 ms
 * to sort, the board about 150 ms at 50,000 tasks). The queue's columns read by priority
 * and age; finished work (done, archived) newest first, from an index of each (partial: only
 * those rows, so the writes of the queue do not pay for them). `tasks_board` starts with the status,
 * so it also does what `tasks_status` did.
 */
export const sql = `
CREATE INDEX tasks_board ON tasks(status, priority DESC, created_at, id);
CREATE INDEX tasks_done ON tasks(coalesce(completed_at, updated_at) DESC, id DESC)
  WHERE status = 'done';
CREATE INDEX tasks_archived ON tasks(coalesce(completed_at, updated_at) DESC, id DESC)
  WHERE status = 'archived';
DROP INDEX tasks_status;
`;
