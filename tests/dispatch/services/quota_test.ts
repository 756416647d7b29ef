/**
 * The quota service and the reap service on account trouble: a worker that exits on a rate
 * limit, an exhausted quota or a failed sign-in, or keeps retrying one, holds its profile,
 * and its run is not the task's failure.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { authBlockReason } from "../../../lib/store/mod.ts";
import { readStat } from "../../../lib/dispatch/proc.ts";
import { logSize } from "../../../lib/dispatch/logs.ts";
import { AdoptService } from "../../../lib/dispatch/services/adopt.ts";
import { ReapService } from "../../../lib/dispatch/services/reap.ts";
import { heldNow, QuotaService } from "../../../lib/dispatch/services/quota.ts";
import type { Worker } from "../../../lib/dispatch/services/workers.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";

function services(b: Bundle) {
  const quota = new QuotaService({
    store: b.store,
    config: b.config,
    workers: b.workers,
    host: "h",
    log: (l) => b.logs.push(l),
  });
  const reap = new ReapService({
    store: b.store,
    config: b.config,
    workers: b.workers,
    host: "h",
    log: (l) => b.logs.push(l),
    quota: quota.gate,
  });
  return { quota, reap };
}

/** worker runs `sh -c script` for a new claimed task of coder, its output in a log. */
async function worker(b: Bundle, script: string): Promise<{ w: Worker; task: string }> {
  const task = (await b.store.createTask({ title: "work", assignee: "coder" }, HUMAN)).task;
  const claim = (await b.store.claim({ taskId: task.id, profile: "coder" }, DISPATCHER))!;
  mkdirSync(join(b.home, "logs"), { recursive: true });
  const logPath = join(b.home, "logs", `${claim.run.id}.log`);
  const fd = openSync(logPath, "a");
  const child = spawn("sh", ["-c", script], { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const pid = child.pid!;
  const w = b.workers.make(claim.run, pid, readStat(pid)?.startTime ?? null, child, logPath, null);
  w.profile = "coder";
  child.once("exit", (code, signal) => b.workers.exited(w, code, signal));
  b.workers.set(w);
  return { w, task: task.id };
}

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** reapAll runs the reap service until it reaps (bounded). */
async function reapAll(b: Bundle, reap: ReapService) {
  for (let i = 0; i < 100; i++) {
    const r = await reap.runOnce(b.clock.read());
    if (r.reaped.length > 0) return r;
    await b.stopped();
  }
  throw new Error("nothing reaped");
}

Deno.test("a worker that exits on a 429 holds its profile until the reported reset; not a failure", async () => {
  await using b = bundle();
  const { quota, reap } = services(b);
  const { w, task } = await worker(
    b,
    "echo working; echo 'Error: 429 Too Many Requests' >&2; echo 'retry-after: 30' >&2; exit 1",
  );
  await until("the exit", () => w.exit !== null);
  const r = await reapAll(b, reap);
  assert.equal(r.reaped[0]!.outcome, "transient");
  const run = await b.store.getRun(w.runId);
  assert.equal(run.outcome, "transient");
  assert.match(
    run.error!,
    /^rate limited: Error: 429 Too Many Requests; profile coder held until .*, not counted/,
  );
  const t = await b.store.getTask(task);
  assert.equal(t.status, "ready");
  assert.equal(t.consecutive_failures, 0);
  const [hold] = await b.store.profileHolds();
  assert.equal(hold!.kind, "rate_limit");
  assert.equal(Date.parse(hold!.until!), b.clock.wall + 30_000);
  // the next pass: the profile is held for the fill service, and the log says so once
  const q = await quota.runOnce(b.clock.read());
  assert.equal(heldNow(quota.gate, "coder", b.clock.wall)?.kind, "rate_limit");
  assert.deepEqual(q.quota_held.map((h) => h.profile), ["coder"]);
  await quota.runOnce(b.clock.read());
  assert.equal(b.logs.filter((l) => l.startsWith("holding profile coder")).length, 1);
  b.clock.advance(30_001);
  await quota.runOnce(b.clock.read());
  assert.equal(heldNow(quota.gate, "coder", b.clock.wall), null);
  assert.ok(b.logs.includes("profile coder is no longer held"));
});

Deno.test("a worker that exits on a failed sign-in holds its profile and blocks its task until released", async () => {
  await using b = bundle();
  const { reap } = services(b);
  const { w, task } = await worker(
    b,
    "echo 'unexpected status 401 Unauthorized: Incorrect API key provided' >&2; exit 1",
  );
  await until("the exit", () => w.exit !== null);
  await reapAll(b, reap);
  const t = await b.store.getTask(task);
  assert.equal(t.status, "blocked");
  assert.equal(t.blocked_reason, authBlockReason("coder"));
  assert.equal(t.consecutive_failures, 0, "no retry was burnt on it");
  const [hold] = await b.store.profileHolds();
  assert.equal(hold!.kind, "auth");
  assert.equal(hold!.until, null);
  const released = await b.store.releaseHold("coder", HUMAN);
  assert.deepEqual(released.unblocked, [task]);
  assert.equal((await b.store.getTask(task)).status, "ready");
});

Deno.test("a crash that shows no account trouble is still the worker's failure", async () => {
  await using b = bundle();
  const { reap } = services(b);
  const { w, task } = await worker(b, "echo 'TypeError: quota is undefined' >&2; exit 1");
  await until("the exit", () => w.exit !== null);
  await reapAll(b, reap);
  assert.equal((await b.store.getRun(w.runId)).outcome, "crashed", "naming quota is not one");
  assert.equal((await b.store.getTask(task)).consecutive_failures, 1);
  assert.deepEqual(await b.store.profileHolds(), []);
  const { w: w2, task: task2 } = await worker(b, "echo 'TypeError: x is undefined' >&2; exit 1");
  await until("the exit", () => w2.exit !== null);
  await reapAll(b, reap);
  assert.equal((await b.store.getRun(w2.runId)).outcome, "crashed");
  assert.equal((await b.store.getTask(task2)).consecutive_failures, 1);
});

Deno.test("a worker whose CLI keeps retrying a rate limit is stopped and its profile held", async () => {
  await using b = bundle(`quota_retries = 3`);
  const { quota, reap } = services(b);
  const retry = (n: number) =>
    `echo '{"type":"system","subtype":"api_retry","attempt":${n},"retry_delay_ms":2000,` +
    `"error_status":429,"error":"rate_limit"}'`;
  const { w, task } = await worker(
    b,
    `echo '{"type":"system","subtype":"init"}'; ${retry(1)}; ${retry(2)}; ` +
      `echo 'SENT'; sleep 30`,
  );
  await until("its output", () => logSize(w.logPath!) > 0);
  await new Promise((r) => setTimeout(r, 100));
  w.logBytes = logSize(w.logPath!);
  // two retries, then other output: it is working, not stuck
  let q = await quota.runOnce(b.clock.read());
  assert.deepEqual(q.stopping, []);

  const { w: stuck, task: stuckTask } = await worker(
    b,
    `echo '{"type":"system","subtype":"init"}'; ${retry(1)}; ${retry(2)}; ${retry(3)}; sleep 30`,
  );
  await until("its output", () => logSize(stuck.logPath!) > 200);
  await new Promise((r) => setTimeout(r, 100));
  stuck.logBytes = logSize(stuck.logPath!);
  q = await quota.runOnce(b.clock.read());
  assert.deepEqual(q.stopping.map((s) => s.task), [stuckTask]);
  assert.match(q.stopping[0]!.reason, /^rate limited: .*"error_status":429.*; profile coder held/);
  assert.equal(heldNow(quota.gate, "coder", b.clock.wall)?.kind, "rate_limit");
  await b.stopped();
  const r = await reapAll(b, reap);
  assert.deepEqual(r.reaped.map((x) => [x.task, x.outcome]), [[stuckTask, "transient"]]);
  assert.equal((await b.store.getTask(stuckTask)).consecutive_failures, 0);
  assert.equal((await b.store.getTask(task)).status, "running", "the working one runs on");
  assert.equal(w.stop, null);
});

Deno.test("a worker that exited on a 429 while no dispatcher watched holds its profile when found", async () => {
  await using b = bundle();
  const task = (await b.store.createTask({ title: "work", assignee: "coder" }, HUMAN)).task;
  const claim = (await b.store.claim({ taskId: task.id, profile: "coder" }, DISPATCHER))!;
  mkdirSync(join(b.home, "logs"), { recursive: true });
  const logPath = join(b.home, "logs", "orphan.log");
  writeFileSync(logPath, "working\nError: 429 Too Many Requests\nretry-after: 120\n");
  // its worker came and went with its dispatcher: a pid that is no longer there
  const gone = spawn("true");
  await new Promise((r) => gone.once("exit", r));
  await b.store.recordSpawn(claim.run.id, {
    pid: gone.pid!,
    pid_start_time: null,
    host: "h",
    log_path: logPath,
    workspace: b.home,
  }, DISPATCHER);
  const adopt = new AdoptService({
    store: b.store,
    config: b.config,
    workers: b.workers,
    host: "h",
    log: (l) => b.logs.push(l),
  });
  const r = await adopt.runOnce(b.clock.read());
  assert.deepEqual(r.ended.map((e) => e.outcome), ["transient"]);
  assert.equal((await b.store.getTask(task.id)).consecutive_failures, 0);
  const [hold] = await b.store.profileHolds();
  assert.equal(hold?.kind, "rate_limit");
  assert.equal(Date.parse(hold!.until!), b.clock.wall + 120_000);
});
