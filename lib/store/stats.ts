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
export async function countByStatus(k: Kernel, tenant?: string): Promise<Record<Status, number>> {
  const byStatus = zeroes();
  for (const r of await k.q.taskCountsByStatus(tenant ?? null)) byStatus[r.status] = r.n;
  return byStatus;
}

/** stats reads the board's (or one tenant's) counts, run outcomes and queue age. */
export async function stats(k: Kernel, tenant?: string): Promise<Stats> {
  const scope = tenant ?? null;
  const byStatus = await countByStatus(k, tenant);
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const byOutcome: Record<string, number> = {};
  let runs = 0;
  let open = 0;
  for (const r of await k.q.runCountsByOutcome(scope)) {
    runs += r.n;
    if (r.outcome === null) open = r.n;
    else byOutcome[r.outcome] = r.n;
  }
  const oldest = await k.q.oldestReadyAt(scope);
  const done = await k.q.completedCountSince(k.now() - 86_400_000, scope);
  return {
    total,
    by_status: byStatus,
    runs: { open, total: runs, by_outcome: byOutcome },
    oldest_ready_at: iso(oldest),
    completed_last_24h: done,
  };
}

/** assignees lists every assignee (profile) with its tasks by status, busiest first. */
export async function assignees(k: Kernel): Promise<AssigneeStats[]> {
  const out = new Map<string | null, AssigneeStats>();
  for (const r of await k.q.taskCountsByAssignee()) {
    const a = out.get(r.assignee) ?? { assignee: r.assignee, total: 0, by_status: {} };
    a.by_status[r.status] = r.n;
    a.total += r.n;
    out.set(r.assignee, a);
  }
  return [...out.values()].sort((a, b) =>
    b.total - a.total || String(a.assignee).localeCompare(String(b.assignee))
  );
}
