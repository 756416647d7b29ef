/**
 * Durations against steps of the wall clock: the dispatcher measures stall, max runtime and
 * lease renewal on the monotonic clock, and moves the board's pending deadlines (retry
 * backoff, leases) by a step it sees, so neither a step forward nor back changes a decision.
 * (tests/faults/ does the same to the real binary under libfaketime.)
 */
import assert from "node:assert/strict";
import { agent, harness } from "./_harness.ts";

const HOUR = 3600_000;

Deno.test("a +3 h wall-clock step stops no healthy worker and counts no failure", async () => {
  await using h = await harness({
    slowpoke: agent("slow.sh", 'max_runtime = "1h"\nstall_timeout = "10m"'),
  });
  const task = await h.create("slow", "slowpoke");
  await h.until(async () => (await h.store.openRuns())[0]?.pid != null);
  h.clock.step(3 * HOUR);
  const reports = await h.until(() => true);
  h.clock.advance(1_000);
  await h.until(() => true);
  const run = (await h.store.listRuns(task.id))[0]!;
  assert.equal(run.open, true, `the worker still runs: ${JSON.stringify(run)}`);
  assert.equal(reports[0]!.clock_step?.step_ms !== undefined, true, "the step was seen");
  assert.ok(Date.parse(run.lease_expires!) > h.clock.now(), "its lease is ahead of the new time");
  assert.equal((await h.store.getTask(task.id)).consecutive_failures, 0);
  const events = (await h.store.eventsSince(0, 10_000)).filter((e) => e.kind === "clock_step");
  assert.equal(events.length, 1, "one clock_step event");
});

Deno.test("a wall-clock step either way keeps a retry's remaining backoff", async () => {
  for (const step of [3 * HOUR, -3 * HOUR]) {
    await using h = await harness(
      { crasher: agent("crash.sh") },
      'backoff = "10m"\nfailure_limit = 5',
    );
    const task = await h.create("crash", "crasher");
    await h.until(async () => (await h.store.getTask(task.id)).consecutive_failures === 1);
    const before = await h.store.getTask(task.id);
    const left = Date.parse(before.retry_after!) - h.clock.now();
    assert.ok(left > 9 * 60_000, `backoff pending: ${left} ms`);
    h.clock.step(step);
    await h.until(() => true);
    const after = await h.store.getTask(task.id);
    const leftAfter = Date.parse(after.retry_after!) - h.clock.now();
    assert.ok(
      Math.abs(leftAfter - left) < 5_000,
      `step ${step}: ${left} ms were left before, ${leftAfter} ms after`,
    );
    assert.equal(after.status, "ready");
    assert.equal((await h.store.listRuns(task.id)).length, 1, "not retried early");
  }
});

Deno.test("max_runtime and stall_timeout count monotonic time, not wall time", async () => {
  await using h = await harness({
    hanger: agent("hang.sh", 'stall_timeout = "1m"\nmax_runtime = "2m"'),
  });
  const task = await h.create("hang", "hanger");
  await h.until(async () => (await h.store.openRuns())[0]?.pid != null);
  h.clock.step(-HOUR); // back: must not postpone the stall
  h.clock.advance(90_000);
  await h.until(async () => !(await h.store.listRuns(task.id))[0]!.open);
  assert.equal((await h.store.listRuns(task.id))[0]!.outcome, "stalled");
});

Deno.test("a standby that saw the holder tick does not take over when the wall clock jumps", async () => {
  await using h = await harness({ slowpoke: agent("slow.sh") });
  await h.dispatcher.runOnce();
  const standby = h.newDispatcher("standby");
  assert.equal((await standby.runOnce()).active, false);
  h.clock.step(3 * HOUR); // the holder's lease now looks hours past
  assert.equal((await standby.runOnce()).active, false, "the holder ticked moments ago");
  assert.equal((await h.dispatcher.runOnce()).active, true);
  // a holder that stops ticking loses the board after one lease period of monotonic time
  h.clock.advance(16_000);
  assert.equal((await standby.runOnce()).active, false, "it ticked since the standby looked");
  h.clock.advance(16_000);
  assert.equal((await standby.runOnce()).active, true, "no tick for a lease period");
});
