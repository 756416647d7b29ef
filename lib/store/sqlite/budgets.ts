/** The SQLite driver's budget operations (lib/store/driver/budgets.ts says what each does). */
import type { BudgetQueries, BudgetRow, OpenRunScope, RunSpend } from "../driver/budgets.ts";
import type { UsageSumsRow } from "../driver/reads.ts";
import { answered } from "./answered.ts";
import type { Db, Param } from "./db.ts";
import { USAGE_SUMS } from "./reads.ts";

export function budgetQueries(db: Db): BudgetQueries {
  return answered<BudgetQueries>({
    budgetInsert: (b) => {
      const { changes } = db.run(
        `INSERT INTO budgets (name, scope, target, metric, cap, period, hours, hard, noted_window,
           created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        b.name,
        b.scope,
        b.target,
        b.metric,
        b.cap,
        b.period,
        b.hours,
        b.hard,
        b.noted_window,
        b.created_by,
        b.created_at,
      );
      return changes === 1 ? "inserted" : "duplicate_name";
    },
    budgetsAll: () => db.all<BudgetRow>("SELECT * FROM budgets ORDER BY name"),
    budgetDelete: (name) => db.run("DELETE FROM budgets WHERE name = ?", name).changes === 1,
    budgetNote: (name, window) =>
      db.run(
        `UPDATE budgets SET noted_window = ? WHERE name = ?
           AND (noted_window IS NULL OR noted_window < ?)`,
        window,
        name,
        window,
      ).changes === 1,
    usageOfTasks: (ids, since) => {
      if (ids.length === 0) return [];
      const params: Param[] = [JSON.stringify(ids)];
      if (since !== undefined) params.push(since);
      return db.all<UsageSumsRow & { task_id: string }>(
        `SELECT r.task_id AS task_id, ${USAGE_SUMS}
         FROM task_runs r WHERE r.task_id IN (SELECT value FROM json_each(?))
           AND r.ended_at IS NOT NULL ${since !== undefined ? "AND r.ended_at >= ?" : ""}
         GROUP BY r.task_id`,
        ...params,
      );
    },
    openRunScopes: () =>
      db.all<OpenRunScope>(
        `SELECT r.id, r.task_id, r.profile, t.tenant, r.started_at
         FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE r.ended_at IS NULL`,
      ),
    recentRunsOf: (profile, limit) =>
      db.all<RunSpend>(
        `SELECT usage, ended_at - started_at AS wall_ms FROM task_runs
         WHERE profile = ? AND ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?`,
        profile,
        limit,
      ),
  });
}
