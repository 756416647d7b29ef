/**
 * What a budget caps, over what, and where (lib/store/budgets.ts): the names, and the reading
 * of a scope and a window as people write them, with no store code, so that config.toml's
 * reading (lib/config) checks a declared budget with them.
 */
import { ValidationError } from "./errors.ts";

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

/**
 * budgetScope reads a scope as people write it: `board`, `profile:NAME`, `tenant:NAME` or
 * `task:ID` (the command line and config.toml).
 */
export function budgetScope(text: string): { scope: BudgetScope; target?: string } {
  if (text === "board") return { scope: "board" };
  const m = /^(profile|tenant|task):(.+)$/.exec(text);
  if (m === null) {
    throw new ValidationError(
      `"${text}" is not a scope (board, profile:NAME, tenant:NAME or task:ID)`,
    );
  }
  return { scope: m[1] as "profile" | "tenant" | "task", target: m[2]! };
}

/** budgetWindow reads `run`, `day`, `week`, `month` or `Nh` (a rolling number of hours). */
export function budgetWindow(text: string): { period: BudgetPeriod; hours?: number } {
  if (["run", "day", "week", "month"].includes(text)) {
    return { period: text as "run" | "day" | "week" | "month" };
  }
  const m = /^(\d+)h$/.exec(text);
  if (m === null) {
    throw new ValidationError(
      `"${text}" is not a window (run, day, week, month, or hours like 5h)`,
    );
  }
  return { period: "hours", hours: Number(m[1]) };
}
