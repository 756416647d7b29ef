import assert from "node:assert/strict";
import { setup } from "../_setup.ts";
import { add, claimId } from "../store/_helpers.ts";
import { AGENT_CAPS, runTool, TOOLS } from "../../lib/tools/mod.ts";
import { personDeps, workerDeps } from "./_mcp.ts";

Deno.test("create takes not_before as an ISO time or +DURATION from the deps' clock", async () => {
  await using b = setup();
  const now = Date.parse("2026-03-01T12:00:00Z");
  const deps = { ...personDeps(b.store), now: () => now };
  const iso = await runTool(TOOLS.create, deps, {
    title: "at",
    not_before: "2026-03-02T09:00:00Z",
  });
  assert.equal(iso.not_before, "2026-03-02T09:00:00.000Z");
  const rel = await runTool(TOOLS.create, deps, { title: "in", not_before: "+1h30m" });
  assert.equal(rel.not_before, "2026-03-01T13:30:00.000Z");
  await assert.rejects(
    runTool(TOOLS.create, deps, { title: "x", not_before: "+forever" }),
    /Invalid not_before: "forever" is not a duration/,
  );
  // The same words as the CLI's --not-before (one parser, lib/config/duration.ts).
  const words = await runTool(TOOLS.create, deps, { title: "words", not_before: "in 2h" });
  assert.equal(words.not_before, "2026-03-01T14:00:00.000Z");
  await assert.rejects(
    runTool(TOOLS.create, deps, { title: "x", not_before: "March 2, 2026" }),
    /Invalid not_before: "March 2, 2026" is not a time/,
  );
});

Deno.test("create maps every field onto the task", async () => {
  await using b = setup();
  const parent = await add(b.store, "parent");
  const t = await runTool(TOOLS.create, personDeps(b.store), {
    title: "api",
    body: "Build it",
    assignee: "coder",
    parents: [parent.id],
    priority: 2,
    tenant: "acme",
    workspace: "dir:/srv/repo",
    skills: ["ts"],
    max_runtime_seconds: 600,
    review: true,
    idempotency_key: "api-1",
    created_by: "planner",
  });
  assert.deepEqual(
    [t.status, t.assignee, t.priority, t.tenant, t.workspace, t.skills, t.max_runtime_seconds],
    ["todo", "coder", 2, "acme", "dir:/srv/repo", ["ts"], 600],
  );
  assert.deepEqual([t.review_required, t.idempotency_key, t.created_by, t.created], [
    true,
    "api-1",
    "planner",
    true,
  ]);
  const triaged = await runTool(TOOLS.create, personDeps(b.store), { title: "idea", triage: true });
  assert.equal(triaged.status, "triage");
});

Deno.test("a worker's follow-up inherits its tenant (none when the worker has none) and records its run", async () => {
  await using b = setup();
  const task = await add(b.store, "plan", { assignee: "planner" });
  const c = await claimId(b.store, task.id, "planner");
  const plain = await runTool(TOOLS.create, workerDeps(b.store, c, null), { title: "a" });
  assert.equal(plain.tenant, null);
  const inherited = await runTool(TOOLS.create, workerDeps(b.store, c, "acme"), { title: "b" });
  assert.equal(inherited.tenant, "acme");
  const chosen = await runTool(TOOLS.create, workerDeps(b.store, c, "acme"), {
    title: "c",
    tenant: "other",
  });
  assert.equal(chosen.tenant, "other");
  const created = (await b.store.showTask(plain.id)).events[0]!;
  assert.deepEqual([created.data["origin_task"], created.data["origin_run"]], [task.id, c.run.id]);
});

Deno.test("with caps a write confirmation leaves out the body it was given", async () => {
  await using b = setup();
  const deps = { ...personDeps(b.store), caps: AGENT_CAPS };
  const t = await runTool(TOOLS.create, deps, { title: "t", body: "b".repeat(5_000) });
  assert.ok(!("body" in t));
  assert.equal((await b.store.getTask(t.id)).body.length, 5_000);
});
