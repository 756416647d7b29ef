/**
 * Budget routes (lib/store/budgets.ts, docs/budgets.md): the budgets with their window's
 * spend (what `kanban budget list --json` prints), add one, remove one.
 */
import { z } from "zod";
import { BUDGET_METRICS, BUDGET_PERIODS, BUDGET_SCOPES } from "../store/mod.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import * as shapes from "./shapes.ts";

/** A new budget, as the store takes it (the store checks it whole). */
const BudgetBody = z.strictObject({
  name: z.string(),
  scope: z.enum(BUDGET_SCOPES),
  target: z.string().optional().describe("the profile, tenant or task; none for the board"),
  metric: z.enum(BUDGET_METRICS),
  cap: z.number().describe("the most the window may spend (US dollars for cost_usd)"),
  period: z.enum(BUDGET_PERIODS).describe("run: each run; day, week, month: UTC; hours: rolling"),
  hours: z.number().int().optional().describe("the rolling window's length (period hours)"),
  hard: z.boolean().optional().describe("true (default): hold claims and stop workers"),
});

export function budgetRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/budgets",
    tag: "budgets",
    summary: "The budgets, by name, each with what its window has spent",
    ok: { status: 200, schema: z.array(shapes.BudgetStatus), description: "the budgets" },
    handler: async (c) => json(c, await store.budgets()),
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
    ok: {
      status: 200,
      schema: z.strictObject({ removed: z.string() }),
      description: "the removed budget's name",
    },
    errors: [404],
    handler: async (c, { params }) => {
      await store.removeBudget(params["name"]!, api.actor);
      return json(c, { removed: params["name"]! });
    },
  });
}
