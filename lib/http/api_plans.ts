/**
 * Decomposition routes (docs/decompose.md): ask the orchestrator to split a triage task into
 * a plan, read where a plan stands, and approve or reject a plan that waits for a person. The
 * request's roster comes from config.toml, as `kanban decompose` reads it.
 */
import { loadConfig } from "../config/config.ts";
import { decomposeRequest } from "../dispatch/decompose.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import { DecomposeBody, RejectPlanBody } from "./schemas.ts";
import * as shapes from "./shapes.ts";

export function planRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/decompose",
    tag: "plans",
    summary: "Ask the orchestrator profile to split a triage (or blocked) task into a plan",
    body: DecomposeBody,
    ok: { status: 200, schema: shapes.Task, description: "the task, queued for its orchestrator" },
    errors: [404, 409],
    handler: async (c, { params, body }) => {
      const request = decomposeRequest(loadConfig(api.env), body ?? {});
      return json(c, await store.decompose(params["id"]!, request, api.actor));
    },
  });

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}/plan",
    tag: "plans",
    summary: "Where a task's decomposition stands: none, requested, approval or planned",
    ok: { status: 200, schema: shapes.PlanState, description: "its state, and the plan's tasks" },
    errors: [404],
    handler: async (c, { params }) => json(c, await store.planState(params["id"]!)),
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/plan/approve",
    tag: "plans",
    summary: "Let a plan that waits for approval run (its first tasks leave triage)",
    ok: { status: 200, schema: shapes.Task, description: "the decomposed task" },
    errors: [404, 409],
    handler: async (c, { params }) => {
      await store.approvePlan(params["id"]!, api.actor);
      return json(c, await store.getTask(params["id"]!));
    },
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/plan/reject",
    tag: "plans",
    summary: "Cancel a plan that waits for approval; the task is blocked with the reason",
    body: RejectPlanBody,
    ok: { status: 200, schema: shapes.Task, description: "the decomposed task, blocked" },
    errors: [404, 409],
    handler: async (c, { params, body }) =>
      json(c, await store.rejectPlan(params["id"]!, body!.reason, api.actor)),
  });
}
