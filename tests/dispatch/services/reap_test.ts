/**
 * The reap service alone, on a real board: a worker that exited is reaped once its process
 * group is gone; an open run is ended by how the process exited (crash, transient), a run the
 * worker closed itself only records the exit.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { reportFileOf } from "../../../lib/dispatch/pending.ts";
import { writePendingReport } from "../../../lib/pending_report.ts";
import { ReapService } from "../../../lib/dispatch/services/reap.ts";
import type { Worker } from "../../../lib/dispatch/services/workers.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";

function service(b: Bundle): ReapService {
  return new ReapService({
    store: b.store,
    config: b.config,
    workers: b.workers,
    host: "h",
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

/**
 * pendingWorker: a claimed task whose worker (`sh -c exit 3`) left the report it could not
 * deliver in its run's report file, as the CLI does when it gives up.
 */
async function pendingWorker(
  b: Bundle,
  kind: "complete" | "block" | "request_review",
  reviewer?: string,
  gate?: string[],
) {
  const task = (await b.store.createTask({
    title: "work",
    assignee: "coder",
    ...(reviewer !== undefined ? { reviewer } : {}),
    ...(gate !== undefined ? { gate } : {}),
  }, HUMAN)).task;
  const claim = (await b.store.claim({ taskId: task.id, profile: "coder" }, DISPATCHER))!;
  const logPath = join(b.home, "logs", task.id, `run-${claim.run.id}.log`);
  mkdirSync(dirname(logPath), { recursive: true });
  assert.ok(await b.store.recordLaunch(claim.run.id, { log_path: logPath, workspace: b.home }));
  const file = reportFileOf(logPath)!;
  writePendingReport(file, {
    version: 1,
    task: task.id,
    run: claim.run.id,
    kind,
    input: kind === "block"
      ? { reason: "which database?" }
      : { summary: "done offline", metadata: { files: 1 } },
    error: 'Board "x" stayed locked by other writers for 10000 ms',
    at: new Date(b.clock.wall).toISOString(),
  });
  const run = await b.store.getRun(claim.run.id);
  const w = b.supervise(run, ["sh", "-c", "exit 3"]);
  w.token = claim.token;
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  return { w, task: task.id, file };
}

Deno.test("reap delivers the report its worker could not, while the run's lease holds", async () => {
  await using b = bundle();
  const { w, task, file } = await pendingWorker(b, "complete");
  const r = await reapAll(b, service(b));
  assert.equal(r.reaped[0]!.outcome, "completed");
  const run = await b.store.getRun(w.runId);
  assert.equal(run.outcome, "completed");
  assert.equal(run.summary, "done offline");
  assert.equal(run.exit_code, 3);
  assert.equal((await b.store.getTask(task)).status, "done");
  assert.equal(existsSync(file), false, "the report file is gone once delivered");
  assert.match(b.logs.join("\n"), /delivered the report its worker could not/);
});

Deno.test("reap delivers a pending complete of a task with a gate, then runs the gate and reports it", async () => {
  await using b = bundle();
  const gate = ["sh", "-c", "echo checked {task} in $(pwd); exit 0"];
  const { w, task } = await pendingWorker(b, "complete", undefined, gate);
  const s = service(b);
  let reaped: Awaited<ReturnType<ReapService["runOnce"]>>["reaped"] = [];
  for (let i = 0; i < 250 && reaped.length === 0; i++) {
    reaped = (await s.runOnce(b.clock.read())).reaped;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(reaped, [{
    run: w.runId,
    task,
    outcome: "gate_passed",
    exit_code: null,
    signal: null,
  }]);
  assert.equal(b.workers.size, 0);
  const run = await b.store.getRun(w.runId);
  assert.deepEqual([run.outcome, run.summary, run.exit_code], ["completed", "done offline", 3]);
  assert.equal((await b.store.getTask(task)).status, "done");
  const logs = b.logs.join("\n");
  assert.match(logs, /delivered the report its worker could not/);
  assert.match(logs, new RegExp(`completed; running its gate: sh -c echo checked ${task} in`));
  assert.match(logs, /completion gate passed \(round 1 of 3, exit code 0, \d+ ms\) -> done/);
});

Deno.test("reap delivers a pending block the same way", async () => {
  await using b = bundle();
  const { task } = await pendingWorker(b, "block");
  await reapAll(b, service(b));
  const t = await b.store.getTask(task);
  assert.equal(t.status, "blocked");
  assert.equal(t.blocked_reason, "which database?");
});

Deno.test("reap delivers a pending request for review: the task goes to its reviewer", async () => {
  await using b = bundle();
  const { w, task } = await pendingWorker(b, "request_review", "critic");
  await reapAll(b, service(b));
  const t = await b.store.getTask(task);
  assert.deepEqual([t.status, t.assignee], ["ready", "critic"]);
  assert.equal((await b.store.getRun(w.runId)).summary, "done offline");
});

Deno.test("reap: a pending report past the run's lease ends the run as no_report, saying why", async () => {
  await using b = bundle();
  const { w, task, file } = await pendingWorker(b, "complete");
  b.clock.advance(b.config().dispatch.lease + 1);
  const r = await reapAll(b, service(b));
  assert.equal(r.reaped[0]!.outcome, "no_report");
  const run = await b.store.getRun(w.runId);
  assert.equal(run.outcome, "no_report");
  assert.equal(
    run.error,
    'report could not be delivered: Board "x" stayed locked by other writers for 10000 ms',
  );
  const t = await b.store.getTask(task);
  assert.notEqual(t.status, "running");
  assert.equal(t.current_run_id, null);
  assert.equal(existsSync(file), false);
});

Deno.test("reap: a held completion whose gate a person removed meanwhile is delivered, nothing run", async () => {
  await using b = bundle();
  const task =
    (await b.store.createTask({ title: "work", assignee: "coder", gate: ["false"] }, HUMAN))
      .task;
  const claim = (await b.store.claim({ taskId: task.id, profile: "coder" }, DISPATCHER))!;
  await b.store.complete(task.id, { summary: "done" }, { name: "coder-1", token: claim.token });
  await b.store.editTask(task.id, { gate: [] }, HUMAN);
  const w = b.supervise(claim.run, ["true"]);
  w.token = claim.token;
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  const r = await reapAll(b, service(b));
  assert.equal(r.reaped[0]!.outcome, "gate_passed");
  assert.equal((await b.store.getTask(task.id)).status, "done");
  assert.match(b.logs.join("\n"), /the task has no gate any more \(a person removed it\)/);
});
