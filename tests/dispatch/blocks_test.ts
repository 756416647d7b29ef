/** Typed blocks under a real dispatcher: a worker process's transient block is retried later. */
import assert from "node:assert/strict";
import { agent, harness } from "./_harness.ts";

Deno.test("a worker's transient block is retried after its delay, counts no failure, and is bounded", async () => {
  await using h = await harness({ caller: agent("block_transient.sh") });
  const task = await h.create("charge the card", "caller");
  const runsEnded = async (n: number) => {
    const runs = await h.store.listRuns(task.id);
    return runs.length === n && runs.every((r) => !r.open) && h.dispatcher.workerCount === 0;
  };
  await h.until(() => runsEnded(1));
  const first = await h.store.getTask(task.id);
  assert.equal(first.status, "ready");
  assert.equal(first.block_kind, "transient");
  assert.equal(first.consecutive_failures, 0);
  assert.ok(Date.parse(first.retry_after!) > h.clock.now() + 30_000, first.retry_after!);
  const [run] = await h.store.listRuns(task.id);
  assert.deepEqual([run!.outcome, run!.exit_code], ["transient", 0]);
  // before the delay has passed, passes start nothing
  await h.dispatcher.runOnce();
  assert.equal((await h.store.listRuns(task.id)).length, 1, "retried before its delay");
  // past the delay it runs again; the worker's own clock is not shifted, so each later delay
  // has passed at once on the shifted clock: it is retried until the bound sends it to triage
  h.clock.advance(61_000);
  await h.until(async () => (await h.status(task.id)) === "triage" && await runsEnded(5));
  const last = await h.store.getTask(task.id);
  assert.equal(last.consecutive_failures, 0);
  assert.deepEqual(last.block_counts, { transient: 5 });
  assert.equal(last.blocked_reason, "blocked 5 times for transient: the payments API answers 503");
  const outcomes = (await h.store.listRuns(task.id)).map((r) => r.outcome);
  assert.deepEqual(outcomes, Array(5).fill("transient"));
});
