import assert from "node:assert/strict";
import { ConflictError, NotFoundError } from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, claimId, eventKinds } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";
import { exitCodeOf } from "../../lib/cli/exit_codes.ts";

const conflict = (code: string) => (err: unknown) =>
  err instanceof ConflictError && err.code === code && exitCodeOf(err.code) === 1;

conformance(
  "link() makes a ready child wait for its new parent and records the link",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const child = await add(b.store, "child");
    const r = await b.store.link(parent.id, child.id, HUMAN);
    assert.deepEqual(r, {
      parent: parent.id,
      child: child.id,
      changed: true,
      child_status: "todo",
    });
    assert.equal((await b.store.getTask(child.id)).status, "todo");
    const events = (await b.store.showTask(child.id)).events;
    assert.deepEqual(events.map((e) => e.kind), ["created", "linked", "derived"]);
    assert.deepEqual(events[1]!.data, { parent: parent.id });
    assert.deepEqual(events[2]!.data, { from: "ready", to: "todo" });
  },
);

conformance("link() accepts id prefixes for both ends", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "parent");
  const child = await add(b.store, "child");
  const r = await b.store.link(parent.id.slice(2), child.id.slice(0, 8), HUMAN);
  assert.deepEqual([r.parent, r.child], [parent.id, child.id]);
});

conformance(
  "link() of a link that already exists reports changed:false and writes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const child = await add(b.store, "child", { parents: [parent.id] });
    const before = await boardState(b.store);
    assert.equal((await b.store.link(parent.id, child.id, HUMAN)).changed, false);
    assert.deepEqual(await boardState(b.store), before);
  },
);

conformance("link() refuses a self link with code self_link and changes nothing", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "loop");
  const before = await boardState(b.store);
  await assert.rejects(b.store.link(task.id, task.id, HUMAN), conflict("self_link"));
  assert.deepEqual(await boardState(b.store), before);
});

conformance("link() refuses a two-task cycle with code cycle and changes nothing", async (drv) => {
  await using b = await drv.fresh();
  const a = await add(b.store, "a");
  const c = await add(b.store, "c", { parents: [a.id] });
  const before = await boardState(b.store);
  await assert.rejects(b.store.link(c.id, a.id, HUMAN), conflict("cycle"));
  assert.deepEqual(await boardState(b.store), before);
});

conformance(
  "link() refuses a longer cycle, naming both tasks, and changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const a = await add(b.store, "a");
    const m = await add(b.store, "m", { parents: [a.id] });
    const z = await add(b.store, "z", { parents: [m.id] });
    const before = await boardState(b.store);
    const err = await b.store.link(z.id, a.id, HUMAN).catch((e: unknown) => e);
    assert.ok(conflict("cycle")(err));
    assert.match((err as Error).message, new RegExp(`"${z.id}" -> "${a.id}" would make a cycle`));
    assert.deepEqual(await boardState(b.store), before);
  },
);

conformance("link() allows a diamond: two paths to one ancestor are not a cycle", async (drv) => {
  await using b = await drv.fresh();
  const top = await add(b.store, "top");
  const left = await add(b.store, "left", { parents: [top.id] });
  const right = await add(b.store, "right", { parents: [top.id] });
  const bottom = await add(b.store, "bottom", { parents: [left.id] });
  assert.equal((await b.store.link(right.id, bottom.id, HUMAN)).changed, true);
  assert.equal((await b.store.link(top.id, bottom.id, HUMAN)).changed, true);
  assert.deepEqual(await b.store.checkInvariants(), []);
});

conformance("link() refuses archived tasks at either end with code archived", async (drv) => {
  await using b = await drv.fresh();
  const live = await add(b.store, "live");
  const old = await add(b.store, "old");
  await b.store.archive(old.id, HUMAN);
  const before = await boardState(b.store);
  await assert.rejects(b.store.link(old.id, live.id, HUMAN), conflict("archived"));
  await assert.rejects(b.store.link(live.id, old.id, HUMAN), conflict("archived"));
  assert.deepEqual(await boardState(b.store), before);
});

conformance(
  "link() leaves a running child running: only waiting tasks are re-derived",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const child = await add(b.store, "child");
    await claimId(b.store, child.id);
    await b.store.link(parent.id, child.id, HUMAN);
    assert.equal((await b.store.getTask(child.id)).status, "running");
  },
);

conformance("unlink() of the last unfinished parent makes the child ready", async (drv) => {
  await using b = await drv.fresh();
  const p1 = await add(b.store, "p1");
  const p2 = await add(b.store, "p2");
  const child = await add(b.store, "child", { parents: [p1.id, p2.id] });
  await b.store.unlink(p1.id, child.id, HUMAN);
  assert.equal((await b.store.getTask(child.id)).status, "todo");
  const r = await b.store.unlink(p2.id, child.id, HUMAN);
  assert.deepEqual(r, { parent: p2.id, child: child.id, changed: true, child_status: "ready" });
  assert.equal((await b.store.getTask(child.id)).status, "ready");
  assert.deepEqual(await eventKinds(b.store, child.id), [
    "created",
    "unlinked",
    "unlinked",
    "derived",
  ]);
});

conformance(
  "unlink() of tasks that are not linked is a NotFoundError and changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const a = await add(b.store, "a");
    const c = await add(b.store, "c");
    const before = await boardState(b.store);
    await assert.rejects(
      b.store.unlink(a.id, c.id, HUMAN),
      (err: unknown) =>
        err instanceof NotFoundError &&
        err.message === `Task "${c.id}" does not depend on "${a.id}"`,
    );
    assert.deepEqual(await boardState(b.store), before);
  },
);
