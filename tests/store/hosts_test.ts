/**
 * Several hosts on one board: one dispatcher per host runs (a second on the same host stands
 * by), every host runs at once, one of them leads the board and the lead passes on when its
 * lease expires; a profile's cap holds across every host's open runs, in the claim itself.
 */
import assert from "node:assert/strict";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const LEASE = 15_000;

conformance(
  "dispatchers of two hosts both run, one leads, a second on one host stands by",
  async (drv) => {
    await using b = await drv.fresh();
    const me = (id: string, host: string) => ({ id, host, pid: 100 });
    const a = await b.store.acquireDispatchLease(me("a", "mac"), LEASE);
    assert.deepEqual([a.active, a.leader], [true, true]);
    const c = await b.store.acquireDispatchLease(me("c", "gpu"), LEASE);
    assert.deepEqual([c.active, c.leader, c.holder], [true, false, null], "another host runs too");
    const a2 = await b.store.acquireDispatchLease(me("a2", "mac"), LEASE);
    assert.deepEqual([a2.active, a2.leader, a2.holder?.id], [false, false, "a"], "same host");

    // The leader stops ticking: its host's standby takes over its host, and the lead goes to
    // whichever running dispatcher asks first once the lease has expired.
    b.clock.advance(LEASE / 3);
    assert.equal((await b.store.acquireDispatchLease(me("c", "gpu"), LEASE)).leader, false);
    b.clock.advance(LEASE);
    const led = await b.store.acquireDispatchLease(me("c", "gpu"), LEASE);
    assert.deepEqual([led.active, led.leader, led.ledFrom], [true, true, "a"]);
    const took = await b.store.acquireDispatchLease(me("a2", "mac"), LEASE);
    assert.deepEqual([took.active, took.leader, took.tookOverFrom], [true, false, "a"]);
    // The old dispatcher of the mac comes back: it stands by, and leads nothing.
    const back = await b.store.acquireDispatchLease(me("a", "mac"), LEASE);
    assert.deepEqual([back.active, back.leader, back.holder?.id], [false, false, "a2"]);

    const seen = await b.store.dispatchers(3_600_000);
    const leaders = seen.filter((d) => d.active);
    assert.deepEqual(leaders.map((d) => d.id), ["c"], "one leader");
  },
);

conformance("a released leader hands the lead on at once", async (drv) => {
  await using b = await drv.fresh();
  const me = (id: string, host: string) => ({ id, host, pid: 100 });
  await b.store.acquireDispatchLease(me("a", "mac"), LEASE);
  assert.equal((await b.store.acquireDispatchLease(me("c", "gpu"), LEASE)).leader, false);
  await b.store.releaseDispatchLease("a");
  const c = await b.store.acquireDispatchLease(me("c", "gpu"), LEASE);
  assert.deepEqual([c.active, c.leader], [true, true]);
});

conformance("a profile's cap counts every host's open runs, in the claim itself", async (drv) => {
  await using b = await drv.fresh();
  for (let i = 0; i < 3; i++) await add(b.store, `review ${i}`, { assignee: "reviewer" });
  await add(b.store, "code", { assignee: "coder", priority: -1 });
  const caps = { reviewer: 2, coder: 1 };
  const first = await b.store.claim({ assignees: ["reviewer"], caps, host: "mac" }, DISPATCHER);
  const second = await b.store.claim({ assignees: ["reviewer"], caps, host: "gpu" }, DISPATCHER);
  assert.equal(first?.task.assignee, "reviewer");
  assert.equal(second?.task.assignee, "reviewer");
  // Two reviewer runs are open (one per host): a third host gets none, whatever it asks for.
  assert.equal(
    await b.store.claim({ assignees: ["reviewer"], caps, host: "box" }, DISPATCHER),
    null,
  );
  const other = await b.store.claim(
    { assignees: ["reviewer", "coder"], caps, host: "box" },
    DISPATCHER,
  );
  assert.equal(other?.task.assignee, "coder", "a profile under its cap is still claimed");
  // Without caps the claim is as before (a person's `kanban claim`).
  assert.equal(
    (await b.store.claim({ assignees: ["reviewer"], host: "box" }, DISPATCHER))?.task.assignee,
    "reviewer",
  );
  // Three reviewer runs are open now; one more reviewer task waits until two have ended.
  await add(b.store, "review 4", { assignee: "reviewer" });
  const ask = () => b.store.claim({ assignees: ["reviewer"], caps, host: "box" }, DISPATCHER);
  await b.store.complete(first!.task.id, { summary: "ok" }, { name: "w", token: first!.token });
  assert.equal(await ask(), null, "still two open");
  await b.store.complete(second!.task.id, { summary: "ok" }, { name: "w", token: second!.token });
  assert.equal((await ask())?.task.title, "review 4", "a run that ends frees its place");
});

conformance(
  "a claim with the host's labels takes only tasks whose needs it offers",
  async (drv) => {
    await using b = await drv.fresh();
    const mac = await add(b.store, "ios build", {
      assignee: "coder",
      needs: ["macos"],
      priority: 3,
    });
    const gpu = await add(b.store, "train", {
      assignee: "coder",
      needs: ["gpu", "cuda"],
      priority: 2,
    });
    const any = await add(b.store, "docs", { assignee: "coder", priority: 1 });
    const take = (labels: string[]) =>
      b.store.claim({ assignees: ["coder"], labels, host: "h" }, DISPATCHER);
    assert.equal((await take(["gpu"]))?.task.id, any.id, "gpu alone is not gpu and cuda");
    assert.equal(await take([]), null, "a host offering nothing runs only tasks needing nothing");
    assert.equal((await take(["cuda", "gpu", "x"]))?.task.id, gpu.id);
    assert.equal((await take(["macos"]))?.task.id, mac.id);
    await assert.rejects(
      b.store.createTask({ title: "bad", needs: ["no spaces"] }, { name: "t" }),
      /label/,
    );
  },
);

conformance("editTask() replaces a task's needs; the next claim follows them", async (drv) => {
  await using b = await drv.fresh();
  const t = await add(b.store, "ios build", { assignee: "coder", needs: ["macos"] });
  const take = (labels: string[]) =>
    b.store.claim({ assignees: ["coder"], labels, host: "h" }, DISPATCHER);
  const edited = await b.store.editTask(t.id, { needs: ["gpu", "arm", "gpu"] }, HUMAN);
  assert.deepEqual(edited.needs, ["arm", "gpu"], "distinct and sorted, as create stores them");
  assert.equal(await take(["macos"]), null, "the old label no longer takes it");
  await assert.rejects(b.store.editTask(t.id, { needs: ["no spaces"] }, HUMAN), /label/);
  assert.deepEqual(
    (await b.store.getTask(t.id)).needs,
    ["arm", "gpu"],
    "a refusal changes nothing",
  );
  const { events } = await b.store.showTask(t.id);
  assert.deepEqual(events.filter((e) => e.kind === "edited").map((e) => e.data), [{
    fields: ["needs"],
  }]);
  await b.store.editTask(t.id, { needs: [] }, HUMAN);
  assert.equal((await take([]))?.task.id, t.id, "needing nothing, any host takes it");
});
