import assert from "node:assert/strict";
import {
  ConflictError,
  GATE_ACTOR,
  type GateOutcome,
  StaleLeaseError,
  type Store,
  ValidationError,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, boardState, claimId, eventKinds, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const GATE = ["sh", "-c", "cd {workspace} && make check"];

function passed(ms = 40): GateOutcome {
  return { passed: true, exit_code: 0, output: "all green\n", duration_ms: ms, timed_out: false };
}

function failed(output: string, code = 2): GateOutcome {
  return { passed: false, exit_code: code, output, duration_ms: 1500, timed_out: false };
}

/** gated makes a task with a gate of `rounds` rounds, claims it and returns both. */
async function gated(store: Store, rounds = 3) {
  const task = await add(store, "parser", {
    assignee: "coder",
    gate: GATE,
    gate_rounds: rounds,
    gate_timeout_ms: 60_000,
  });
  const c = await claimId(store, task.id, "coder");
  return { task, c };
}

conformance(
  "a worker's complete of a task with a gate holds the handoff on its open run; the same complete again changes nothing, any other report is refused",
  async (drv) => {
    await using b = await drv.fresh();
    const { task, c } = await gated(b.store);
    const handoff = { summary: "parser done", metadata: { files: 2 }, result: "ok" };
    const held = await b.store.complete(task.id, handoff, worker(c));
    assert.equal(held.status, "running");
    assert.deepEqual(held.gate, { argv: GATE, timeout_ms: 60_000, rounds: 3 });
    const run = await b.store.getRun(c.run.id);
    assert.equal(run.open, true);
    assert.equal(run.gate_pending, true);
    const shown = await b.store.showTask(task.id);
    const ev = shown.events.at(-1)!;
    assert.equal(ev.kind, "gate_pending");
    assert.deepEqual(ev.data, { route: "complete", ...handoff, round: 1, rounds: 3 });
    // a retry of the same report (a lost answer) is that report
    const before = await boardState(b.store);
    assert.equal((await b.store.complete(task.id, handoff, worker(c))).status, "running");
    assert.deepEqual(await boardState(b.store), before);
    // anything else the worker reports is refused and changes nothing
    await assert.rejects(
      b.store.complete(task.id, { summary: "something else" }, worker(c)),
      (e: unknown) => e instanceof ConflictError && e.code === "gate_pending",
    );
    await assert.rejects(
      b.store.block(task.id, "stuck", worker(c)),
      (e: unknown) => e instanceof ConflictError && e.code === "gate_pending",
    );
    await assert.rejects(
      b.store.requestReview(task.id, { summary: "look" }, worker(c)),
      (e: unknown) => e instanceof ConflictError && e.code === "gate_pending",
    );
    assert.deepEqual(await boardState(b.store), before);
    // a heartbeat still renews the run while it waits for its gate
    await b.store.heartbeat(task.id, worker(c));
  },
);

conformance(
  "a passed gate delivers the held handoff: the task is done as the worker's complete would have made it, its children ready",
  async (drv) => {
    await using b = await drv.fresh();
    const { task, c } = await gated(b.store);
    const child = await add(b.store, "docs", { parents: [task.id] });
    await b.store.complete(task.id, { summary: "parser done", result: "ok" }, worker(c));
    const settled = await b.store.settleGate(task.id, passed(), worker(c));
    assert.equal(settled.verdict, "passed");
    assert.deepEqual([settled.round, settled.rounds], [1, 3]);
    assert.equal(settled.task.status, "done");
    assert.equal(settled.task.result, "ok");
    const run = await b.store.getRun(c.run.id);
    assert.deepEqual([run.open, run.outcome, run.summary, run.gate_pending], [
      false,
      "completed",
      "parser done",
      false,
    ]);
    const kinds = await eventKinds(b.store, task.id);
    assert.deepEqual(kinds.slice(-3), ["gate_pending", "gate_passed", "completed"]);
    const ev = (await b.store.showTask(task.id)).events.find((e) => e.kind === "gate_passed")!;
    assert.deepEqual(ev.data, { round: 1, rounds: 3, exit_code: 0, duration_ms: 40 });
    assert.equal(ev.actor, GATE_ACTOR);
    assert.equal((await b.store.getTask(child.id)).status, "ready");
    // a late retry of the worker's complete is the report that ended the run
    const again = await b.store.complete(
      task.id,
      { summary: "parser done", result: "ok" },
      worker(c),
    );
    assert.equal(again.status, "done");
  },
);

conformance(
  "a failed gate sends the task back to its profile, not counted as a failure, its output quoted; the last round blocks it for a person",
  async (drv) => {
    await using b = await drv.fresh();
    const { task, c } = await gated(b.store, 2);
    await b.store.complete(task.id, { summary: "first try" }, worker(c));
    const first = await b.store.settleGate(
      task.id,
      failed("FAIL parser_test.ts\n  expected 2, got 3\n"),
      worker(c),
    );
    assert.equal(first.verdict, "failed");
    assert.equal(first.task.status, "ready");
    assert.equal(first.task.assignee, "coder");
    assert.equal(first.task.consecutive_failures, 0);
    assert.equal(first.task.retry_after, null);
    const run = await b.store.getRun(c.run.id);
    assert.equal(run.outcome, "completed");
    assert.equal(run.error, "completion gate failed (round 1 of 2): exit code 2");
    const shown = await b.store.showTask(task.id);
    assert.deepEqual(shown.events.slice(-2).map((e) => e.kind), ["gate_failed", "commented"]);
    const ev = shown.events.at(-2)!;
    assert.deepEqual(ev.data, {
      from: "running",
      to: "ready",
      round: 1,
      rounds: 2,
      exit_code: 2,
      duration_ms: 1500,
      timed_out: false,
      output: "FAIL parser_test.ts\n  expected 2, got 3\n",
    });
    const comment = shown.comments.at(-1)!;
    assert.equal(comment.author, GATE_ACTOR);
    assert.match(comment.body, /^Completion gate failed \(round 1 of 2\): it exited with code 2/);
    assert.match(comment.body, /```\nFAIL parser_test.ts\n {2}expected 2, got 3\n```/);
    // the next worker is told
    const ctx = await b.store.context(task.id);
    assert.deepEqual(ctx.gate, {
      round: 1,
      rounds: 2,
      exit_code: 2,
      output: "FAIL parser_test.ts\n  expected 2, got 3\n",
    });
    // round 2 of 2 fails too: blocked, needs input
    const c2 = await claimId(b.store, task.id, "coder");
    const held = await b.store.complete(task.id, { summary: "second try" }, worker(c2));
    assert.equal(held.status, "running");
    const pending = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.deepEqual([pending.kind, pending.data["round"]], ["gate_pending", 2]);
    const second = await b.store.settleGate(task.id, failed("still failing\n", 1), worker(c2));
    assert.equal(second.verdict, "blocked");
    assert.equal(second.task.status, "blocked");
    assert.equal(second.task.block_kind, "needs_input");
    assert.equal(second.task.blocked_reason, "gate failed 2 times: exit code 1: still failing");
    // a person's unblock starts the count again
    await b.store.unblock(task.id, HUMAN);
    assert.equal((await b.store.context(task.id)).gate, undefined);
    assert.deepEqual(await b.store.gateState(task.id), { failures: 0, last: null });
  },
);

conformance("a person's complete of a task with a gate is not gated", async (drv) => {
  await using b = await drv.fresh();
  const { task, c } = await gated(b.store);
  const done = await b.store.complete(task.id, { summary: "I did it" }, HUMAN);
  assert.equal(done.status, "done");
  const run = await b.store.getRun(c.run.id);
  assert.equal(run.outcome, "completed_by_human");
  assert.ok(!(await eventKinds(b.store, task.id)).includes("gate_pending"));
  // and a person's complete of a held task ends the run: the gate's report comes too late
  const other = await gated(b.store);
  await b.store.complete(other.task.id, { summary: "worker" }, worker(other.c));
  assert.equal((await b.store.complete(other.task.id, {}, HUMAN)).status, "done");
  const before = await boardState(b.store);
  await assert.rejects(
    b.store.settleGate(other.task.id, passed(), worker(other.c)),
    StaleLeaseError,
  );
  assert.deepEqual(await boardState(b.store), before);
});

conformance(
  "a claim copies the profile's gate onto a task that has none, not over the task's own, and not for its reviewer",
  async (drv) => {
    await using b = await drv.fresh();
    const gates = { coder: { argv: ["make", "check"], timeoutMs: 5_000, rounds: 2 } };
    const plain = await add(b.store, "plain", { assignee: "coder" });
    const own = await add(b.store, "own", { assignee: "coder", gate: ["true"] });
    const none = await add(b.store, "none", { assignee: "coder", gate: [] });
    const reviewed = await add(b.store, "reviewed", { assignee: "critic", reviewer: "critic" });
    for (const t of [plain, own, none, reviewed]) {
      const profile = t.assignee!;
      const c = await b.store.claim({ taskId: t.id, profile, gates }, DISPATCHER);
      assert.ok(c);
    }
    assert.deepEqual((await b.store.getTask(plain.id)).gate, {
      argv: ["make", "check"],
      timeout_ms: 5_000,
      rounds: 2,
    });
    assert.deepEqual((await b.store.getTask(own.id)).gate, {
      argv: ["true"],
      timeout_ms: null,
      rounds: null,
    });
    assert.equal((await b.store.getTask(reviewed.id)).gate, null);
    // a task that opted out of its profile's gate completes at once
    const noneRun = (await b.store.getTask(none.id)).current_run_id!;
    assert.deepEqual((await b.store.getTask(none.id)).gate, {
      argv: [],
      timeout_ms: null,
      rounds: null,
    });
    const token = (await b.store.runToken(noneRun))!;
    const done = await b.store.complete(none.id, { summary: "s" }, { name: "coder-1", token });
    assert.equal(done.status, "done");
  },
);

conformance(
  "the reviewer's approval of a task with a gate is gated; a failed gate sends it back to the implementer and ends that review",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "parser", {
      assignee: "coder",
      reviewer: "critic",
      gate: ["make", "check"],
    });
    const c = await claimId(b.store, task.id, "coder");
    // the hand-in is not gated
    const handed = await b.store.complete(task.id, { summary: "parser", result: "r" }, worker(c));
    assert.deepEqual([handed.status, handed.assignee], ["ready", "critic"]);
    const r = await claimId(b.store, task.id, "critic");
    const held = await b.store.review(task.id, "approve", "looks right", worker(r, "critic-1"));
    assert.equal(held.status, "running");
    assert.equal((await b.store.getRun(r.run.id)).gate_pending, true);
    // the same approval again is the same report; a request for changes is refused
    assert.equal(
      (await b.store.review(task.id, "approve", "looks right", worker(r, "critic-1"))).status,
      "running",
    );
    await assert.rejects(
      b.store.review(task.id, "reject", "no", worker(r, "critic-1")),
      (e: unknown) => e instanceof ConflictError && e.code === "gate_pending",
    );
    const back = await b.store.settleGate(task.id, failed("lint: 3 errors\n"), worker(r));
    assert.equal(back.verdict, "failed");
    assert.deepEqual([back.task.status, back.task.assignee], ["ready", "coder"]);
    assert.equal((await b.store.reviewState(task.id)).state, "none");
    assert.equal((await b.store.context(task.id)).gate?.output, "lint: 3 errors\n");
    // the fix is a new review, round 1; its approval passes the gate: done, the implementer's
    const c2 = await claimId(b.store, task.id, "coder");
    await b.store.complete(task.id, { summary: "fixed", result: "r2" }, worker(c2));
    const review = await b.store.reviewState(task.id);
    assert.deepEqual(
      review.state === "reviewing" ? [review.round, review.reviewer] : [],
      [1, "critic"],
    );
    // the reviewer's prompt has no gate section: the failed gate speaks to the implementer
    const r2 = await claimId(b.store, task.id, "critic");
    assert.equal((await b.store.context(task.id)).gate, undefined);
    await b.store.review(task.id, "approve", undefined, worker(r2, "critic-1"));
    const done = await b.store.settleGate(task.id, passed(), worker(r2));
    assert.deepEqual([done.task.status, done.task.assignee, done.task.result], [
      "done",
      "coder",
      "r2",
    ]);
  },
);

conformance(
  "a task's gate is a person's: set and cleared by create and edit, refused from a worker and without a gate",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "t", { assignee: "coder" });
    const edited = await b.store.editTask(t.id, { gate: ["make"], gate_rounds: 5 }, HUMAN);
    assert.deepEqual(edited.gate, { argv: ["make"], timeout_ms: null, rounds: 5 });
    const cleared = await b.store.editTask(t.id, { gate: null }, HUMAN);
    assert.equal(cleared.gate, null);
    await assert.rejects(
      b.store.editTask(t.id, { gate_rounds: 2 }, HUMAN),
      (e: unknown) => e instanceof ValidationError && /need a gate/.test(e.message),
    );
    await assert.rejects(
      add(b.store, "x", { gate: ["make", "{prompt}"] }),
      (e: unknown) =>
        e instanceof ValidationError && /unknown placeholder \{prompt\}/.test(e.message),
    );
    const c = await claimId(b.store, t.id, "coder");
    await assert.rejects(
      b.store.createTask({ title: "follow-up", gate: ["true"] }, worker(c)),
      (e: unknown) => e instanceof ConflictError && e.code === "not_allowed",
    );
  },
);

conformance(
  "a gate's report racing a person's complete on another connection: one of them ends the run, the board stays sound",
  async (drv) => {
    await using b = await drv.fresh();
    using other = await drv.open(b.location);
    const settled = <T>(p: Promise<T>) =>
      p.then((): unknown => null, (err: unknown) => err as unknown);
    for (let i = 0; i < 4; i++) {
      const { task, c } = await gated(b.store);
      await b.store.complete(task.id, { summary: "worker's" }, worker(c));
      const pass = i % 2 === 0;
      const gate = () =>
        settled(b.store.settleGate(task.id, pass ? passed() : failed("no\n"), worker(c)));
      const person = () => settled(other.complete(task.id, { summary: "person's" }, HUMAN));
      // one SQLite process has one writer at a time (its busy wait blocks the thread): there the
      // two take turns, in both orders; a server's connections race for real
      const [gateErr, personErr] = drv.name === "sqlite"
        ? i < 2 ? [await gate(), await person()] : [await person(), await gate()].reverse()
        : await Promise.all([gate(), person()]);
      const run = await b.store.getRun(c.run.id);
      assert.equal(run.open, false);
      assert.equal((await b.store.getTask(task.id)).status, "done");
      if (run.outcome === "completed_by_human") {
        // the person's came first: the gate's report is refused as stale
        assert.ok(gateErr instanceof StaleLeaseError, String(gateErr));
        assert.equal(personErr, null);
      } else {
        // the gate's came first: a failed gate left the task in the queue for the person to
        // complete, a passed one left it done (a person's complete of a done task is refused)
        assert.equal(run.outcome, "completed");
        assert.equal(gateErr, null);
        assert.equal(personErr === null, !pass, String(personErr));
      }
      assert.deepEqual(await b.store.checkInvariants(), []);
    }
  },
);
