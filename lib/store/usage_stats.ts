/**
 * What the runs of a board used, summed over a time window: for the whole board, per profile
 * and per tenant. A run counts in the window it ended in (its usage is known when it ends).
 * Cost is summed only over runs whose CLI reported one, and says how many did, so a board
 * of subscription runs reads "cost unknown", not "$0".
 */
import type { Kernel } from "./_kernel.ts";
import { iso } from "./_rows.ts";

export interface UsageTotals {
  /** Runs that ended in the window. */
  runs: number;
  /** Of those, runs with usage (read from output or reported). */
  runs_with_usage: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  /** Sum of the reported costs, in US dollars (null when no run reported a cost). */
  cost_usd: number | null;
  /** Runs whose CLI reported a cost. */
  runs_with_cost: number;
}

export interface UsageStats {
  /** The window: runs that ended at or after `since` (null: all time) and before `until`. */
  since: string | null;
  until: string;
  total: UsageTotals;
  by_profile: (UsageTotals & { profile: string | null })[];
  by_tenant: (UsageTotals & { tenant: string | null })[];
}

export interface UsageFilter {
  /** Epoch ms: only runs that ended at or after this. */
  since?: number | undefined;
  tenant?: string | undefined;
}

interface Row {
  key: string | null;
  runs: number;
  with_usage: number;
  input: number | null;
  output: number | null;
  cache_read: number | null;
  cache_write: number | null;
  reasoning: number | null;
  cost: number | null;
  with_cost: number;
}

const SUMS = `count(*) AS runs, count(r.usage) AS with_usage,
  sum(r.usage ->> '$.input_tokens') AS input, sum(r.usage ->> '$.output_tokens') AS output,
  sum(r.usage ->> '$.cache_read_tokens') AS cache_read,
  sum(r.usage ->> '$.cache_write_tokens') AS cache_write,
  sum(r.usage ->> '$.reasoning_tokens') AS reasoning,
  sum(r.usage ->> '$.cost_usd') AS cost, count(r.usage ->> '$.cost_usd') AS with_cost`;

function totals(r: Row | undefined): UsageTotals {
  return {
    runs: r?.runs ?? 0,
    runs_with_usage: r?.with_usage ?? 0,
    input_tokens: r?.input ?? 0,
    output_tokens: r?.output ?? 0,
    cache_read_tokens: r?.cache_read ?? 0,
    cache_write_tokens: r?.cache_write ?? 0,
    reasoning_tokens: r?.reasoning ?? 0,
    // sums of binary fractions: round to a millionth of a dollar
    cost_usd: r && r.with_cost > 0 ? Math.round((r.cost ?? 0) * 1e6) / 1e6 : null,
    runs_with_cost: r?.with_cost ?? 0,
  };
}

/** usageStats sums the usage of the runs that ended in the window, by profile and tenant. */
export function usageStats(k: Kernel, filter: UsageFilter = {}): UsageStats {
  const until = k.now();
  const where = ["r.ended_at IS NOT NULL", "r.ended_at <= ?"];
  const params: (string | number)[] = [until];
  if (filter.since !== undefined) {
    where.push("r.ended_at >= ?");
    params.push(filter.since);
  }
  if (filter.tenant !== undefined) {
    where.push("t.tenant = ?");
    params.push(filter.tenant);
  }
  const from = `FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE ${where.join(" AND ")}`;
  const grouped = (key: string) =>
    k.db.all<Row>(
      `SELECT ${key} AS key, ${SUMS} ${from} GROUP BY ${key} ORDER BY runs DESC, key`,
      ...params,
    );
  return {
    since: filter.since === undefined ? null : iso(filter.since),
    until: iso(until)!,
    total: totals(k.db.get<Row>(`SELECT NULL AS key, ${SUMS} ${from}`, ...params)),
    by_profile: grouped("r.profile").map((r) => ({ profile: r.key, ...totals(r) })),
    by_tenant: grouped("t.tenant").map((r) => ({ tenant: r.key, ...totals(r) })),
  };
}
