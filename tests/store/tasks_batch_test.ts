/** Store.createTasks: many creates in one transaction, each as createTask would make it. */
import assert from "node:assert/strict";
import { ValidationError } from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, eventKinds } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

conformance("createTasks() creates every input in order, as createTask() would", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "schema");
  const results = await b.store.createTasks([
    { title: "api", assignee: "coder", priority: 3, tenant: "acme" },
    { title: "ui", parents: [parent.id] },
    { title: "idea", triage: true },
  ], HUMAN);
  assert.deepEqual(results.map((r) => [r.task.title, r.task.status, r.created]), [
    ["api", "ready", true],
    ["ui", "todo", true],
    ["idea", "triage", true],
  ]);
  assert.equal(results[0]!.task.assignee, "coder");
  assert.equal(results[0]!.task.priority, 3);
  assert.equal(results[0]!.task.tenant, "acme");
  for (const r of results) {
    assert.deepEqual(await b.store.getTask(r.task.id), r.task);
    assert.deepEqual(await eventKinds(b.store, r.task.id), ["created"]);
  }
  assert.deepEqual((await b.store.showTask(results[1]!.task.id)).parents.map((p) => p.id), [
    parent.id,
  ]);
  assert.deepEqual(await b.store.createTasks([], HUMAN), []);
  assert.deepEqual(await b.store.checkInvariants(), []);
});

conformance("createTasks() writes nothing when one input is invalid", async (drv) => {
  await using b = await drv.fresh();
  await add(b.store, "before");
  const before = await boardState(b.store);
  await assert.rejects(
    b.store.createTasks([{ title: "fine" }, { title: "" }, { title: "also fine" }], HUMAN),
    ValidationError,
  );
  await assert.rejects(
    b.store.createTasks([{ title: "fine" }, { title: "orphan", parents: ["t_00000000"] }], HUMAN),
  );
  assert.deepEqual(await boardState(b.store), before);
  assert.equal((await b.store.listTasks()).length, 1);
});

conformance(
  "createTasks() keeps idempotency keys, within a batch and across calls",
  async (drv) => {
    await using b = await drv.fresh();
    const [first, again] = await b.store.createTasks([
      { title: "deploy", idempotency_key: "deploy-1" },
      { title: "deploy, again", idempotency_key: "deploy-1" },
    ], HUMAN);
    assert.equal(first!.created, true);
    assert.equal(again!.created, false);
    assert.equal(again!.task.id, first!.task.id);
    const [later] = await b.store.createTasks([{ title: "x", idempotency_key: "deploy-1" }], HUMAN);
    assert.deepEqual(later, { task: first!.task, created: false });
    assert.equal((await b.store.listTasks()).length, 1);
  },
);
