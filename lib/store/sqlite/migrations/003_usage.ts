/**
 * Migration 003: usage totals read the runs that ended in a window (`kanban stats --since`,
 * GET /api/v1/usage, the dashboard's last 24 h): an index on when a run ended, so a window
 * reads its own runs instead of every run of the board.
 */
export const sql = `
CREATE INDEX task_runs_ended ON task_runs(ended_at) WHERE ended_at IS NOT NULL;
`;
