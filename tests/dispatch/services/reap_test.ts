/**
 * The reap service alone, on a real board: a worker that exited is reaped once its process
 * group is gone; an open run is ended by how the process exited (crash, transient), a run the
 * worker closed itself only records the exit.
 */
import assert from "node:assert/strict";
import { ReapService } from "../../../lib/dispatch/services/reap.ts";
import type { Worker } from "../../../lib/dispatch/services/workers.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";

function service(b: Bundle): ReapService {
  return new ReapService({
    store: b.store,
    config: b.config,
    workers: b.workers,
    log: (l) => b.logs.push(l),
  });
}

/** exitedWorker runs `sh -c script` as the worker of a new claimed task and waits for its exit. */
async function exitedWorker(b: Bundle, script: string): Promise<{ w: Worker; task: string }> {
  const task = (await b.store.createTask({ title: "work", assignee: "coder" }, HUMAN)).task;
  const claim = (await b.store.claim({ taskId: task.id, profile: "coder" }, DISPATCHER))!;
  const w = b.supervise(claim.run, ["sh", "-c", script]);
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(w.exit !== null, "the worker exited");
  return { w, task: task.id };
}

/** reapAll runs the service until it reaps (bounded): the first pass stops what is left. */
async function reapAll(b: Bundle, s: ReapService) {
  for (let i = 0; i < 100; i++) {
    const r = await s.runOnce(b.clock.read());
    if (r.reaped.length > 0) return r;
    await b.stopped();
  }
  throw new Error("nothing reaped");
}

Deno.test("reap ends the open run of a crashed worker after its group is gone, and counts the failure", async () => {
  await using b = bundle();
  const { w, task } = await exitedWorker(b, "echo oops >&2; exit 3");
  const s = service(b);
  const first = await s.runOnce(b.clock.read());
  assert.deepEqual(first.reaped, []);
  assert.deepEqual(first.stopping, [{
    run: w.runId,
    task,
    reason: "worker exited; stopping what it left behind",
  }]);
  const r = await reapAll(b, s);
  assert.deepEqual(r.reaped, [{
    run: w.runId,
    task,
    outcome: "crashed",
    exit_code: 3,
    signal: null,
  }]);
  assert.equal(b.workers.size, 0);
  const t = await b.store.getTask(task);
  assert.equal(t.consecutive_failures, 1);
  assert.equal((await b.store.getRun(w.runId)).outcome, "crashed");
  assert.match(b.logs.at(-1)!, /ended: crashed \(exit code 3\) -> ready/);
});

Deno.test("reap: the transient exit code retries without counting a failure", async () => {
  await using b = bundle();
  const { w, task } = await exitedWorker(b, "exit 75");
  const r = await reapAll(b, service(b));
  assert.equal(r.reaped[0]!.outcome, "transient");
  assert.equal((await b.store.getTask(task)).consecutive_failures, 0);
  assert.equal((await b.store.getRun(w.runId)).outcome, "transient");
});

Deno.test("reap: a worker that completed its task only has its exit recorded", async () => {
  await using b = bundle();
  const task = (await b.store.createTask({ title: "work", assignee: "coder" }, HUMAN)).task;
  const claim = (await b.store.claim({ taskId: task.id, profile: "coder" }, DISPATCHER))!;
  await b.store.complete(task.id, { summary: "done" }, { name: "coder-1", token: claim.token });
  const w = b.supervise(claim.run, ["sh", "-c", "exit 0"]);
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  const r = await reapAll(b, service(b));
  assert.deepEqual(r.reaped, [{
    run: claim.run.id,
    task: task.id,
    outcome: "completed",
    exit_code: 0,
    signal: null,
  }]);
  assert.equal((await b.store.getRun(claim.run.id)).exit_code, 0);
  assert.equal((await b.store.getTask(task.id)).status, "done");
});
