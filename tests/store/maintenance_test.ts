import assert from "node:assert/strict";
import { SCHEMA_VERSION, ValidationError } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, boardState, claimId, eventKinds, finishedParent, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const DAY = 86_400_000;

conformance(
  "gcCandidates() lists archived and done tasks finished before the cutoff, nothing else",
  async (drv) => {
    await using b = await drv.fresh();
    const s = b.store;
    const oldArchived = await add(s, "old archived", { workspace: "dir:/srv/shared" });
    await s.archive(oldArchived.id, HUMAN);
    const oldDone = await add(s, "old done");
    await s.complete(oldDone.id, {}, HUMAN);
    const cancelled = await add(s, "cancelled");
    await s.cancel(cancelled.id, "not needed", HUMAN);
    b.clock.advance(31 * DAY);
    const newArchived = await add(s, "new archived");
    await s.archive(newArchived.id, HUMAN);
    const newDone = await add(s, "new done");
    await s.complete(newDone.id, {}, HUMAN);
    await add(s, "ready");
    await claimId(s, (await add(s, "running")).id);

    const found = await s.gcCandidates(30 * DAY);
    assert.equal(found.cutoff, new Date(b.clock.now() - 30 * DAY).toISOString());
    assert.deepEqual(
      found.tasks.map((t) => [t.id, t.status, t.archived_from, t.workspace]).sort(),
      [
        [oldArchived.id, "archived", "ready", "dir:/srv/shared"],
        [oldDone.id, "done", null, "scratch"],
        [cancelled.id, "archived", "ready", "scratch"],
      ].sort(),
    );
    const all = await s.gcCandidates(0);
    assert.equal(all.tasks.length, 5);
  },
);

conformance("gcCandidates() and pruneEvents() refuse a negative age", async (drv) => {
  await using b = await drv.fresh();
  await assert.rejects(b.store.gcCandidates(-1), ValidationError);
  await assert.rejects(b.store.pruneEvents(-1), ValidationError);
  await assert.rejects(b.store.pruneEvents(1.5), ValidationError);
});

conformance(
  "pruneEvents() keeps a finished task's created and completed events, and its child's handoff",
  async (drv) => {
    await using b = await drv.fresh();
    const { parent, child } = await finishedParent(b.store);
    const before = await eventKinds(b.store, parent.id);
    assert.deepEqual(before, ["created", "claimed", "heartbeat", "commented", "completed"]);
    const contextBefore = await b.store.context(child.id);
    b.clock.advance(31 * DAY);

    const r = await b.store.pruneEvents(30 * DAY);
    assert.deepEqual(r, {
      dry_run: false,
      cutoff: new Date(b.clock.now() - 30 * DAY).toISOString(),
      tasks: 1,
      events: 3,
    });
    assert.deepEqual(await eventKinds(b.store, parent.id), ["created", "completed"]);
    // The child (ready, not finished) keeps all of its events.
    assert.deepEqual(await eventKinds(b.store, child.id), ["created", "derived"]);
    const after = await b.store.context(child.id);
    assert.deepEqual(after.parents, contextBefore.parents);
    assert.equal(after.parents[0]!.summary, "users and sessions tables");
    assert.equal(after.parents[0]!.metadata, '{"tables":2}');
    // Comments are not events: the conversation stays.
    assert.equal((await b.store.showTask(parent.id)).comments.length, 1);
    assert.deepEqual(await b.store.checkInvariants(), []);
    // A second pass finds nothing more to do.
    assert.equal((await b.store.pruneEvents(30 * DAY)).events, 0);
  },
);

conformance(
  "pruneEvents() with dryRun counts what it would delete and changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    await finishedParent(b.store);
    const archived = await add(b.store, "put away");
    await b.store.comment(archived.id, "obsolete", HUMAN);
    await b.store.archive(archived.id, HUMAN);
    b.clock.advance(DAY);
    const before = await boardState(b.store);
    const r = await b.store.pruneEvents(DAY, true);
    assert.equal(r.dry_run, true);
    assert.equal(r.tasks, 2);
    assert.equal(r.events, 5); // parent: claimed, heartbeat, commented; archived: commented, archived
    assert.deepEqual(await boardState(b.store), before);
    assert.equal((await b.store.pruneEvents(DAY)).events, 5);
  },
);

conformance(
  "pruneEvents() leaves tasks finished after the cutoff, and unfinished tasks, alone",
  async (drv) => {
    await using b = await drv.fresh();
    const s = b.store;
    const { parent } = await finishedParent(s);
    const running = await add(s, "running");
    const c = await claimId(s, running.id);
    b.clock.advance(10 * DAY);
    await s.heartbeat(running.id, worker(c));
    const blocked = await add(s, "blocked");
    await s.block(blocked.id, "which database?", HUMAN);
    const before = await boardState(b.store);
    assert.equal((await s.pruneEvents(30 * DAY)).events, 0);
    assert.deepEqual(await boardState(b.store), before);
    b.clock.advance(25 * DAY); // the parent finished 35 days ago; the rest never finished
    const r = await s.pruneEvents(30 * DAY);
    assert.deepEqual([r.tasks, r.events], [1, 3]);
    assert.deepEqual(await eventKinds(s, parent.id), ["created", "completed"]);
    assert.deepEqual(await eventKinds(s, running.id), ["created", "claimed", "heartbeat"]);
    assert.deepEqual(await eventKinds(s, blocked.id), ["created", "blocked"]);
  },
);

conformance(
  "pruneEvents() keeps the latest completed event of a task completed twice",
  async (drv) => {
    await using b = await drv.fresh();
    const s = b.store;
    const parent = await add(s, "parent");
    const child = await add(s, "child", { parents: [parent.id] });
    await s.complete(parent.id, { summary: "first try" }, HUMAN);
    await s.reopen(parent.id, HUMAN);
    await s.complete(parent.id, { summary: "second try" }, HUMAN);
    await s.archive(parent.id, HUMAN); // archived after done: still satisfies the child
    b.clock.advance(2 * DAY);
    await s.pruneEvents(DAY);
    const events = (await s.showTask(parent.id)).events;
    assert.deepEqual(events.map((e) => e.kind), ["created", "completed"]);
    assert.equal(events[1]!.data["summary"], "second try");
    assert.equal((await s.context(child.id)).parents[0]!.summary, "second try");
  },
);

conformance("pruneEvents() keeps events a subscription has not delivered yet", async (drv) => {
  await using b = await drv.fresh();
  const s = b.store;
  const parent = await add(s, "schema", { assignee: "coder" });
  // A subscription to the task; its cursor starts at the head (the task's created event).
  const sub = await s.addSubscription(
    { kind: "command", target: "/bin/true", task: parent.id },
    HUMAN,
  );
  const c = await claimId(s, parent.id);
  await s.heartbeat(parent.id, worker(c), "halfway");
  await s.comment(parent.id, "made the tables", worker(c));
  await s.complete(parent.id, { summary: "users and sessions tables" }, worker(c));
  const ids = (await s.showTask(parent.id)).events.map((e) => e.id);
  // It has delivered up to the claim event only.
  await s.markDelivered(sub.id, ids[1]!);
  b.clock.advance(2 * DAY);
  const r = await s.pruneEvents(DAY);
  assert.equal(r.events, 1);
  assert.deepEqual(await eventKinds(s, parent.id), [
    "created",
    "heartbeat",
    "commented",
    "completed",
  ]);
  // Delivered through the completion of its done task, the subscription ends.
  const ended = await s.markDelivered(sub.id, ids.at(-1)!);
  assert.notEqual(ended?.ended_at, null);
  assert.equal((await s.pruneEvents(DAY)).events, 2);
});

conformance(
  "doctor() finds nothing wrong on a healthy board with running, done and archived tasks",
  async (drv) => {
    await using b = await drv.fresh();
    await finishedParent(b.store);
    await claimId(b.store, (await add(b.store, "running")).id);
    await b.store.cancel((await add(b.store, "gone")).id, undefined, HUMAN);
    const r = await b.store.doctor();
    assert.deepEqual(r, {
      ok: true,
      path: b.store.where,
      schema_version: SCHEMA_VERSION,
      problems: [],
      warnings: [],
    });
  },
);

conformance(
  "doctor() warns about open runs whose lease expired long ago, without failing",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "job");
    const c = await claimId(b.store, t.id); // lease 120 s
    b.clock.advance(120_000 + 10 * 60_000);
    assert.deepEqual((await b.store.doctor()).warnings, []); // expired 10 min ago: not yet
    b.clock.advance(6 * 60_000);
    const r = await b.store.doctor();
    assert.equal(r.ok, true);
    assert.equal(r.warnings.length, 1);
    const w = r.warnings[0]!;
    assert.equal(w.check, "open runs whose lease expired long ago");
    assert.deepEqual(w.ids, [c.run.id]);
    assert.match(w.message ?? "", new RegExp(`run ${c.run.id} of task ${t.id}`));
    assert.match(w.hint ?? "", /kanban dispatch/);
    assert.equal((await b.store.doctor({ staleAfterMs: 60 * 60_000 })).warnings.length, 0);
    await b.store.endRun(c.run.id, { outcome: "lost" }, DISPATCHER);
    assert.deepEqual((await b.store.doctor()).warnings, []);
  },
);
