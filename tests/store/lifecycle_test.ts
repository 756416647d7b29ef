import assert from "node:assert/strict";
import {
  ConflictError,
  IllegalTransitionError,
  StaleLeaseError,
  ValidationError,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, boardState, claimId, eventKinds, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const stale = (err: unknown) => err instanceof StaleLeaseError && err.code === "stale_lease";

conformance(
  "complete() by the worker records summary, metadata and result, and closes the run",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "schema", { assignee: "coder" });
    const c = await claimId(b.store, task.id);
    b.clock.advance(60_000);
    const done = await b.store.complete(task.id, {
      summary: "made 3 tables",
      metadata: { tables: ["a", "b", "c"], migrations: 1 },
      result: "schema.sql",
    }, worker(c));
    assert.equal(done.status, "done");
    assert.equal(done.completed_at, iso(b.clock.now()));
    assert.equal(done.result, "schema.sql");
    assert.equal(done.current_run_id, null);
    const shown = await b.store.showTask(task.id);
    const run = shown.runs[0]!;
    assert.equal(run.outcome, "completed");
    assert.equal(run.summary, "made 3 tables");
    assert.deepEqual(run.metadata, { tables: ["a", "b", "c"], migrations: 1 });
    assert.equal(run.duration_ms, 60_000);
    const ev = shown.events.at(-1)!;
    assert.equal(ev.kind, "completed");
    assert.equal(ev.run_id, c.run.id);
    assert.equal(ev.actor, "coder-1");
    assert.deepEqual(ev.data, {
      from: "running",
      to: "done",
      summary: "made 3 tables",
      metadata: { tables: ["a", "b", "c"], migrations: 1 },
      result: "schema.sql",
    });
  },
);

conformance(
  "complete() of a task that requires review moves it to review, not done",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "risky", { review_required: true });
    const child = await add(b.store, "next", { parents: [task.id] });
    const c = await claimId(b.store, task.id);
    const t = await b.store.complete(task.id, { summary: "please check" }, worker(c));
    assert.equal(t.status, "review");
    assert.equal(t.completed_at, null);
    assert.equal((await b.store.getTask(child.id)).status, "todo");
  },
);

conformance("review approve moves review to done and makes the children ready", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "risky", { review_required: true });
  const child = await add(b.store, "next", { parents: [task.id] });
  const c = await claimId(b.store, task.id);
  await b.store.complete(task.id, { summary: "please check" }, worker(c));
  b.clock.advance(1000);
  const t = await b.store.review(task.id, "approve", "looks right", HUMAN);
  assert.equal(t.status, "done");
  assert.equal(t.completed_at, iso(b.clock.now()));
  assert.equal((await b.store.getTask(child.id)).status, "ready");
  const ev = (await b.store.showTask(task.id)).events.at(-1)!;
  assert.equal(ev.kind, "approved");
  assert.deepEqual(ev.data, { from: "review", to: "done", reason: "looks right" });
});

conformance(
  "review reject returns the task to the queue with the reason as a comment",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "risky", { review_required: true });
    const c = await claimId(b.store, task.id);
    await b.store.complete(task.id, { result: "v1" }, worker(c));
    const t = await b.store.review(task.id, "reject", "tests are missing", HUMAN);
    assert.equal(t.status, "ready");
    assert.equal(t.result, null);
    const shown = await b.store.showTask(task.id);
    assert.deepEqual(shown.comments.map((cm) => [cm.author, cm.body]), [
      ["alice", "Review rejected: tests are missing"],
    ]);
    assert.deepEqual(shown.events.slice(-2).map((e) => e.kind), ["rejected", "commented"]);
    assert.deepEqual(shown.events.at(-2)!.data, {
      from: "review",
      to: "ready",
      reason: "tests are missing",
    });
    assert.equal((await b.store.claim({}, DISPATCHER))?.task.id, task.id);
  },
);

conformance(
  "review reject without a reason adds no comment; a blank reason is refused",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "risky", { review_required: true });
    await b.store.complete(task.id, {}, HUMAN);
    const before = await boardState(b.store);
    await assert.rejects(b.store.review(task.id, "reject", "  ", HUMAN), ValidationError);
    assert.deepEqual(await boardState(b.store), before);
    await b.store.review(task.id, "reject", undefined, HUMAN);
    assert.deepEqual((await b.store.showTask(task.id)).comments, []);
  },
);

conformance(
  "block() by the worker parks the task with its question and closes the run",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "ask");
    const c = await claimId(b.store, task.id);
    const t = await b.store.block(task.id, "  Which database, Postgres or SQLite?  ", worker(c));
    assert.equal(t.status, "blocked");
    assert.equal(t.blocked_reason, "Which database, Postgres or SQLite?");
    assert.equal(t.current_run_id, null);
    const run = (await b.store.listRuns(task.id))[0]!;
    assert.equal(run.outcome, "blocked");
    assert.equal(run.error, "Which database, Postgres or SQLite?");
    const ev = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.equal(ev.kind, "blocked");
    assert.equal(ev.run_id, c.run.id);
  },
);

conformance("block() needs a reason", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "ask");
  const c = await claimId(b.store, task.id);
  const before = await boardState(b.store);
  for (const reason of ["", "   "]) {
    await assert.rejects(
      b.store.block(task.id, reason, worker(c)),
      (err: unknown) => err instanceof ValidationError && /block reason is empty/.test(err.message),
    );
  }
  assert.deepEqual(await boardState(b.store), before);
});

conformance(
  "block() by a person holds a waiting task, and unblock() returns it to the queue",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "hold me");
    const held = await b.store.block(task.id, "waiting for budget", HUMAN);
    assert.equal(held.status, "blocked");
    assert.equal(await b.store.claim({}, DISPATCHER), null);
    const back = await b.store.unblock(task.id, HUMAN);
    assert.equal(back.status, "ready");
    assert.equal(back.blocked_reason, null);
    assert.deepEqual(await eventKinds(b.store, task.id), ["created", "blocked", "unblocked"]);
  },
);

conformance("unblock() resets the failure count so the task runs again at once", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "broken");
  for (let i = 0; i < 3; i++) {
    const c = await claimId(b.store, task.id);
    await b.store.endRun(c.run.id, { outcome: "crashed" }, DISPATCHER);
  }
  const blocked = await b.store.getTask(task.id);
  assert.equal(blocked.status, "blocked");
  assert.equal(blocked.consecutive_failures, 3);
  const t = await b.store.unblock(task.id, HUMAN);
  assert.equal(t.status, "ready");
  assert.equal(t.consecutive_failures, 0);
  assert.equal(t.retry_after, null);
  assert.equal(t.blocked_reason, null);
  assert.equal(t.last_error, "crashed", "the last error stays visible");
  assert.equal((await b.store.claim({}, DISPATCHER))?.task.id, task.id);
});

for (
  const [verb, outcome, status] of [
    ["complete", "completed_by_human", "done"],
    ["block", "blocked_by_human", "blocked"],
    ["cancel", "cancelled", "archived"],
    ["archive", "archived", "archived"],
  ] as const
) {
  conformance(
    `${verb}() by a person of a running task closes its run as ${outcome} and fences out the worker`,
    async (drv) => {
      await using b = await drv.fresh();
      const task = await add(b.store, "running");
      const c = await claimId(b.store, task.id);
      const t = verb === "complete"
        ? await b.store.complete(task.id, { summary: "did it myself" }, HUMAN)
        : verb === "block"
        ? await b.store.block(task.id, "stop, wrong repo", HUMAN)
        : verb === "cancel"
        ? await b.store.cancel(task.id, "not needed", HUMAN)
        : await b.store.archive(task.id, HUMAN);
      assert.equal(t.status, status);
      assert.equal(t.current_run_id, null);
      const run = (await b.store.listRuns(task.id))[0]!;
      assert.equal(run.outcome, outcome);
      assert.equal(run.open, false);
      assert.equal(run.lease_expires, null);
      assert.deepEqual(await b.store.openRuns(), []);
      if (verb !== "block") assert.match(run.error ?? "", /by alice/);
      const before = await boardState(b.store);
      await assert.rejects(b.store.heartbeat(task.id, worker(c)), stale);
      await assert.rejects(b.store.comment(task.id, "still here", worker(c)), stale);
      await assert.rejects(b.store.complete(task.id, { summary: "late" }, worker(c)), stale);
      assert.deepEqual(await boardState(b.store), before);
    },
  );
}

conformance(
  "cancel() and archive() remember the status they left; cancel keeps its reason",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "drop");
    const t = await b.store.cancel(task.id, "duplicate of another", HUMAN);
    assert.equal(t.status, "archived");
    assert.equal(t.archived_from, "ready");
    const ev = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.equal(ev.kind, "cancelled");
    assert.deepEqual(ev.data, { from: "ready", to: "archived", reason: "duplicate of another" });
    const done = await add(b.store, "finished");
    await b.store.complete(done.id, {}, HUMAN);
    assert.equal((await b.store.archive(done.id, HUMAN)).archived_from, "done");
  },
);

conformance("cancel() of a done task is refused: archive it instead", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "finished");
  await b.store.complete(task.id, {}, HUMAN);
  await assert.rejects(
    b.store.cancel(task.id, undefined, HUMAN),
    (err: unknown) =>
      err instanceof IllegalTransitionError && err.from === "done" && err.to === "archived",
  );
});

for (const from of ["done", "triage", "blocked"] as const) {
  conformance(`unarchive() returns a task archived from ${from} to ${from}`, async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, from, { triage: from === "triage" });
    if (from === "done") await b.store.complete(task.id, { result: "kept" }, HUMAN);
    if (from === "blocked") await b.store.block(task.id, "question", HUMAN);
    const before = await b.store.getTask(task.id);
    await b.store.archive(task.id, HUMAN);
    const t = await b.store.unarchive(task.id, HUMAN);
    assert.equal(t.status, from);
    assert.equal(t.archived_from, null);
    assert.equal(t.result, before.result);
    assert.equal(t.blocked_reason, before.blocked_reason);
    assert.equal(t.completed_at, before.completed_at);
  });
}

conformance(
  "unarchive() re-derives a task archived from the queue or from running",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const waiting = await add(b.store, "waiting", { parents: [parent.id] });
    const running = await add(b.store, "running");
    await claimId(b.store, running.id);
    await b.store.archive(waiting.id, HUMAN);
    await b.store.archive(running.id, HUMAN);
    assert.equal((await b.store.unarchive(waiting.id, HUMAN)).status, "todo");
    assert.equal((await b.store.unarchive(running.id, HUMAN)).status, "ready");
  },
);

conformance("unarchive() refuses when another task now holds the idempotency key", async (drv) => {
  await using b = await drv.fresh();
  const first = await add(b.store, "v1", { idempotency_key: "k" });
  await b.store.archive(first.id, HUMAN);
  await add(b.store, "v2", { idempotency_key: "k" });
  const before = await boardState(b.store);
  await assert.rejects(
    b.store.unarchive(first.id, HUMAN),
    (err: unknown) =>
      err instanceof ConflictError && err.code === "idempotency_key_taken" &&
      err.message.includes('"k"'),
  );
  assert.deepEqual(await boardState(b.store), before);
});

conformance(
  "reopen() sends a done task back to the queue and clears its completion",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "again");
    await b.store.complete(task.id, { result: "v1" }, HUMAN);
    const t = await b.store.reopen(task.id, HUMAN);
    assert.equal(t.status, "ready");
    assert.equal(t.completed_at, null);
    assert.equal(t.result, null);
  },
);

conformance(
  "complete() by a person finishes a waiting or blocked task without a run",
  async (drv) => {
    await using b = await drv.fresh();
    const ready = await add(b.store, "trivial");
    const t = await b.store.complete(ready.id, { summary: "done by hand" }, HUMAN);
    assert.equal(t.status, "done");
    assert.deepEqual(await b.store.listRuns(ready.id), []);
    const held = await add(b.store, "held");
    await b.store.block(held.id, "question", HUMAN);
    assert.equal((await b.store.complete(held.id, {}, HUMAN)).status, "done");
  },
);

conformance("every change to a task appends an event naming it", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "parent");
  const task = await add(b.store, "task", { triage: true, review_required: true });
  await b.store.promote(task.id, HUMAN);
  await b.store.editTask(task.id, { priority: 2 }, HUMAN);
  await b.store.assignTask(task.id, "coder", HUMAN);
  await b.store.link(parent.id, task.id, HUMAN);
  await b.store.unlink(parent.id, task.id, HUMAN);
  const c1 = await claimId(b.store, task.id);
  await b.store.heartbeat(task.id, worker(c1));
  await b.store.comment(task.id, "progress", worker(c1));
  await b.store.endRun(c1.run.id, { outcome: "crashed" }, DISPATCHER);
  const c2 = await claimId(b.store, task.id);
  await b.store.block(task.id, "question", worker(c2));
  await b.store.unblock(task.id, HUMAN);
  const c3 = await claimId(b.store, task.id);
  await b.store.complete(task.id, { summary: "v1" }, worker(c3));
  await b.store.review(task.id, "reject", "redo", HUMAN);
  const c4 = await claimId(b.store, task.id);
  await b.store.complete(task.id, { summary: "v2" }, worker(c4));
  await b.store.review(task.id, "approve", undefined, HUMAN);
  await b.store.reopen(task.id, HUMAN);
  await b.store.cancel(task.id, "enough", HUMAN);
  await b.store.unarchive(task.id, HUMAN);
  await b.store.archive(task.id, HUMAN);
  assert.deepEqual(await eventKinds(b.store, task.id), [
    "created",
    "promoted",
    "edited",
    "assigned",
    "linked",
    "derived",
    "unlinked",
    "derived",
    "claimed",
    "heartbeat",
    "commented",
    "failed",
    "claimed",
    "blocked",
    "unblocked",
    "claimed",
    "completed",
    "rejected",
    "commented",
    "claimed",
    "completed",
    "approved",
    "reopened",
    "cancelled",
    "unarchived",
    "archived",
  ]);
  const events = (await b.store.showTask(task.id)).events;
  assert.ok(events.every((e, i) => i === 0 || e.id > events[i - 1]!.id));
  assert.ok(events.every((e) => e.task_id === task.id && e.actor.length > 0));
  assert.deepEqual(await b.store.checkInvariants(), []);
});
