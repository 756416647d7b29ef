/**
 * What the runs of a board used, summed over a time window: for the whole board, per profile
 * and per tenant. A run counts in the window it ended in (its usage is known when it ends).
 * Cost is summed only over runs whose CLI reported one, and says how many did, so a board
 * of subscription runs reads "cost unknown", not "$0".
 */
import type { Kernel } from "./_kernel.ts";
import { iso } from "./_rows.ts";
import type { UsageGroupRow, UsageSumsRow } from "./driver/reads.ts";

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

/** addUsage sums groups of runs into totals (cost stays null until a run reported one). */
export function addUsage<T extends UsageTotals>(into: T, r: UsageSumsRow): T {
  into.runs += r.runs;
  into.runs_with_usage += r.with_usage;
  into.input_tokens += r.input ?? 0;
  into.output_tokens += r.output ?? 0;
  into.cache_read_tokens += r.cache_read ?? 0;
  into.cache_write_tokens += r.cache_write ?? 0;
  into.reasoning_tokens += r.reasoning ?? 0;
  if (r.with_cost > 0) into.cost_usd = (into.cost_usd ?? 0) + (r.cost ?? 0);
  into.runs_with_cost += r.with_cost;
  return into;
}

/** zeroUsage is the totals of no runs (cost unknown, not $0). */
export function zeroUsage(): UsageTotals {
  return {
    runs: 0,
    runs_with_usage: 0,
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: null,
    runs_with_cost: 0,
  };
}

/** rounded rounds a sum of costs to a millionth of a dollar (sums of binary fractions). */
function rounded(t: UsageTotals): UsageTotals {
  return t.cost_usd === null ? t : { ...t, cost_usd: Math.round(t.cost_usd * 1e6) / 1e6 };
}

/** byKey sums the groups by one key, busiest first (then by key, no key last). */
function byKey(
  rows: UsageGroupRow[],
  key: (r: UsageGroupRow) => string | null,
): [string | null, UsageTotals][] {
  const sums = new Map<string | null, UsageTotals>();
  for (const r of rows) sums.set(key(r), addUsage(sums.get(key(r)) ?? zeroUsage(), r));
  return [...sums].map(([k, t]): [string | null, UsageTotals] => [k, rounded(t)])
    .sort(([a, x], [b, y]) => y.runs - x.runs || (a ?? "\uffff").localeCompare(b ?? "\uffff"));
}

/**
 * usageStats sums the usage of the runs that ended in the window, by profile and tenant: one
 * pass over the window's runs, grouped by both, summed further here.
 */
export async function usageStats(k: Kernel, filter: UsageFilter = {}): Promise<UsageStats> {
  const until = k.now();
  const rows = await k.q.usageByProfileAndTenant({
    since: filter.since,
    until,
    tenant: filter.tenant ?? null,
  });
  return {
    since: filter.since === undefined ? null : iso(filter.since),
    until: iso(until)!,
    total: rounded(rows.reduce((t, r) => addUsage(t, r), zeroUsage())),
    by_profile: byKey(rows, (r) => r.profile).map(([profile, t]) => ({ profile, ...t })),
    by_tenant: byKey(rows, (r) => r.tenant).map(([tenant, t]) => ({ tenant, ...t })),
  };
}
