/**
 * Usage as people read it, shared by the CLI and the dashboard (which bundles this file, so
 * it imports nothing): token counts like `12.4k`, costs like `$0.0123`, and the sum of a
 * task's runs. A cost no CLI reported stays unknown: it is never written as `$0`.
 */

/** The figures of a run's usage (usage.ts) or of a sum of runs (usage_stats.ts). */
export interface TokenCounts {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd?: number | null | undefined;
}

/** totalTokens is every token a run used: input of all kinds plus output. */
export function totalTokens(u: TokenCounts): number {
  return u.input_tokens + u.cache_read_tokens + u.cache_write_tokens + u.output_tokens;
}

/** scaled writes `n / div` with one decimal below 100 (no ".0"), whole above: 12.4k, 125k. */
function scaled(n: number, div: number, unit: string): string {
  const v = n / div;
  return `${v < 99.95 ? v.toFixed(1).replace(/\.0$/, "") : Math.round(v)}${unit}`;
}

/** compactCount writes a count for people: 950, 2k, 12.4k, 125k, 3.1M. */
export function compactCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 999_500) return scaled(n, 1e3, "k");
  if (n < 999_500_000) return scaled(n, 1e6, "M");
  return scaled(n, 1e9, "B");
}

/** dollars writes a reported cost: $0.0123 below a dollar, $1.24 above. */
export function dollars(usd: number): string {
  if (usd > 0 && usd < 0.0001) return "<$0.0001";
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** What a task's runs used together. */
export interface RunsUsage {
  /** Runs with usage (the others' is unknown). */
  known: number;
  tokens: number;
  /** The sum of the reported costs; null when no run reported one. */
  cost_usd: number | null;
}

/** sumRuns adds up the usage of a task's runs (null: a run whose usage is unknown). */
export function sumRuns(usages: readonly (TokenCounts | null)[]): RunsUsage {
  const known = usages.filter((u): u is TokenCounts => u !== null);
  const costs = known.filter((u) => typeof u.cost_usd === "number").map((u) => u.cost_usd!);
  return {
    known: known.length,
    tokens: known.reduce((n, u) => n + totalTokens(u), 0),
    cost_usd: costs.length === 0 ? null : costs.reduce((a, b) => a + b, 0),
  };
}
