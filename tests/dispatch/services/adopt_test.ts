/**
 * The adopt service alone, on a real board with an injected clock: after a restart it adopts a
 * live worker of this host by its recorded pid, ends a run whose process is gone, and ends a
 * run of another host as lost only once its lease expired.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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
