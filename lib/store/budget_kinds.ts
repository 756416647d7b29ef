/**
 * What a budget caps, over what, and where (lib/store/budgets.ts): the names alone, no store
 * code, so that config.toml's reading (lib/config) checks a declared budget's metric with them.
 */
export const BUDGET_METRICS = [
  "tokens",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cost_usd",
  "runs",
  "wall_seconds",
] as const;
export type BudgetMetric = (typeof BUDGET_METRICS)[number];
export const BUDGET_SCOPES = ["board", "profile", "tenant", "task"] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];
export const BUDGET_PERIODS = ["run", "day", "week", "month", "hours"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
