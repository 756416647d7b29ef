import assert from "node:assert/strict";
import { ConflictError, NotFoundError, ValidationError } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const iso = (ms: number) => new Date(ms).toISOString();

conformance(
  "block() without a kind is needs_input: blocked for a person, kind recorded",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "ask");
    const c = await claimId(b.store, task.id);
    const t = await b.store.block(task.id, "which schema?", worker(c));
    assert.equal(t.status, "blocked");
    assert.equal(t.block_kind, "needs_input");
    assert.equal(t.blocked_reason, "which schema?");
    assert.deepEqual(t.block_counts, { needs_input: 1 });
    const shown = await b.store.showTask(task.id);
    assert.equal(shown.runs[0]!.outcome, "blocked");
    const ev = shown.events.at(-1)!;
    assert.equal(ev.kind, "blocked");
    assert.deepEqual(ev.data, {
      from: "running",
      to: "blocked",
      reason: "which schema?",
      kind: "needs_input",
      count: 1,
    });
  },
);

conformance(
  "a dependency block links the parent; the task is promoted when it finishes",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "api first");
    const task = await add(b.store, "client");
    const c = await claimId(b.store, task.id);
    const t = await b.store.block(task.id, "needs the api", worker(c), undefined, {
      kind: "dependency",
      on: parent.id,
    });
    assert.equal(t.status, "todo");
    assert.equal(t.block_kind, "dependency");
    assert.equal(t.blocked_on, parent.id);
    assert.equal(t.consecutive_failures, 0);
    const linked = (await b.store.showTask(task.id)).events.find((e) => e.kind === "linked")!;
    assert.deepEqual([linked.actor, linked.data["parent"]], ["coder-1", parent.id]);
    const pc = await claimId(b.store, parent.id);
    await b.store.complete(parent.id, { summary: "api up" }, worker(pc));
    const after = await b.store.getTask(task.id);
    assert.equal(after.status, "ready");
    // the kind stays shown until the task completes, which clears it and its counts
    const c2 = await claimId(b.store, task.id);
    const done = await b.store.complete(task.id, {}, worker(c2));
    assert.equal(done.block_kind, null);
    assert.equal(done.blocked_on, null);
    assert.deepEqual(done.block_counts, {});
  },
);

conformance(
  "a dependency block refuses a missing --on, an unknown task and a cycle",
  async (drv) => {
    await using b = await drv.fresh();
    const a = await add(b.store, "a");
    const child = await add(b.store, "child", { parents: [a.id] });
    await assert.rejects(
      b.store.block(a.id, "wait", HUMAN, undefined, { kind: "dependency", on: child.id }),
      (e) =>
        e instanceof ConflictError && e.code === "not_running" &&
        e.message ===
          `Cannot block task "${a.id}" as dependency: it is ready, and a dependency block stops ` +
            "a running task (to make a waiting task wait for another, link them)",
    );
    await claimId(b.store, a.id);
    await assert.rejects(
      b.store.block(a.id, "wait", HUMAN, undefined, { kind: "dependency" }),
      (e) => e instanceof ValidationError && /--on TASK_ID/.test(e.message),
    );
    await assert.rejects(
      b.store.block(a.id, "wait", HUMAN, undefined, { kind: "dependency", on: "t_00000000" }),
      (e) => e instanceof NotFoundError && /Cannot wait on "t_00000000"/.test(e.message),
    );
    await assert.rejects(
      b.store.block(a.id, "wait", HUMAN, undefined, { kind: "dependency", on: child.id }),
      (e) => e instanceof ConflictError && e.code === "cycle",
    );
    await assert.rejects(
      b.store.block(a.id, "wait", HUMAN, undefined, { kind: "dependency", on: a.id }),
      (e) => e instanceof ConflictError && e.code === "self_link",
    );
    // nothing was written by the refusals
    const t = await b.store.getTask(a.id);
    assert.equal(t.status, "running");
    assert.equal(t.block_kind, null);
  },
);

conformance("block() refuses an unknown kind and a field of another kind", async (drv) => {
  await using b = await drv.fresh();
  const a = await add(b.store, "a");
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    b.store.block(a.id, "x", HUMAN, undefined, { kind: "later" as any }),
    (e) =>
      e instanceof ValidationError &&
      e.message ===
        'Unknown block kind "later": expected one of needs_input, dependency, transient, capability',
  );
  await assert.rejects(
    b.store.block(a.id, "x", HUMAN, undefined, { kind: "needs_input", profile: "reviewer" }),
    (e) => e instanceof ValidationError && /profile goes with a capability block/.test(e.message),
  );
  await assert.rejects(
    b.store.block(a.id, "x", HUMAN, undefined, { kind: "transient", retry_after_seconds: 0 }),
    (e) => e instanceof ValidationError && /retry_after must be a positive/.test(e.message),
  );
});

conformance("a transient block retries later without counting a failure", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "call the api");
  const c = await claimId(b.store, task.id);
  const now = b.clock.now();
  const t = await b.store.block(task.id, "api is down", worker(c), undefined, {
    kind: "transient",
  });
  assert.equal(t.status, "ready");
  assert.equal(t.consecutive_failures, 0);
  assert.equal(t.retry_after, iso(now + 30_000)); // the store's backoff for the first
  assert.equal(t.block_kind, "transient");
  assert.equal((await b.store.showTask(task.id)).runs[0]!.outcome, "transient");
  // the queue skips it until the delay has passed
  assert.equal(await b.store.claim({ profile: "coder" }, DISPATCHER), null);
  b.clock.advance(30_000);
  const c2 = await claimId(b.store, task.id);
  const t2 = await b.store.block(task.id, "still down", worker(c2), undefined, {
    kind: "transient",
    retry_after_seconds: 600,
  });
  assert.equal(t2.retry_after, iso(b.clock.now() + 600_000));
  assert.equal(t2.consecutive_failures, 0);
  assert.deepEqual(t2.block_counts, { transient: 2 });
});

conformance(
  "transient blocks are bounded: the fifth goes to triage with the reason",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "flaky");
    let last = task;
    for (let i = 1; i <= 5; i++) {
      b.clock.advance(3_600_000);
      const c = await claimId(b.store, task.id);
      last = await b.store.block(task.id, `down ${i}`, worker(c), undefined, { kind: "transient" });
      if (i < 5) assert.equal(last.status, "ready", `block ${i}`);
    }
    assert.equal(last.status, "triage");
    assert.equal(last.blocked_reason, "blocked 5 times for transient: down 5");
    assert.equal(last.retry_after, null);
    assert.equal(last.consecutive_failures, 0);
  },
);

conformance(
  "the loop breaker: the third block of one kind goes to triage, with its own limit",
  async (drv) => {
    await using b = await drv.fresh({ blockLimit: 3 });
    const task = await add(b.store, "loops");
    for (let i = 1; i <= 2; i++) {
      const c = await claimId(b.store, task.id);
      const t = await b.store.block(task.id, `question ${i}`, worker(c));
      assert.equal(t.status, "blocked");
      await b.store.unblock(task.id, HUMAN);
    }
    // another kind has a count of its own
    const co = await claimId(b.store, task.id);
    const other = await b.store.block(task.id, "not now", worker(co), undefined, {
      kind: "capability",
      profile: "reviewer",
    });
    assert.equal(other.status, "ready");
    const c = await claimId(b.store, task.id, "reviewer");
    const t = await b.store.block(task.id, "question 3", worker(c));
    assert.equal(t.status, "triage");
    assert.equal(t.blocked_reason, "blocked 3 times for needs_input: question 3");
    assert.deepEqual(t.block_counts, { needs_input: 3, capability: 1 });
    const ev = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.equal(ev.data["to"], "triage");
    assert.equal(ev.data["limit"], 3);
  },
);

conformance(
  "a capability block reassigns to a named profile, or goes to triage without one",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "needs a gpu", { assignee: "coder" });
    const c = await claimId(b.store, task.id);
    const t = await b.store.block(task.id, "needs cuda", worker(c), undefined, {
      kind: "capability",
      profile: "gpu-coder",
    });
    assert.equal(t.status, "ready");
    assert.equal(t.assignee, "gpu-coder");
    const ev = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.equal(ev.data["profile"], "gpu-coder");
    assert.equal(ev.data["from_profile"], "coder");
    const c2 = await claimId(b.store, task.id, "gpu-coder");
    const t2 = await b.store.block(task.id, "nobody here can", worker(c2), undefined, {
      kind: "capability",
    });
    assert.equal(t2.status, "triage");
    assert.equal(t2.blocked_reason, "nobody here can");
    assert.equal(t2.assignee, "gpu-coder");
    await assert.rejects(
      b.store.block(task.id, "x", HUMAN, undefined, { kind: "capability", profile: "bad name!" }),
      (e) => e instanceof ValidationError && /profile may hold only/.test(e.message),
    );
  },
);

conformance(
  "a worker's transient block delivered twice changes nothing the second time",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "retry");
    const c = await claimId(b.store, task.id);
    const opts = { kind: "transient" as const };
    const first = await b.store.block(task.id, "down", worker(c), undefined, opts);
    const again = await b.store.block(task.id, "down", worker(c), undefined, opts);
    assert.deepEqual(again, first);
    assert.deepEqual(again.block_counts, { transient: 1 });
  },
);

conformance("a person's blocks are not counted by the loop breaker", async (drv) => {
  await using b = await drv.fresh({ blockLimit: 2 });
  const task = await add(b.store, "held");
  for (let i = 1; i <= 3; i++) {
    await claimId(b.store, task.id);
    const t = await b.store.block(task.id, `hold ${i}`, HUMAN);
    assert.equal(t.status, "blocked", `hold ${i}`);
    assert.equal(t.block_kind, "needs_input");
    assert.deepEqual(t.block_counts, {});
    await b.store.unblock(task.id, HUMAN);
  }
  const c = await claimId(b.store, task.id);
  assert.equal((await b.store.block(task.id, "q1", worker(c))).status, "blocked");
  await b.store.unblock(task.id, HUMAN);
  const c2 = await claimId(b.store, task.id);
  assert.equal((await b.store.block(task.id, "q2", worker(c2))).status, "triage");
});

conformance(
  "a person's transient block of a running task backs off like a first failure",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "stop for now");
    await claimId(b.store, task.id);
    const t = await b.store.block(task.id, "the api is down", HUMAN, undefined, {
      kind: "transient",
    });
    assert.equal(t.status, "ready");
    assert.equal(t.retry_after, iso(b.clock.now() + 30_000));
    assert.deepEqual(t.block_counts, {});
    assert.equal((await b.store.showTask(task.id)).runs[0]!.outcome, "transient");
  },
);
