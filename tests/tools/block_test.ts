/** The MCP `block` tool: its kinds reach the store; bad kinds and fields are refused. */
import assert from "node:assert/strict";
import { setup } from "../_setup.ts";
import { add, claimId } from "../store/_helpers.ts";
import { snapshot } from "../store/sqlite/_raw.ts";
import { connect, workerDeps } from "./_mcp.ts";

Deno.test("the block tool takes a kind: a worker's dependency block waits on its task", async () => {
  await using b = setup();
  const api = await add(b.store, "api");
  const task = await add(b.store, "client", { assignee: "coder" });
  const claim = await claimId(b.store, task.id);
  await using s = await connect(workerDeps(b.store, claim));
  const t = await s.ok("block", { reason: "needs the api", kind: "dependency", on: api.id });
  assert.deepEqual(
    [t["status"], t["block_kind"], t["blocked_on"]],
    ["todo", "dependency", api.id],
  );
  const shown = await b.store.showTask(task.id);
  assert.deepEqual(shown.parents.map((p) => p.id), [api.id]);
  assert.equal(shown.runs[0]!.outcome, "blocked");
});

Deno.test("the block tool's transient block ends the run as transient, not a failure", async () => {
  await using b = setup();
  const task = await add(b.store, "fetch", { assignee: "coder" });
  const claim = await claimId(b.store, task.id);
  await using s = await connect(workerDeps(b.store, claim));
  const t = await s.ok("block", {
    reason: "rate limited",
    kind: "transient",
    retry_after_seconds: 120,
  });
  assert.equal(t["status"], "ready");
  assert.equal(t["consecutive_failures"], 0);
  assert.equal(t["retry_after"], new Date(b.clock.now() + 120_000).toISOString());
  assert.equal((await b.store.showTask(task.id)).runs[0]!.outcome, "transient");
});

Deno.test("the block tool refuses an unknown kind and a field of another kind, changing nothing", async () => {
  await using b = setup();
  const task = await add(b.store, "job", { assignee: "coder" });
  const claim = await claimId(b.store, task.id);
  await using s = await connect(workerDeps(b.store, claim));
  const before = snapshot(b.path);
  const kind = await s.error("block", { reason: "x", kind: "later" });
  assert.equal(kind.code, "invalid_input", kind.message);
  assert.match(kind.message, /kind/);
  const field = await s.error("block", { reason: "x", kind: "transient", profile: "gpu" });
  assert.equal(field.code, "invalid_input", field.message);
  assert.match(field.message, /profile goes with a capability block, not transient/);
  const missing = await s.error("block", { reason: "x", kind: "dependency" });
  assert.match(missing.message, /--on TASK_ID/);
  assert.deepEqual(snapshot(b.path), before);
});
