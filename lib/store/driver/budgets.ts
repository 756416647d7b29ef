/**
 * The budget operations (lib/store/budgets.ts): rows of the `budgets` table, and the reads a
 * budget's spend is summed from.
 */
import type { UsageSumsRow } from "./reads.ts";

/** A budget as stored (lib/store/sqlite/migrations/011_budgets.ts says what each column is). */
export interface BudgetRow {
  name: string;
  scope: "board" | "profile" | "tenant" | "task";
  target: string | null;
  metric:
    | "tokens"
    | "input_tokens"
    | "output_tokens"
    | "cache_read_tokens"
    | "cache_write_tokens"
    | "cost_usd"
    | "runs"
    | "wall_seconds";
  cap: number;
  period: "run" | "day" | "week" | "month" | "hours";
  hours: number | null;
  hard: number;
  noted_window: number | null;
  created_by: string;
  created_at: number;
}

/** An open run and what a budget's scope asks of it. */
export interface OpenRunScope {
  id: number;
  task_id: string;
  profile: string | null;
  tenant: string | null;
  started_at: number;
}

/** One ended run's usage (JSON text or null) and how long it ran. */
export interface RunSpend {
  usage: string | null;
  wall_ms: number;
}

export interface BudgetQueries {
  /** Stores a new budget; `duplicate_name` when its name is taken. */
  budgetInsert(row: BudgetRow): Promise<"inserted" | "duplicate_name">;
  /** Every budget, by name. */
  budgetsAll(): Promise<BudgetRow[]>;
  /** Deletes a budget; false when there was none. */
  budgetDelete(name: string): Promise<boolean>;
  /**
   * budgetNote records that the window starting at `window` was crossed, unless it was already
   * (a compare-and-set: true for the one caller that recorded it).
   */
  budgetNote(name: string, window: number): Promise<boolean>;
  /** The sums of the runs of each task of `ids` that ended at or after `since`, by task. */
  usageOfTasks(
    ids: readonly string[],
    since: number | undefined,
  ): Promise<(UsageSumsRow & { task_id: string })[]>;
  /** Every open run with its task's tenant. */
  openRunScopes(): Promise<OpenRunScope[]>;
  /** The usage and run time of a profile's newest `limit` ended runs, newest first. */
  recentRunsOf(profile: string, limit: number): Promise<RunSpend[]>;
}
