/**
 * The adopt service alone, on a real board with an injected clock: after a restart it adopts a
 * live worker of this host by its recorded pid, ends a run whose process is gone, and ends a
 * run of another host as lost only once its lease expired.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { guardFiles } from "../../../lib/dispatch/guard.ts";
import { reportFileOf } from "../../../lib/dispatch/pending.ts";
import { writePendingReport } from "../../../lib/pending_report.ts";
import { AdoptService } from "../../../lib/dispatch/services/adopt.ts";
import { readStat } from "../../../lib/dispatch/proc.ts";
import type { Claim } from "../../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";

const HOST = "this-host";

function service(b: Bundle): AdoptService {
  return new AdoptService({
    store: b.store,
    config: b.config,
    workers: b.workers,
    host: HOST,
    log: (l) => b.logs.push(l),
  });
}

async function claimed(b: Bundle, host: string): Promise<Claim> {
  const task = (await b.store.createTask({ title: "work", assignee: "coder" }, HUMAN)).task;
  return (await b.store.claim({ taskId: task.id, profile: "coder", host }, DISPATCHER))!;
}

Deno.test("adopt takes a live worker of this host by its recorded pid", async () => {
  await using b = bundle();
  const c = await claimed(b, HOST);
  // a worker a previous dispatcher started: not our child
  const child = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
  const startTime = readStat(child.pid!)!.startTime;
  await b.store.recordSpawn(c.run.id, {
    pid: child.pid!,
    pid_start_time: startTime,
    host: HOST,
    log_path: "",
    workspace: "",
  }, DISPATCHER);
  const r = await service(b).runOnce(b.clock.read());
  assert.deepEqual(r.adopted, [{ run: c.run.id, task: c.task.id, pid: child.pid! }]);
  assert.deepEqual(r.ended, []);
  assert.ok(b.workers.has(c.run.id));
  assert.deepEqual(
    (await service(b).runOnce(b.clock.read())).adopted,
    [],
    "a known worker is not adopted again",
  );
});

Deno.test("adopt ends a run of this host whose worker process is gone", async () => {
  await using b = bundle();
  const c = await claimed(b, HOST);
  const child = spawn("true", [], { stdio: "ignore" });
  const pid = child.pid!;
  await new Promise((r) => child.once("exit", r));
  await b.store.recordSpawn(c.run.id, {
    pid,
    pid_start_time: 1,
    host: HOST,
    log_path: "",
    workspace: "",
  }, DISPATCHER);
  const r = await service(b).runOnce(b.clock.read());
  assert.equal(r.ended.length, 1);
  assert.equal(r.ended[0]!.outcome, "crashed");
  assert.match(r.ended[0]!.reason, new RegExp(`^worker process ${pid} is (gone|reused)$`));
  assert.equal((await b.store.getTask(c.task.id)).status, "ready");
});

/** goneWorker: a run of this host whose worker (a process that exited) left files by its log. */
async function goneWorker(b: Bundle) {
  const c = await claimed(b, HOST);
  const child = spawn("true", [], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  const logPath = join(b.home, "logs", c.task.id, `run-${c.run.id}.log`);
  mkdirSync(dirname(logPath), { recursive: true });
  await b.store.recordSpawn(c.run.id, {
    pid: child.pid!,
    pid_start_time: 1,
    host: HOST,
    log_path: logPath,
    workspace: b.home,
  }, DISPATCHER);
  return { c, logPath };
}

Deno.test("adopt delivers the report of a worker that went while no dispatcher watched it", async () => {
  await using b = bundle();
  const { c, logPath } = await goneWorker(b);
  const file = reportFileOf(logPath)!;
  writePendingReport(file, {
    version: 1,
    task: c.task.id,
    run: c.run.id,
    kind: "complete",
    input: { summary: "done while the dispatcher was away" },
    error: "the dispatcher's socket is gone",
    at: new Date(b.clock.wall).toISOString(),
  });
  const r = await service(b).runOnce(b.clock.read());
  assert.deepEqual(r.ended, [{
    run: c.run.id,
    task: c.task.id,
    outcome: "completed",
    reason: "delivered the report its worker could not",
  }]);
  assert.equal((await b.store.getRun(c.run.id)).summary, "done while the dispatcher was away");
  assert.equal((await b.store.getTask(c.task.id)).status, "done");
  assert.equal(existsSync(file), false);
});

Deno.test("adopt ends a run whose worker its lease guard stopped as lost, saying so", async () => {
  await using b = bundle();
  const { c, logPath } = await goneWorker(b);
  writeFileSync(guardFiles(logPath).stopped, "12345\n");
  const r = await service(b).runOnce(b.clock.read());
  assert.equal(r.ended.length, 1);
  assert.equal(r.ended[0]!.outcome, "lost");
  assert.match(r.ended[0]!.reason, /lease guard stopped the worker before the lease could expire/);
  const t = await b.store.getTask(c.task.id);
  assert.equal(t.status, "ready");
  assert.equal(t.consecutive_failures, 1, "counted once");
});

Deno.test("adopt ends another host's run as lost only once its lease expired on the wall clock", async () => {
  await using b = bundle('lease = "2m"');
  const c = await claimed(b, "other-host");
  assert.deepEqual((await service(b).runOnce(b.clock.read())).ended, []);
  b.clock.advance(119_000);
  assert.deepEqual((await service(b).runOnce(b.clock.read())).ended, [], "still leased");
  b.clock.advance(2_000);
  const r = await service(b).runOnce(b.clock.read());
  assert.deepEqual(r.ended, [{
    run: c.run.id,
    task: c.task.id,
    outcome: "lost",
    reason: "lease expired and no worker process is known",
  }]);
});
