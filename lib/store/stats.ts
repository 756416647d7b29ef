/** Board statistics: counts by status, by assignee, run outcomes, and queue age. */
import type { Kernel } from "./_kernel.ts";
import { iso } from "./_rows.ts";
import { type Status, STATUSES } from "./transitions.ts";

export interface Stats {
  total: number;
  by_status: Record<Status, number>;
  runs: { open: number; total: number; by_outcome: Record<string, number> };
  oldest_ready_at: string | null;
  completed_last_24h: number;
}

export interface AssigneeStats {
  assignee: string | null;
  total: number;
  by_status: Partial<Record<Status, number>>;
}

function zeroes(): Record<Status, number> {
  return Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
}

/** countByStatus counts the tasks of each status (every status present, zero or more). */
export function countByStatus(k: Kernel, tenant?: string): Record<Status, number> {
  const filter = tenant === undefined ? "" : "WHERE tenant = ?";
  const byStatus = zeroes();
  for (
    const r of k.db.all<{ status: Status; n: number }>(
      `SELECT status, count(*) AS n FROM tasks ${filter} GROUP BY status`,
      ...(tenant === undefined ? [] : [tenant]),
    )
  ) {
    byStatus[r.status] = r.n;
  }
  return byStatus;
}

export function stats(k: Kernel, tenant?: string): Stats {
  const params = tenant === undefined ? [] : [tenant];
  const byStatus = countByStatus(k, tenant);
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const runFilter = tenant === undefined
    ? ""
    : "WHERE task_id IN (SELECT id FROM tasks WHERE tenant = ?)";
  const byOutcome: Record<string, number> = {};
  let runs = 0;
  let open = 0;
  for (
    const r of k.db.all<{ outcome: string | null; n: number }>(
      `SELECT outcome, count(*) AS n FROM task_runs ${runFilter} GROUP BY outcome`,
      ...params,
    )
  ) {
    runs += r.n;
    if (r.outcome === null) open = r.n;
    else byOutcome[r.outcome] = r.n;
  }
  const and = tenant === undefined ? "" : "AND tenant = ?";
  const oldest = k.db.get<{ at: number | null }>(
    `SELECT min(updated_at) AS at FROM tasks WHERE status = 'ready' ${and}`,
    ...params,
  )?.at ?? null;
  const done = k.db.get<{ n: number }>(
    `SELECT count(*) AS n FROM tasks WHERE completed_at >= ? ${and}`,
    k.now() - 86_400_000,
    ...params,
  )!.n;
  return {
    total,
    by_status: byStatus,
    runs: { open, total: runs, by_outcome: byOutcome },
    oldest_ready_at: iso(oldest),
    completed_last_24h: done,
  };
}

/** assignees lists every assignee (profile) with its tasks by status, busiest first. */
export function assignees(k: Kernel): AssigneeStats[] {
  const out = new Map<string | null, AssigneeStats>();
  for (
    const r of k.db.all<{ assignee: string | null; status: Status; n: number }>(
      "SELECT assignee, status, count(*) AS n FROM tasks GROUP BY assignee, status",
    )
  ) {
    const a = out.get(r.assignee) ?? { assignee: r.assignee, total: 0, by_status: {} };
    a.by_status[r.status] = r.n;
    a.total += r.n;
    out.set(r.assignee, a);
  }
  return [...out.values()].sort((a, b) =>
    b.total - a.total || String(a.assignee).localeCompare(String(b.assignee))
  );
}
