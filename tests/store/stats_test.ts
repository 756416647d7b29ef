import assert from "node:assert/strict";
import { STATUSES } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const zero = Object.fromEntries(STATUSES.map((s) => [s, 0]));

conformance("stats() of an empty board is all zeroes", async (drv) => {
  await using b = await drv.fresh();
  assert.deepEqual(await b.store.stats(), {
    total: 0,
    by_status: zero,
    runs: { open: 0, total: 0, by_outcome: {} },
    oldest_ready_at: null,
    completed_last_24h: 0,
  });
  assert.deepEqual(await b.store.assignees(), []);
});

conformance(
  "stats() counts tasks by status, runs by outcome, the oldest ready task and recent completions",
  async (drv) => {
    await using b = await drv.fresh();
    const old = await add(b.store, "old ready");
    b.clock.advance(60_000);
    await add(b.store, "new ready");
    await add(b.store, "idea", { triage: true });
    const crashy = await add(b.store, "crashy", { priority: 10 });
    const c1 = await claimId(b.store, crashy.id);
    await b.store.endRun(c1.run.id, { outcome: "crashed" }, DISPATCHER);
    const c2 = await claimId(b.store, crashy.id);
    const finished = await add(b.store, "finished");
    await b.store.complete(finished.id, {}, HUMAN);
    const s = await b.store.stats();
    assert.equal(s.total, 5);
    assert.deepEqual(s.by_status, { ...zero, ready: 2, triage: 1, running: 1, done: 1 });
    assert.deepEqual(s.runs, { open: 1, total: 2, by_outcome: { crashed: 1 } });
    assert.equal(s.oldest_ready_at, old.updated_at);
    assert.equal(s.completed_last_24h, 1);
    assert.ok(c2.run.open);
    b.clock.advance(86_400_001);
    assert.equal((await b.store.stats()).completed_last_24h, 0);
  },
);

conformance("stats() for one tenant counts only that tenant's tasks and runs", async (drv) => {
  await using b = await drv.fresh();
  const a = await add(b.store, "a", { tenant: "acme" });
  await add(b.store, "g", { tenant: "globex" });
  await add(b.store, "none");
  await claimId(b.store, a.id);
  const s = await b.store.stats("acme");
  assert.equal(s.total, 1);
  assert.deepEqual(s.by_status, { ...zero, running: 1 });
  assert.deepEqual(s.runs, { open: 1, total: 1, by_outcome: {} });
  assert.equal(s.oldest_ready_at, null);
  const g = await b.store.stats("globex");
  assert.deepEqual([g.total, g.runs.total, g.by_status.ready], [1, 0, 1]);
  assert.equal((await b.store.stats()).total, 3);
});

conformance(
  "assignees() lists each assignee with its tasks by status, busiest first",
  async (drv) => {
    await using b = await drv.fresh();
    await add(b.store, "c1", { assignee: "coder" });
    await add(b.store, "c2", { assignee: "coder", triage: true });
    await add(b.store, "c3", { assignee: "coder" });
    await add(b.store, "w1", { assignee: "writer" });
    await add(b.store, "r1", { assignee: "reviewer" });
    await add(b.store, "u1");
    await add(b.store, "u2");
    assert.deepEqual(await b.store.assignees(), [
      { assignee: "coder", total: 3, by_status: { ready: 2, triage: 1 } },
      { assignee: null, total: 2, by_status: { ready: 2 } },
      { assignee: "reviewer", total: 1, by_status: { ready: 1 } },
      { assignee: "writer", total: 1, by_status: { ready: 1 } },
    ]);
  },
);
