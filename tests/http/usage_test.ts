import assert from "node:assert/strict";
import * as shapes from "../../lib/http/shapes.ts";
import type { Claim, Store, UsageInput } from "../../lib/store/mod.ts";
import { DISPATCHER } from "../_setup.ts";
import { type AppBundle, appSetup, conforms } from "./_app.ts";

type Json = Record<string, unknown>;
const HOUR = 3_600_000;

/** runWith makes a task for `profile`, claims it and has its worker complete it with `usage`. */
async function runWith(
  store: Store,
  profile: string,
  usage: UsageInput | undefined,
  tenant?: string,
): Promise<{ id: string; claim: Claim }> {
  const { task } = await store.createTask(
    { title: `${profile} work`, assignee: profile, ...(tenant ? { tenant } : {}) },
    DISPATCHER,
  );
  const claim = (await store.claim({ taskId: task.id, profile }, DISPATCHER))!;
  await store.complete(task.id, { summary: "done", ...(usage ? { usage } : {}) }, {
    name: `${profile}-1`,
    token: claim.token,
  });
  return { id: task.id, claim };
}

interface Totals {
  runs: number;
  runs_with_usage: number;
  input_tokens: number;
  cost_usd: number | null;
  runs_with_cost: number;
}
interface UsageStats {
  since: string | null;
  total: Totals;
  by_profile: (Totals & { profile: string | null })[];
  by_tenant: (Totals & { tenant: string | null })[];
}

Deno.test("GET /api/v1/usage sums the runs that ended since 24h, 7d or a time, by profile and tenant", async () => {
  await using a = appSetup();
  const store = a.b.store;
  await runWith(store, "claude", { input_tokens: 5000, output_tokens: 100, cost_usd: 0.5 });
  a.b.clock.advance(3 * 24 * HOUR);
  await runWith(store, "claude", { input_tokens: 1200, output_tokens: 80, cost_usd: 0.0125 });
  await runWith(store, "codex", { input_tokens: 300, cache_read_tokens: 700 }, "acme");
  await runWith(store, "codex", undefined, "acme");

  const day = await a.ok<UsageStats>("GET", "/api/v1/usage?since=24h");
  conforms(shapes.UsageStats, day);
  assert.deepEqual(day, await store.usageStats({ since: a.b.clock.now() - 24 * HOUR }));
  assert.equal(day.since, new Date(a.b.clock.now() - 24 * HOUR).toISOString());
  assert.deepEqual(
    [day.total.runs, day.total.runs_with_usage, day.total.input_tokens, day.total.runs_with_cost],
    [3, 2, 1500, 1],
  );
  assert.equal(day.total.cost_usd, 0.0125, "only the run that reported a cost counts");
  const codex = day.by_profile.find((p) => p.profile === "codex")!;
  assert.equal(codex.cost_usd, null, "no cost reported reads null, not 0");
  assert.equal(codex.runs_with_usage, 1);

  const all = await a.ok<UsageStats>("GET", "/api/v1/usage");
  conforms(shapes.UsageStats, all);
  assert.equal(all.since, null);
  assert.equal(all.total.runs, 4);
  assert.equal(all.total.cost_usd, 0.5125);
  assert.equal((await a.ok<UsageStats>("GET", "/api/v1/usage?since=7d")).total.runs, 4);
  const iso = new Date(a.b.clock.now() - HOUR).toISOString();
  assert.equal(
    (await a.ok<UsageStats>("GET", `/api/v1/usage?since=${encodeURIComponent(iso)}`)).total.runs,
    3,
  );

  const acme = await a.ok<UsageStats>("GET", "/api/v1/usage?since=24h&tenant=acme");
  conforms(shapes.UsageStats, acme);
  assert.deepEqual(acme.by_tenant.map((t) => [t.tenant, t.runs]), [["acme", 2]]);
  assert.deepEqual(acme.by_profile.map((p) => p.profile), ["codex"]);
});

Deno.test("GET /api/v1/usage refuses a since it cannot read with a 400 naming the value", async () => {
  await using a = appSetup();
  for (const since of ["yesterday", "0s", "24x", "", "2026-13-45"]) {
    const message = await a.fails(
      "GET",
      `/api/v1/usage?since=${encodeURIComponent(since)}`,
      undefined,
      400,
      "invalid_input",
    );
    assert.match(message, /since/, message);
    assert.ok(message.includes(`"${since}"`), `${message} names ${JSON.stringify(since)}`);
  }
  const typo = await a.fails("GET", "/api/v1/usage?sinse=24h", undefined, 400, "invalid_input");
  assert.match(typo, /sinse/);
});

Deno.test("a run's usage is in the task's runs: the store's record, or null when unknown", async () => {
  await using a = appSetup();
  const known = await runWith(a.b.store, "claude", { input_tokens: 10, cost_usd: 0.25 });
  const unknown = await runWith(a.b.store, "codex", undefined);
  const detail = await a.ok<{ runs: { usage: unknown }[] }>("GET", `/api/v1/tasks/${known.id}`);
  conforms(shapes.TaskDetail, detail);
  assert.deepEqual(detail.runs[0]!.usage, {
    input_tokens: 10,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    models: [],
    cost_usd: 0.25,
    source: "reported",
  });
  const none = await a.ok<{ runs: { usage: unknown }[] }>("GET", `/api/v1/tasks/${unknown.id}`);
  conforms(shapes.TaskDetail, none);
  assert.equal(none.runs[0]!.usage, null);
});

async function running(a: AppBundle): Promise<{ id: string; run: number }> {
  const { task } = await a.b.store.createTask({ title: "t", assignee: "coder" }, DISPATCHER);
  const claim = (await a.b.store.claim({ taskId: task.id }, DISPATCHER))!;
  return { id: task.id, run: claim.run.id };
}

Deno.test("complete over HTTP records the usage it is given; bad usage is a 400 naming the field", async () => {
  await using a = appSetup();
  const t = await running(a);
  for (
    const [usage, field] of [
      [{ input_tokens: -1 }, /usage\.input_tokens/],
      [{ output_tokens: 1.5 }, /usage\.output_tokens/],
      [{ cost_usd: "free" }, /usage\.cost_usd/],
      [{ tokens: 3 }, /usage.*tokens/],
      ["lots", /usage/],
    ] as const
  ) {
    const message = await a.fails(
      "POST",
      `/api/v1/tasks/${t.id}/complete`,
      { summary: "x", usage },
      400,
      "invalid_input",
    );
    assert.match(message, field, message);
  }
  assert.equal((await a.b.store.getTask(t.id)).status, "running", "nothing was written");

  const done = await a.ok<{ status: string }>("POST", `/api/v1/tasks/${t.id}/complete`, {
    summary: "by hand",
    usage: { input_tokens: 900, output_tokens: 40, models: ["m"], cost_usd: 0.01 },
  });
  assert.equal(done.status, "done");
  const run = await a.b.store.getRun(t.run);
  assert.equal(run.outcome, "completed_by_human");
  assert.deepEqual(run.usage, {
    input_tokens: 900,
    output_tokens: 40,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    models: ["m"],
    cost_usd: 0.01,
    source: "reported",
  });
});

Deno.test("the OpenAPI document describes the usage route, the run's usage and complete's usage", async () => {
  await using a = appSetup();
  const doc = await a.ok<Json>("GET", "/api/v1/openapi.json");
  const schemas = (doc["components"] as Json)["schemas"] as Record<string, Json>;
  const op = ((doc["paths"] as Json)["/api/v1/usage"] as Json)["get"] as Json;
  assert.deepEqual((op["parameters"] as Json[]).map((p) => [p["name"], p["in"]]), [
    ["since", "query"],
    ["tenant", "query"],
  ]);
  const ok = ((op["responses"] as Json)["200"] as Json)["content"] as Json;
  assert.deepEqual((ok["application/json"] as Json)["schema"], {
    $ref: "#/components/schemas/UsageStats",
  });
  assert.ok("400" in (op["responses"] as Json));

  const run = schemas["Run"]!["properties"] as Record<string, Json>;
  assert.deepEqual(run["usage"]!["anyOf"], [{ $ref: "#/components/schemas/Usage" }, {
    type: "null",
  }]);
  const usage = schemas["Usage"]!;
  assert.ok("cost_usd" in (usage["properties"] as Json));
  assert.ok(!(usage["required"] as string[]).includes("cost_usd"), "cost_usd is optional");

  const complete = schemas["CompleteBody"]!["properties"] as Record<string, Json>;
  const body = complete["usage"]!;
  assert.equal(body["additionalProperties"], false);
  assert.deepEqual(Object.keys(body["properties"] as Json).sort(), [
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "input_tokens",
    "models",
    "output_tokens",
    "reasoning_tokens",
    "turns",
  ]);
});
