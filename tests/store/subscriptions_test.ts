import assert from "node:assert/strict";
import {
  ConflictError,
  NotFoundError,
  type Store,
  type SubscriptionInput,
  ValidationError,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";
import { exitCodeOf } from "../../lib/cli/exit_codes.ts";

const HOOK = "https://example.com/hook";

async function subscribe(store: Store, extra: Partial<SubscriptionInput> = {}) {
  return await store.addSubscription({ kind: "webhook", target: HOOK, ...extra }, HUMAN);
}

/** pending lists the kinds and task ids nextBatch would deliver now. */
async function pending(store: Store, id: number): Promise<string[]> {
  const batch = await store.nextBatch(id);
  assert.ok(batch);
  return batch.notifications.map((n) => `${n.event.kind}:${n.event.task_id ?? "-"}`);
}

/** deliverAll marks the whole pending batch delivered, as the deliverer does. */
async function deliverAll(store: Store, id: number) {
  const batch = (await store.nextBatch(id))!;
  for (const n of batch.notifications) await store.markDelivered(id, n.event.id);
  return await store.markDelivered(id, batch.through, 0);
}

conformance(
  "addSubscription() starts the cursor at the current head, so history is not replayed",
  async (drv) => {
    await using b = await drv.fresh();
    const a = await add(b.store, "old one");
    await b.store.comment(a.id, "old news", HUMAN);
    const head = await b.store.eventHead();
    assert.ok(head >= 2);
    const sub = await subscribe(b.store);
    assert.equal(sub.cursor, head);
    assert.equal(sub.state, "active");
    assert.deepEqual(await pending(b.store, sub.id), []);
    assert.deepEqual(await b.store.dueSubscriptions(b.clock.now()), []);
    const c = await add(b.store, "new one");
    assert.deepEqual(await pending(b.store, sub.id), [`created:${c.id}`]);
    assert.deepEqual((await b.store.dueSubscriptions(b.clock.now())).map((s) => s.id), [sub.id]);
  },
);

conformance("addSubscription() on an empty board starts at event 0", async (drv) => {
  await using b = await drv.fresh();
  assert.equal(await b.store.eventHead(), 0);
  const sub = await subscribe(b.store);
  assert.equal(sub.cursor, 0);
});

conformance(
  "addSubscription() refuses bad targets and filters with a clear message",
  async (drv) => {
    await using b = await drv.fresh();
    const cases: [SubscriptionInput, RegExp][] = [
      [{ kind: "webhook", target: "ftp://example.com/x" }, /must start with http:\/\/ or https/],
      [{ kind: "webhook", target: "example.com/hook" }, /is not a valid URL/],
      [{ kind: "webhook", target: "" }, /is not a valid URL/],
      [{ kind: "webhook", target: HOOK, secret: "" }, /secret is empty/],
      [{ kind: "command", target: "   " }, /command is empty/],
      [{ kind: "command", target: "echo\0x" }, /NUL/],
      [{ kind: "webhook", target: HOOK, tenant: "has space" }, /tenant may hold only/],
      [{ kind: "webhook", target: HOOK, kinds: ["Completed"] }, /event kind must be lowercase/],
    ];
    for (const [input, message] of cases) {
      await assert.rejects(b.store.addSubscription(input, HUMAN), (err) => {
        assert.ok(err instanceof ValidationError, String(err));
        assert.equal(exitCodeOf(err.code), 2);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(await b.store.listSubscriptions(), []);
  },
);

conformance(
  "addSubscription() resolves a task prefix and refuses unknown or finished tasks",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "watched");
    const sub = await subscribe(b.store, { task: t.id.slice(0, 6) });
    assert.equal(sub.task_id, t.id);
    await assert.rejects(subscribe(b.store, { task: "t_ffffffff" }), NotFoundError);
    await b.store.complete(t.id, {}, HUMAN);
    await assert.rejects(subscribe(b.store, { task: t.id }), (err) => {
      assert.ok(err instanceof ConflictError);
      assert.equal(err.code, "task_finished");
      assert.match(err.message, /it is done/);
      return true;
    });
  },
);

conformance("webhook secrets are stored for the deliverer but never listed", async (drv) => {
  await using b = await drv.fresh();
  const sub = await subscribe(b.store, { secret: "s3cret" });
  assert.equal(sub.has_secret, true);
  assert.ok(!JSON.stringify(await b.store.listSubscriptions()).includes("s3cret"));
  await add(b.store, "x");
  const [due] = await b.store.dueSubscriptions(b.clock.now());
  assert.equal(due?.secret, "s3cret");
});

conformance("nextBatch() filters by task, tenant, assignee and event kinds", async (drv) => {
  await using b = await drv.fresh();
  const all = await subscribe(b.store);
  const t1 = await add(b.store, "one", { tenant: "acme", assignee: "coder" });
  const t2 = await add(b.store, "two", { tenant: "other", assignee: "coder" });
  const t3 = await add(b.store, "three", { tenant: "acme", assignee: "writer" });
  const byTask = await subscribe(b.store, { task: t1.id });
  const byTenant = await subscribe(b.store, { tenant: "acme" });
  const byAssignee = await subscribe(b.store, { assignee: "coder" });
  const byKinds = await subscribe(b.store, { kinds: ["commented", "blocked"] });
  const combined = await subscribe(b.store, { tenant: "acme", kinds: ["commented"] });
  for (const t of [t1, t2, t3]) await b.store.comment(t.id, "hi", HUMAN);
  await b.store.block(t2.id, "question", HUMAN);

  assert.deepEqual(await pending(b.store, all.id), [
    `created:${t1.id}`,
    `created:${t2.id}`,
    `created:${t3.id}`,
    `commented:${t1.id}`,
    `commented:${t2.id}`,
    `commented:${t3.id}`,
    `blocked:${t2.id}`,
  ]);
  assert.deepEqual(await pending(b.store, byTask.id), [`commented:${t1.id}`]);
  assert.deepEqual(await pending(b.store, byTenant.id), [
    `commented:${t1.id}`,
    `commented:${t3.id}`,
  ]);
  assert.deepEqual(await pending(b.store, byAssignee.id), [
    `commented:${t1.id}`,
    `commented:${t2.id}`,
    `blocked:${t2.id}`,
  ]);
  assert.deepEqual(await pending(b.store, byKinds.id), [
    `commented:${t1.id}`,
    `commented:${t2.id}`,
    `commented:${t3.id}`,
    `blocked:${t2.id}`,
  ]);
  assert.deepEqual(await pending(b.store, combined.id), [
    `commented:${t1.id}`,
    `commented:${t3.id}`,
  ]);
});

conformance("nextBatch() carries the task as it is now, and null for board events", async (drv) => {
  await using b = await drv.fresh();
  const sub = await subscribe(b.store);
  const filtered = await subscribe(b.store, { kinds: ["created", "edited"] });
  const acme = await subscribe(b.store, { tenant: "acme" });
  const t = await add(b.store, "first title", { tenant: "acme" });
  await b.store.editTask(t.id, { title: "second title" }, HUMAN);
  await b.store.acquireDispatchLease({ id: "d1", host: "h", pid: 1 }, 60_000);
  b.clock.advance(120_000);
  await b.store.acquireDispatchLease({ id: "d2", host: "h", pid: 2 }, 60_000);
  const batch = (await b.store.nextBatch(sub.id))!;
  assert.deepEqual(batch.notifications.map((n) => n.event.kind), [
    "created",
    "edited",
    "dispatcher_takeover",
  ]);
  assert.equal(batch.notifications[0]!.task?.title, "second title");
  assert.equal(batch.notifications[0]!.task?.status, "ready");
  assert.equal("body" in batch.notifications[0]!.task!, false, "a summary, without the body");
  assert.equal(batch.notifications[2]!.task, null);
  assert.deepEqual(await pending(b.store, filtered.id), [`created:${t.id}`, `edited:${t.id}`]);
  assert.deepEqual(await pending(b.store, acme.id), [`created:${t.id}`, `edited:${t.id}`]);
});

conformance(
  "nextBatch() respects the limit, and `through` skips only what was read",
  async (drv) => {
    await using b = await drv.fresh();
    const sub = await subscribe(b.store, { kinds: ["commented"] });
    const t = await add(b.store, "t");
    for (let i = 0; i < 5; i++) await b.store.comment(t.id, `c${i}`, HUMAN);
    await b.store.editTask(t.id, { priority: 3 }, HUMAN);
    const first = (await b.store.nextBatch(sub.id, 2))!;
    assert.equal(first.notifications.length, 2);
    assert.equal(first.through, first.notifications[1]!.event.id);
    const rest = (await b.store.nextBatch(sub.id, 10))!;
    assert.equal(rest.notifications.length, 5);
    assert.equal(rest.through, await b.store.eventHead(), "a short batch reads up to the head");
    assert.equal(await b.store.nextBatch(999), null);
  },
);

conformance(
  "markDelivered() advances the cursor (never back), counts, and clears failures",
  async (drv) => {
    await using b = await drv.fresh();
    const sub = await subscribe(b.store);
    const t = await add(b.store, "t");
    await b.store.comment(t.id, "x", HUMAN);
    const [e1, e2] = (await b.store.nextBatch(sub.id))!.notifications.map((n) => n.event.id);
    await b.store.markFailed(sub.id, "HTTP 500", b.clock.now() + 5_000, false);
    let s = await b.store.markDelivered(sub.id, e1!);
    assert.equal(s?.cursor, e1);
    assert.equal(s?.delivered, 1);
    assert.equal(s?.failures, 0);
    assert.equal(s?.last_error, null);
    assert.equal(s?.next_attempt_at, null);
    assert.equal(s?.state, "active");
    s = await b.store.markDelivered(sub.id, e2!);
    s = await b.store.markDelivered(sub.id, e1!, 0);
    assert.equal(s?.cursor, e2, "the cursor never moves back");
    assert.equal(s?.delivered, 2);
    assert.deepEqual(await pending(b.store, sub.id), []);
    assert.equal(await b.store.markDelivered(999, 1), null);
  },
);

conformance(
  "markFailed() schedules the retry; a disabled subscription stops and says so",
  async (drv) => {
    await using b = await drv.fresh();
    const sub = await subscribe(b.store);
    await add(b.store, "t");
    const now = b.clock.now();
    let s = await b.store.markFailed(sub.id, "HTTP 502: bad gateway", now + 5_000, false);
    assert.equal(s?.state, "retrying");
    assert.equal(s?.failures, 1);
    assert.equal(s?.next_attempt_at, new Date(now + 5_000).toISOString());
    assert.deepEqual(await b.store.dueSubscriptions(now), [], "not due before its retry time");
    assert.equal((await b.store.dueSubscriptions(now + 5_000)).length, 1);

    s = await b.store.markFailed(sub.id, "HTTP 500: down", null, true);
    assert.equal(s?.state, "disabled");
    assert.equal(s?.failures, 2);
    assert.equal(s?.last_error, "HTTP 500: down");
    assert.equal(s?.disabled_at, new Date(now).toISOString());
    assert.deepEqual(await b.store.dueSubscriptions(now + 3_600_000), []);
    const last = (await b.store.eventsSince(0)).at(-1)!;
    assert.equal(last.kind, "subscription_disabled");
    assert.deepEqual(last.data, {
      subscription: sub.id,
      kind: "webhook",
      failures: 2,
      error: "HTTP 500: down",
    });

    const cursor = s!.cursor;
    s = await b.store.enableSubscription(sub.id);
    assert.equal(s.state, "active");
    assert.equal(s.failures, 0);
    assert.equal(s.cursor, cursor, "enabling keeps the cursor: missed events come next");
    assert.equal((await b.store.dueSubscriptions(now)).length, 1);
    await assert.rejects(b.store.enableSubscription(999), NotFoundError);
  },
);

conformance(
  "a task subscription stays through blocked and failed attempts and ends on done",
  async (drv) => {
    await using b = await drv.fresh({ failureLimit: 1 });
    const t = await add(b.store, "flaky", { assignee: "coder" });
    const sub = await subscribe(b.store, { task: t.id });
    // blocked by the worker, then unblocked
    let c = await claimId(b.store, t.id);
    await b.store.block(t.id, "which database?", worker(c));
    assert.equal((await deliverAll(b.store, sub.id))?.state, "active");
    await b.store.unblock(t.id, HUMAN);
    // crashed: at failureLimit 1 the failure blocks the task
    c = await claimId(b.store, t.id);
    await b.store.endRun(c.run.id, { outcome: "crashed", error: "exit 1" }, DISPATCHER);
    assert.equal((await b.store.getTask(t.id)).status, "blocked");
    assert.equal((await deliverAll(b.store, sub.id))?.state, "active");
    await b.store.unblock(t.id, HUMAN);
    c = await claimId(b.store, t.id);
    await b.store.complete(t.id, { summary: "ok" }, worker(c));

    // Not ended before the completion is delivered...
    const batch = (await b.store.nextBatch(sub.id))!;
    const kinds = batch.notifications.map((n) => n.event.kind);
    assert.deepEqual(kinds, ["unblocked", "claimed", "completed"]);
    assert.equal(
      (await b.store.markDelivered(sub.id, batch.notifications[1]!.event.id))?.state,
      "active",
    );
    // ...and ended once it is.
    const ended = await b.store.markDelivered(sub.id, batch.notifications[2]!.event.id);
    assert.equal(ended?.state, "ended");
    assert.equal(ended?.ended_at, new Date(b.clock.now()).toISOString());
    assert.deepEqual(await b.store.dueSubscriptions(b.clock.now()), []);
    await b.store.comment(t.id, "after the end", HUMAN);
    assert.deepEqual(await b.store.dueSubscriptions(b.clock.now()), []);
    await assert.rejects(b.store.enableSubscription(sub.id), /it ended/);
  },
);

conformance("a task subscription ends when its task is archived", async (drv) => {
  await using b = await drv.fresh();
  const t = await add(b.store, "dropped");
  const sub = await subscribe(b.store, { task: t.id });
  await b.store.cancel(t.id, "not needed", HUMAN);
  assert.equal((await deliverAll(b.store, sub.id))?.state, "ended");
});

conformance(
  "a task done then reopened before delivery does not end its subscription",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "again");
    const sub = await subscribe(b.store, { task: t.id });
    await b.store.complete(t.id, {}, HUMAN);
    await b.store.reopen(t.id, HUMAN);
    const batch = (await b.store.nextBatch(sub.id))!;
    assert.deepEqual(batch.notifications.map((n) => n.event.kind), ["completed", "reopened"]);
    assert.equal(
      (await b.store.markDelivered(sub.id, batch.notifications[0]!.event.id))?.state,
      "active",
    );
    assert.equal((await b.store.markDelivered(sub.id, batch.through, 1))?.state, "active");
    await b.store.complete(t.id, {}, HUMAN);
    await b.store.comment(t.id, "a note after done", HUMAN);
    const last = (await b.store.nextBatch(sub.id))!;
    assert.deepEqual(last.notifications.map((n) => n.event.kind), ["completed", "commented"]);
    assert.equal(
      (await b.store.markDelivered(sub.id, last.notifications[0]!.event.id))?.state,
      "active",
    );
    assert.equal(
      (await b.store.markDelivered(sub.id, last.notifications[1]!.event.id))?.state,
      "ended",
    );
  },
);

conformance(
  "a task subscription filtered to other kinds still ends once the cursor passes done",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "quiet");
    const sub = await subscribe(b.store, { task: t.id, kinds: ["commented"] });
    await b.store.complete(t.id, {}, HUMAN);
    const batch = (await b.store.nextBatch(sub.id))!;
    assert.deepEqual(batch.notifications, []);
    assert.equal((await b.store.markDelivered(sub.id, batch.through, 0))?.state, "ended");
  },
);

conformance("an unfiltered subscription never ends", async (drv) => {
  await using b = await drv.fresh();
  const sub = await subscribe(b.store);
  const t = await add(b.store, "t");
  await b.store.complete(t.id, {}, HUMAN);
  await b.store.archive(t.id, HUMAN);
  assert.equal((await deliverAll(b.store, sub.id))?.state, "active");
});

conformance("removeSubscription() deletes it; an unknown id is NotFoundError", async (drv) => {
  await using b = await drv.fresh();
  const a = await subscribe(b.store);
  const c = await b.store.addSubscription({ kind: "command", target: "cat" }, HUMAN);
  assert.equal((await b.store.removeSubscription(a.id)).id, a.id);
  assert.deepEqual((await b.store.listSubscriptions()).map((s) => s.id), [c.id]);
  await assert.rejects(b.store.removeSubscription(a.id), (err) => {
    assert.ok(err instanceof NotFoundError);
    assert.equal(exitCodeOf(err.code), 1);
    assert.match(err.message, new RegExp(`No subscription ${a.id}`));
    return true;
  });
});
