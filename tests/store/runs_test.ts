import assert from "node:assert/strict";
import {
  IllegalTransitionError,
  NotFoundError,
  StaleLeaseError,
  ValidationError,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, boardState, claimId, eventKinds, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const iso = (ms: number) => new Date(ms).toISOString();

conformance(
  "claim() gives the highest-priority ready task and opens a run with a lease",
  async (drv) => {
    await using b = await drv.fresh();
    await add(b.store, "low", { priority: 1 });
    const high = await add(b.store, "high", { priority: 9, assignee: "coder" });
    await add(b.store, "waiting", { priority: 100, parents: [high.id] });
    const now = b.clock.now();
    const c = await b.store.claim({ host: "box-1", pid: 4242 }, DISPATCHER);
    assert.ok(c);
    assert.equal(c.task.id, high.id);
    assert.equal(c.task.status, "running");
    assert.equal(c.task.current_run_id, c.run.id);
    assert.equal(c.task.started_at, iso(now));
    assert.match(c.token, /^[A-Za-z0-9_-]{32}$/);
    assert.deepEqual(c.run, {
      id: c.run.id,
      task_id: high.id,
      profile: "coder",
      claimed_by: DISPATCHER.name,
      open: true,
      started_at: iso(now),
      ended_at: null,
      duration_ms: null,
      lease_expires: iso(now + 120_000),
      heartbeat_at: null,
      host: "box-1",
      pid: 4242,
      pid_start_time: null,
      exit_code: null,
      signal: null,
      outcome: null,
      summary: null,
      metadata: null,
      error: null,
      log_path: null,
      usage: null,
      workspace: null,
      gate_pending: false,
    });
    assert.equal("lease_token" in c.run, false);
    const claimed = (await b.store.showTask(high.id)).events.at(-1)!;
    assert.equal(claimed.kind, "claimed");
    assert.equal(claimed.run_id, c.run.id);
    assert.deepEqual(claimed.data, { from: "ready", to: "running" });
  },
);

conformance(
  "claim() takes tasks in priority order, oldest first within a priority",
  async (drv) => {
    await using b = await drv.fresh();
    const order: string[] = [];
    const mid1 = await add(b.store, "mid, older", { priority: 5 });
    b.clock.advance(1);
    const low = await add(b.store, "low", { priority: -3 });
    b.clock.advance(1);
    const mid2 = await add(b.store, "mid, newer", { priority: 5 });
    b.clock.advance(1);
    const top = await add(b.store, "top", { priority: 1000 });
    for (let c; (c = await b.store.claim({}, DISPATCHER));) order.push(c.task.id);
    assert.deepEqual(order, [top.id, mid1.id, mid2.id, low.id]);
  },
);

conformance("claim() returns null when nothing is ready", async (drv) => {
  await using b = await drv.fresh();
  assert.equal(await b.store.claim({}, DISPATCHER), null);
  const parent = await add(b.store, "idea", { triage: true });
  await add(b.store, "child", { parents: [parent.id] });
  await add(b.store, "later", { not_before: b.clock.now() + 1000 });
  const held = await add(b.store, "held");
  await b.store.block(held.id, "hold", HUMAN);
  const before = await boardState(b.store);
  assert.equal(await b.store.claim({}, DISPATCHER), null);
  assert.deepEqual(await boardState(b.store), before);
});

conformance("claim() filters by assignee and by tenant", async (drv) => {
  await using b = await drv.fresh();
  const coder = await add(b.store, "code", { assignee: "coder", tenant: "acme", priority: 1 });
  const writer = await add(b.store, "docs", { assignee: "writer", tenant: "acme" });
  const other = await add(b.store, "other", { assignee: "coder", tenant: "globex" });
  assert.equal((await b.store.claim({ assignee: "writer" }, DISPATCHER))?.task.id, writer.id);
  assert.equal(await b.store.claim({ assignee: "writer" }, DISPATCHER), null);
  assert.equal((await b.store.claim({ tenant: "globex" }, DISPATCHER))?.task.id, other.id);
  assert.equal(await b.store.claim({ assignee: "coder", tenant: "globex" }, DISPATCHER), null);
  assert.equal(
    (await b.store.claim({ assignee: "coder", tenant: "acme" }, DISPATCHER))?.task.id,
    coder.id,
  );
});

conformance("claim() with a task id takes that task whatever its priority", async (drv) => {
  await using b = await drv.fresh();
  await add(b.store, "urgent", { priority: 100 });
  const low = await add(b.store, "low", { priority: -100 });
  const c = await b.store.claim({ taskId: low.id.slice(0, 5), profile: "writer" }, DISPATCHER);
  assert.equal(c?.task.id, low.id);
  assert.equal(c?.run.profile, "writer");
});

conformance(
  "claim() with the id of a task that is not ready refuses and changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const child = await add(b.store, "child", { parents: [parent.id] });
    const before = await boardState(b.store);
    await assert.rejects(
      b.store.claim({ taskId: child.id }, DISPATCHER),
      (err: unknown) =>
        err instanceof IllegalTransitionError && err.from === "todo" && err.to === "running",
    );
    await claimId(b.store, parent.id);
    await assert.rejects(
      b.store.claim({ taskId: parent.id }, DISPATCHER),
      (err: unknown) => err instanceof IllegalTransitionError && err.from === "running",
    );
    assert.equal((await boardState(b.store)).runs.length, before.runs.length + 1);
  },
);

conformance(
  "claim() takes a lease length and refuses one that is not a positive whole number",
  async (drv) => {
    await using b = await drv.fresh({ leaseMs: 5_000 });
    const a = await add(b.store, "a");
    const c = await add(b.store, "c");
    const now = b.clock.now();
    assert.equal((await claimId(b.store, a.id)).run.lease_expires, iso(now + 5_000));
    const d = await b.store.claim({ taskId: c.id, leaseMs: 60_000 }, DISPATCHER);
    assert.equal(d?.run.lease_expires, iso(now + 60_000));
    const e = await add(b.store, "e");
    const before = await boardState(b.store);
    for (const leaseMs of [0, -1, 1.5]) {
      await assert.rejects(b.store.claim({ taskId: e.id, leaseMs }, DISPATCHER), ValidationError);
    }
    assert.deepEqual(await boardState(b.store), before);
  },
);

conformance(
  "claim() through two connections to one board gives a task to one of them",
  async (drv) => {
    await using b = await drv.fresh();
    using second = await drv.open(b.location, { clock: b.clock.now });
    await add(b.store, "only");
    const claims = [
      await second.claim({}, DISPATCHER),
      await b.store.claim({}, DISPATCHER),
      await second.claim({}, DISPATCHER),
    ];
    assert.equal(claims.filter((c) => c !== null).length, 1);
    assert.equal((await b.store.openRuns()).length, 1);
  },
);

conformance(
  "heartbeat() renews the lease by the run's lease length and records the time",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "long job");
    const c = await b.store.claim({ taskId: task.id, leaseMs: 30_000 }, DISPATCHER);
    assert.ok(c);
    b.clock.advance(20_000);
    const run = await b.store.heartbeat(task.id, worker(c), "50% done");
    const now = b.clock.now();
    assert.equal(run.heartbeat_at, iso(now));
    assert.equal(run.lease_expires, iso(now + 30_000));
    const ev = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.equal(ev.kind, "heartbeat");
    assert.equal(ev.run_id, c.run.id);
    assert.deepEqual(ev.data, { note: "50% done" });
  },
);

conformance("heartbeat() requires a lease token", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "job");
  await claimId(b.store, task.id);
  const before = await boardState(b.store);
  await assert.rejects(
    b.store.heartbeat(task.id, HUMAN),
    (err: unknown) =>
      err instanceof StaleLeaseError && err.code === "stale_lease" &&
      /only its worker can \(no lease token; set KANBAN_TOKEN\)/.test(err.message),
  );
  assert.deepEqual(await boardState(b.store), before);
});

conformance("endRun() of a crash counts a failure and backs off with retry_after", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "flaky");
  const c = await claimId(b.store, task.id);
  b.clock.advance(5_000);
  const r = await b.store.endRun(c.run.id, {
    outcome: "crashed",
    error: "exit 1",
    exit_code: 1,
  }, DISPATCHER);
  const now = b.clock.now();
  assert.equal(r.counted, true);
  assert.equal(r.run.outcome, "crashed");
  assert.equal(r.run.open, false);
  assert.equal(r.run.ended_at, iso(now));
  assert.equal(r.run.duration_ms, 5_000);
  assert.equal(r.run.lease_expires, null);
  assert.equal(r.run.exit_code, 1);
  assert.equal(r.run.error, "exit 1");
  assert.equal(r.task.status, "ready");
  assert.equal(r.task.current_run_id, null);
  assert.equal(r.task.consecutive_failures, 1);
  assert.equal(r.task.last_error, "crashed: exit 1");
  assert.equal(r.task.retry_after, iso(now + 30_000));
  const failed = (await b.store.showTask(task.id)).events.at(-1)!;
  assert.equal(failed.kind, "failed");
  assert.deepEqual(failed.data, {
    from: "running",
    to: "ready",
    run: c.run.id,
    outcome: "crashed",
    failures: 1,
  });
});

conformance(
  "endRun() with block ends the run and blocks its task in one write, counting nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "needs a key");
    const c = await claimId(b.store, task.id);
    const r = await b.store.endRun(c.run.id, {
      outcome: "transient",
      error: "authentication failed",
      block: "fix the profile's credentials",
    }, DISPATCHER);
    assert.equal(r.counted, false);
    assert.equal(r.run.outcome, "transient");
    assert.equal(r.task.status, "blocked");
    assert.equal(r.task.blocked_reason, "fix the profile's credentials");
    assert.equal(r.task.consecutive_failures, 0);
    assert.equal(r.task.retry_after, null);
    assert.equal((await b.store.getTask(task.id)).block_kind, "needs_input");
  },
);

conformance("claim() skips a task until its retry_after has passed", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "flaky");
  const c = await claimId(b.store, task.id);
  await b.store.endRun(c.run.id, { outcome: "crashed" }, DISPATCHER);
  assert.equal(await b.store.claim({}, DISPATCHER), null);
  b.clock.advance(29_999);
  assert.equal(await b.store.claim({}, DISPATCHER), null);
  b.clock.advance(1);
  assert.equal((await b.store.claim({}, DISPATCHER))?.task.id, task.id);
});

conformance(
  "endRun() doubles the backoff and blocks the task at the third consecutive failure",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "broken");
    const retries: (string | null)[] = [];
    for (let i = 1; i <= 3; i++) {
      const c = await claimId(b.store, task.id);
      const r = await b.store.endRun(
        c.run.id,
        { outcome: "crashed", error: `boom ${i}` },
        DISPATCHER,
      );
      assert.equal(r.task.consecutive_failures, i);
      retries.push(r.task.retry_after);
      if (i < 3) {
        assert.equal(r.task.status, "ready");
        b.clock.advance(3_600_000);
      } else {
        assert.equal(r.task.status, "blocked");
        assert.equal(r.task.blocked_reason, "3 consecutive failed attempts; last: crashed: boom 3");
      }
    }
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    assert.deepEqual(retries, [iso(t0 + 30_000), iso(t0 + 3_600_000 + 60_000), null]);
    assert.equal(await b.store.claim({}, DISPATCHER), null);
  },
);

conformance(
  "endRun() of a transient exit retries later without counting a failure",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "rate limited");
    for (let i = 0; i < 5; i++) {
      const c = await claimId(b.store, task.id);
      const r = await b.store.endRun(c.run.id, { outcome: "transient", exit_code: 75 }, DISPATCHER);
      assert.equal(r.counted, false);
      assert.equal(r.task.status, "ready");
      assert.equal(r.task.consecutive_failures, 0);
      assert.equal(r.task.retry_after, iso(b.clock.now() + 30_000));
    }
  },
);

conformance(
  "endRun() of a stopped worker retries at once without counting a failure",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "interrupted");
    const c1 = await claimId(b.store, task.id);
    await b.store.endRun(c1.run.id, { outcome: "crashed" }, DISPATCHER);
    b.clock.advance(30_000);
    const c2 = await b.store.claim({}, DISPATCHER);
    assert.ok(c2);
    const r = await b.store.endRun(
      c2.run.id,
      { outcome: "stopped", signal: "SIGTERM" },
      DISPATCHER,
    );
    assert.equal(r.counted, false);
    assert.equal(r.task.consecutive_failures, 1);
    assert.equal(r.task.retry_after, null);
    assert.equal(r.run.signal, "SIGTERM");
    assert.equal((await b.store.claim({}, DISPATCHER))?.task.id, task.id);
  },
);

conformance("endRun() counts every supervisor failure outcome toward the limit", async (drv) => {
  for (const outcome of ["spawn_failed", "no_report", "stalled", "timed_out", "lost", "failed"]) {
    await using b = await drv.fresh({ failureLimit: 1 });
    const task = await add(b.store, outcome);
    const c = await claimId(b.store, task.id);
    const r = await b.store.endRun(c.run.id, { outcome: outcome as "lost" }, DISPATCHER);
    assert.equal(r.counted, true, outcome);
    assert.equal(r.task.status, "blocked", outcome);
  }
});

conformance(
  "endRun() puts a task whose parent was reopened meanwhile back in todo",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    await b.store.complete(parent.id, {}, HUMAN);
    const child = await add(b.store, "child", { parents: [parent.id] });
    const c = await claimId(b.store, child.id);
    await b.store.reopen(parent.id, HUMAN);
    const r = await b.store.endRun(c.run.id, { outcome: "crashed" }, DISPATCHER);
    assert.equal(r.task.status, "todo");
  },
);

conformance("a successful completion resets the failure count", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "flaky");
  const c1 = await claimId(b.store, task.id);
  await b.store.endRun(c1.run.id, { outcome: "crashed" }, DISPATCHER);
  const c2 = await claimId(b.store, task.id);
  const done = await b.store.complete(task.id, { summary: "ok" }, worker(c2));
  assert.equal(done.consecutive_failures, 0);
  assert.equal(done.retry_after, null);
  assert.equal(done.last_error, null);
});

conformance("endRun() refuses worker outcomes, ended runs and unknown runs", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "job");
  const c = await claimId(b.store, task.id);
  const before = await boardState(b.store);
  for (const outcome of ["completed", "blocked", "cancelled", "completed_by_human"] as const) {
    await assert.rejects(
      b.store.endRun(c.run.id, { outcome }, DISPATCHER),
      (err: unknown) => err instanceof ValidationError && err.message.includes(outcome),
    );
  }
  await assert.rejects(b.store.endRun(999, { outcome: "crashed" }, DISPATCHER), NotFoundError);
  assert.deepEqual(await boardState(b.store), before);
  await b.store.endRun(c.run.id, { outcome: "lost" }, DISPATCHER);
  await assert.rejects(
    b.store.endRun(c.run.id, { outcome: "crashed" }, DISPATCHER),
    (err: unknown) =>
      err instanceof StaleLeaseError && err.message === `Run ${c.run.id} has already ended (lost)`,
  );
});

conformance(
  "listRuns() and openRuns() show every attempt and the ones holding a lease",
  async (drv) => {
    await using b = await drv.fresh();
    const a = await add(b.store, "a");
    const other = await add(b.store, "other");
    const c1 = await claimId(b.store, a.id);
    await b.store.endRun(c1.run.id, { outcome: "crashed" }, DISPATCHER);
    const c2 = await claimId(b.store, a.id);
    const c3 = await claimId(b.store, other.id);
    assert.deepEqual((await b.store.listRuns(a.id)).map((r) => r.id), [c2.run.id, c1.run.id]);
    assert.deepEqual((await b.store.listRuns()).map((r) => r.id), [
      c3.run.id,
      c2.run.id,
      c1.run.id,
    ]);
    assert.deepEqual((await b.store.listRuns(undefined, 1)).map((r) => r.id), [c3.run.id]);
    assert.deepEqual((await b.store.openRuns()).map((r) => r.id), [c2.run.id, c3.run.id]);
    assert.deepEqual((await b.store.showTask(a.id)).runs.map((r) => r.id), [c1.run.id, c2.run.id]);
    assert.deepEqual(await eventKinds(b.store, a.id), ["created", "claimed", "failed", "claimed"]);
  },
);

conformance(
  "recordExit() stores a reported worker's exit status and says so in an event",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "work");
    const c = await claimId(b.store, task.id);
    await b.store.complete(task.id, { summary: "done" }, worker(c));
    await b.store.recordExit(c.run.id, 0, null, DISPATCHER);
    const run = await b.store.getRun(c.run.id);
    assert.deepEqual([run.outcome, run.exit_code, run.signal], ["completed", 0, null]);
    const last = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.deepEqual([last.kind, last.run_id, last.actor, last.data], [
      "exited",
      c.run.id,
      DISPATCHER.name,
      { exit_code: 0, signal: null },
    ]);
  },
);
