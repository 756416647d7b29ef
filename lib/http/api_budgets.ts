/**
 * Budget routes (lib/store/budgets.ts, docs/budgets.md): the budgets with their window's
 * spend (what `kanban budget list --json` prints), add one, remove one.
 */
import { type ApiContext, json, type Routes } from "./route.ts";
import * as shapes from "./shapes.ts";
import { BudgetBody } from "./schemas.ts";

export function budgetRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/budgets",
    tag: "budgets",
    summary: "The budgets, by name, each with what its window has spent",
    ok: { status: 200, schema: shapes.BudgetStatuses, description: "the budgets" },
    handler: async (c) => json(c, await store.budgets()),
  });

  r.add({
    method: "get",
    path: "/api/v1/budgets/{name}/series",
    tag: "budgets",
    summary: "A budget's spend over its current window, point by point (null: per run or task)",
    ok: { status: 200, schema: shapes.BudgetSeries, description: "the series" },
    errors: [404],
    handler: async (c, { params }) => json(c, await store.budgetSeries(params["name"]!)),
  });

  r.add({
    method: "post",
    path: "/api/v1/budgets",
    tag: "budgets",
    summary: "Add a budget",
    body: BudgetBody,
    ok: { status: 201, schema: shapes.Budget, description: "the budget" },
    errors: [409],
    handler: async (c, { body }) => json(c, await store.addBudget(body, api.actor), 201),
  });

  r.add({
    method: "delete",
    path: "/api/v1/budgets/{name}",
    tag: "budgets",
    summary: "Remove a budget",
    ok: { status: 200, schema: shapes.RemovedBudget, description: "the removed budget's name" },
    errors: [404],
    handler: async (c, { params }) => {
      await store.removeBudget(params["name"]!, api.actor);
      return json(c, { removed: params["name"]! });
    },
  });
}
