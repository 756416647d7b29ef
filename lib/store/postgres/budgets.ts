/** The PostgreSQL driver's budget operations (lib/store/driver/budgets.ts says what each does). */
import type { BudgetQueries, BudgetRow, OpenRunScope, RunSpend } from "../driver/budgets.ts";
import type { UsageSumsRow } from "../driver/reads.ts";
import { count, type Tx } from "./_sql.ts";
import { USAGE_SUMS } from "./reads.ts";

export function budgetQueries(t: Tx): BudgetQueries {
  return {
    budgetInsert: async (b) => {
      // ON CONFLICT DO NOTHING: a unique violation would abort the whole transaction
      const inserted = await t`
        INSERT INTO budgets (name, scope, target, metric, cap, period, hours, hard, noted_window,
          created_by, created_at)
        VALUES (${b.name}, ${b.scope}, ${b.target}, ${b.metric}, ${b.cap}, ${b.period},
          ${b.hours}, ${b.hard}, ${b.noted_window}, ${b.created_by}, ${b.created_at})
        ON CONFLICT DO NOTHING RETURNING name`;
      return inserted.length === 1 ? "inserted" : "duplicate_name";
    },
    budgetsAll: () => t<BudgetRow[]>`SELECT * FROM budgets ORDER BY name`,
    budgetDelete: async (name) => (await t`DELETE FROM budgets WHERE name = ${name}`).count === 1,
    budgetNote: async (name, window) =>
      (await t`UPDATE budgets SET noted_window = ${window} WHERE name = ${name}
        AND (noted_window IS NULL OR noted_window < ${window})`).count === 1,
    usageOfTasks: (ids, since) => {
      if (ids.length === 0) return Promise.resolve([]);
      const after = since === undefined ? t`` : t`AND r.ended_at >= ${since}`;
      return t<(UsageSumsRow & { task_id: string })[]>`SELECT r.task_id AS task_id,
          ${t.unsafe(USAGE_SUMS)}
        FROM task_runs r WHERE r.task_id = ANY(${ids as string[]}::text[])
          AND r.ended_at IS NOT NULL ${after}
        GROUP BY r.task_id`;
    },
    openRunScopes: () =>
      t<OpenRunScope[]>`SELECT r.id, r.task_id, r.profile, tk.tenant, r.started_at
        FROM task_runs r JOIN tasks tk ON tk.id = r.task_id WHERE r.ended_at IS NULL`,
    recentRunsOf: (profile, limit) =>
      t<RunSpend[]>`SELECT usage, ended_at - started_at AS wall_ms FROM task_runs
        WHERE profile = ${profile} AND ended_at IS NOT NULL
        ORDER BY ended_at DESC LIMIT ${count(limit)}`,
  };
}
