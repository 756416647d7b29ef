import assert from "node:assert/strict";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

conformance("a child stays todo until its parent is done, then becomes ready", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "schema");
  const child = await add(b.store, "api", { parents: [parent.id] });
  assert.equal(child.status, "todo");
  const c = await claimId(b.store, parent.id);
  assert.equal((await b.store.getTask(child.id)).status, "todo");
  await b.store.complete(parent.id, { summary: "tables made" }, worker(c));
  assert.equal((await b.store.getTask(child.id)).status, "ready");
  const derived = (await b.store.showTask(child.id)).events.at(-1)!;
  assert.equal(derived.kind, "derived");
  assert.deepEqual(derived.data, { from: "todo", to: "ready" });
});

conformance("a child with several parents waits for the last of them", async (drv) => {
  await using b = await drv.fresh();
  const p1 = await add(b.store, "p1");
  const p2 = await add(b.store, "p2");
  const child = await add(b.store, "child", { parents: [p1.id, p2.id] });
  await b.store.complete(p1.id, {}, HUMAN);
  assert.equal((await b.store.getTask(child.id)).status, "todo");
  await b.store.complete(p2.id, {}, HUMAN);
  assert.equal((await b.store.getTask(child.id)).status, "ready");
});

conformance(
  "a ready task is demoted to todo when a link gives it an unfinished parent",
  async (drv) => {
    await using b = await drv.fresh();
    const child = await add(b.store, "child");
    const parent = await add(b.store, "late parent");
    assert.equal(child.status, "ready");
    await b.store.link(parent.id, child.id, HUMAN);
    assert.equal((await b.store.getTask(child.id)).status, "todo");
    assert.equal((await b.store.claim({}, DISPATCHER))?.task.id, parent.id);
  },
);

conformance("linking a done parent leaves a ready child ready", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "parent");
  await b.store.complete(parent.id, {}, HUMAN);
  const child = await add(b.store, "child");
  await b.store.link(parent.id, child.id, HUMAN);
  assert.equal((await b.store.getTask(child.id)).status, "ready");
});

conformance(
  "a child becomes ready when the link to its unfinished parent is removed",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const child = await add(b.store, "child", { parents: [parent.id] });
    await b.store.unlink(parent.id, child.id, HUMAN);
    assert.equal((await b.store.getTask(child.id)).status, "ready");
  },
);

conformance("a parent archived after it was done still satisfies its children", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "parent");
  const child = await add(b.store, "child", { parents: [parent.id] });
  await b.store.complete(parent.id, {}, HUMAN);
  await b.store.archive(parent.id, HUMAN);
  assert.equal((await b.store.getTask(child.id)).status, "ready");
  const late = await add(b.store, "late child", { parents: [parent.id] });
  assert.equal(late.status, "ready");
  assert.deepEqual((await b.store.showTask(late.id)).waiting_on, []);
});

conformance("a cancelled parent keeps its child waiting, and showTask() names it", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "parent");
  const other = await add(b.store, "other");
  const child = await add(b.store, "child", { parents: [parent.id, other.id] });
  await b.store.complete(other.id, {}, HUMAN);
  await b.store.cancel(parent.id, "wrong approach", HUMAN);
  const shown = await b.store.showTask(child.id);
  assert.equal(shown.task.status, "todo");
  assert.deepEqual(shown.waiting_on.map((w) => ({ ...w })), [{
    id: parent.id,
    status: "archived",
  }]);
  await b.store.unlink(parent.id, child.id, HUMAN);
  assert.equal((await b.store.getTask(child.id)).status, "ready");
});

conformance("reopening a done parent demotes its ready child to todo", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "parent");
  const child = await add(b.store, "child", { parents: [parent.id] });
  await b.store.complete(parent.id, {}, HUMAN);
  assert.equal((await b.store.getTask(child.id)).status, "ready");
  assert.equal((await b.store.reopen(parent.id, HUMAN)).status, "ready");
  assert.equal((await b.store.getTask(child.id)).status, "todo");
});

conformance(
  "a child whose parent finishes before its not_before is scheduled, then ready when due",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const at = b.clock.now() + 3_600_000;
    const child = await add(b.store, "child", { parents: [parent.id], not_before: at });
    assert.equal(child.status, "todo");
    await b.store.complete(parent.id, {}, HUMAN);
    assert.equal((await b.store.getTask(child.id)).status, "scheduled");
    assert.equal(await b.store.claim({}, DISPATCHER), null);
    b.clock.advance(3_600_000);
    assert.equal(await b.store.promoteDue(HUMAN), 1);
    assert.equal((await b.store.getTask(child.id)).status, "ready");
  },
);

conformance("a scheduled task that gains an unfinished parent goes back to todo", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "later", { not_before: b.clock.now() + 1000 });
  const parent = await add(b.store, "parent");
  await b.store.link(parent.id, task.id, HUMAN);
  assert.equal((await b.store.getTask(task.id)).status, "todo");
  b.clock.advance(1000);
  await b.store.complete(parent.id, {}, HUMAN);
  assert.equal((await b.store.getTask(task.id)).status, "ready");
});

conformance("claim() promotes due scheduled tasks before choosing one", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "later", { not_before: b.clock.now() + 1000 });
  assert.equal(await b.store.claim({}, DISPATCHER), null);
  b.clock.advance(1000);
  assert.equal((await b.store.claim({}, DISPATCHER))?.task.id, task.id);
});

conformance(
  "unblock() and promote() return a task to todo while a parent is unfinished",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const held = await add(b.store, "held", { parents: [parent.id] });
    await b.store.block(held.id, "wait for legal", HUMAN);
    assert.equal((await b.store.unblock(held.id, HUMAN)).status, "todo");
    const idea = await add(b.store, "idea", { parents: [parent.id], triage: true });
    assert.equal((await b.store.promote(idea.id, HUMAN)).status, "todo");
    await b.store.complete(parent.id, {}, HUMAN);
    assert.equal((await b.store.getTask(held.id)).status, "ready");
    assert.equal((await b.store.getTask(idea.id)).status, "ready");
  },
);

conformance(
  "a done parent does not touch children that are not waiting (triage, blocked)",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const idea = await add(b.store, "idea", { parents: [parent.id], triage: true });
    const held = await add(b.store, "held", { parents: [parent.id] });
    await b.store.block(held.id, "hold", HUMAN);
    await b.store.complete(parent.id, {}, HUMAN);
    assert.equal((await b.store.getTask(idea.id)).status, "triage");
    assert.equal((await b.store.getTask(held.id)).status, "blocked");
  },
);
