/**
 * The decomposition routes (lib/http/api_plans.ts): decompose takes its roster from
 * config.toml, the plan's state reads back, and a plan waiting for approval is approved or
 * rejected; what cannot be done is a 4xx naming why.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as shapes from "../../lib/http/shapes.ts";
import { tempDir } from "../_setup.ts";
import { appSetup, conforms } from "./_app.ts";

const CONFIG = `[decompose]
profile = "orchestrator"
approval = true
[profiles.orchestrator]
command = ["true"]
[profiles.coder]
command = ["true"]
description = "writes code"
`;

Deno.test("decompose, plan, approve and reject over HTTP", async () => {
  using tmp = tempDir("kanban-http-plans-");
  const config = join(tmp.dir, "config.toml");
  writeFileSync(config, CONFIG);
  await using a = appSetup({ env: { KANBAN_CONFIG: config, HOME: tmp.dir } });
  const { task } = await a.ok<{ task: { id: string } }>(
    "POST",
    "/api/v1/tasks",
    { title: "big job", triage: true },
    201,
  );
  const queued = await a.ok<{ status: string; assignee: string }>(
    "POST",
    `/api/v1/tasks/${task.id}/decompose`,
    {},
  );
  conforms(shapes.Task, queued);
  assert.deepEqual([queued.status, queued.assignee], ["ready", "orchestrator"]);
  const state = await a.ok<{ state: string; request: { roster: unknown } }>(
    "GET",
    `/api/v1/tasks/${task.id}/plan`,
  );
  assert.equal(state.state, "requested");
  assert.deepEqual(state.request.roster, [{ name: "coder", description: "writes code" }]);
  assert.match(
    await a.fails("POST", `/api/v1/tasks/${task.id}/decompose`, {}, 409, "not_triage"),
    /is ready: only a task in triage \(or blocked\) is decomposed/,
  );
  assert.match(
    await a.fails(
      "POST",
      `/api/v1/tasks/${task.id}/plan/approve`,
      undefined,
      409,
      "no_plan_to_review",
    ),
    /has no plan waiting for approval/,
  );

  // the orchestrator's worker plans (as the dispatcher would run it)
  const c = (await a.b.store.claim({ taskId: task.id }, { name: "dispatcher" }))!;
  await a.b.store.plan(task.id, {
    tasks: [{ ref: "x", title: "X", assignee: "coder" }],
  }, { name: "orchestrator-1", token: c.token });
  assert.equal(
    (await a.ok<{ state: string }>("GET", `/api/v1/tasks/${task.id}/plan`)).state,
    "approval",
  );
  const rejected = await a.ok<{ status: string; blocked_reason: string }>(
    "POST",
    `/api/v1/tasks/${task.id}/plan/reject`,
    { reason: "too coarse" },
  );
  assert.equal(rejected.status, "blocked");
  assert.match(rejected.blocked_reason, /its plan was rejected: too coarse/);
  await a.fails("POST", `/api/v1/tasks/${task.id}/plan/reject`, {}, 400, "invalid_input");
});

Deno.test("decompose over HTTP says so when config.toml names no orchestrator", async () => {
  using tmp = tempDir("kanban-http-plans-");
  await using a = appSetup({ env: { KANBAN_CONFIG: join(tmp.dir, "none.toml"), HOME: tmp.dir } });
  const { task } = await a.ok<{ task: { id: string } }>(
    "POST",
    "/api/v1/tasks",
    { title: "big job", triage: true },
    201,
  );
  assert.match(
    await a.fails("POST", `/api/v1/tasks/${task.id}/decompose`, {}, 400, "usage"),
    /No orchestrator profile/,
  );
});
