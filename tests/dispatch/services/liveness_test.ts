/**
 * The liveness service alone, on a real board with an injected clock: stalls and timeouts are
 * measured on the monotonic clock, progress (a heartbeat) resets the stall, a wall-clock step
 * stops nothing but renews the lease at once, and a run closed by a person stops its worker.
 */
import assert from "node:assert/strict";
import { LivenessService } from "../../../lib/dispatch/services/liveness.ts";
import { liveness } from "../../../lib/dispatch/proc.ts";
import type { Claim } from "../../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";

const TOML = 'stall_timeout = "60s"\nmax_runtime = "10m"\nlease = "2m"';

async function running(b: Bundle): Promise<Claim> {
  await b.store.createTask({ title: "work", assignee: "coder" }, HUMAN);
  const claim = await b.store.claim({ assignees: ["coder"], leaseMs: 120_000 }, DISPATCHER);
  assert.ok(claim, "claimed");
  return claim;
}

function service(b: Bundle): LivenessService {
  return new LivenessService({ store: b.store, config: b.config, workers: b.workers });
}

Deno.test("liveness marks a run stalled once the monotonic clock passes stall_timeout without progress", async () => {
  await using b = bundle(TOML);
  const claim = await running(b);
  const w = b.supervise(claim.run);
  const s = service(b);
  b.clock.advance(40_000);
  assert.deepEqual((await s.runOnce(b.clock.read())).stopping, []);
  await b.store.heartbeat(claim.task.id, { name: "coder-1", token: claim.token });
  b.clock.advance(40_000); // 80 s since the start: this pass sees the heartbeat (progress)
  assert.deepEqual((await s.runOnce(b.clock.read())).stopping, []);
  b.clock.advance(60_000); // 60 s since progress was seen: not yet
  assert.deepEqual((await s.runOnce(b.clock.read())).stopping, []);
  b.clock.advance(1_000); // 61 s without progress
  const report = await s.runOnce(b.clock.read());
  assert.deepEqual(report.stopping, [
    { run: claim.run.id, task: claim.task.id, reason: "no output and no heartbeat for 60s" },
  ]);
  assert.equal(w.stop?.outcome, "stalled");
  await b.stopped();
  assert.notEqual(liveness(w.pid, w.startTime), "alive", "the worker's process group was killed");
  assert.deepEqual((await s.runOnce(b.clock.read())).stopping, [], "a stop is started once");
});

Deno.test("liveness stops a run past max_runtime even while it makes progress", async () => {
  await using b = bundle(TOML);
  const claim = await running(b);
  const w = b.supervise(claim.run);
  const s = service(b);
  for (let i = 0; i < 14; i++) {
    b.clock.advance(50_000);
    await b.store.heartbeat(claim.task.id, { name: "coder-1", token: claim.token });
    const r = await s.runOnce(b.clock.read());
    if (r.stopping.length > 0) {
      assert.equal(i, 12, "stopped in the first pass past 600 s (650 s), not before");
      assert.equal(r.stopping[0]!.reason, "ran longer than 600s");
      assert.equal(w.stop?.outcome, "timed_out");
      return;
    }
  }
  assert.fail("the run was never stopped for its runtime");
});

Deno.test("a step of the wall clock stalls nothing and renews the lease at once", async () => {
  await using b = bundle(TOML);
  const claim = await running(b);
  b.supervise(claim.run);
  const s = service(b);
  b.clock.step(3 * 3_600_000); // the lease now looks hours past
  b.clock.advance(1_000);
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual(r.stopping, []);
  const run = await b.store.getRun(claim.run.id);
  assert.ok(Date.parse(run.lease_expires!) > b.clock.wall, "the lease runs from the new time");
});

Deno.test("a run a person closed while its worker runs gets its worker stopped", async () => {
  await using b = bundle(TOML);
  const claim = await running(b);
  const w = b.supervise(claim.run);
  await b.store.cancel(claim.task.id, "not needed", HUMAN);
  const r = await service(b).runOnce(b.clock.read());
  assert.equal(r.stopping.length, 1);
  assert.match(r.stopping[0]!.reason, /^run cancelled; stopping the worker$/);
  await b.stopped();
  assert.notEqual(liveness(w.pid, w.startTime), "alive");
});

Deno.test("a worker whose completion waits for its gate gets exit_grace, no stall, then a stop with no outcome", async () => {
  await using b = bundle(`${TOML}\nexit_grace = "5s"`);
  await b.store.createTask({ title: "work", assignee: "coder", gate: ["true"] }, HUMAN);
  const claim = (await b.store.claim({ assignees: ["coder"], leaseMs: 120_000 }, DISPATCHER))!;
  const w = b.supervise(claim.run);
  const s = service(b);
  await b.store.complete(claim.task.id, { summary: "s" }, { name: "coder-1", token: claim.token });
  assert.deepEqual((await s.runOnce(b.clock.read())).stopping, []);
  b.clock.advance(4_000);
  assert.deepEqual((await s.runOnce(b.clock.read())).stopping, []);
  b.clock.advance(1_000);
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual(r.stopping, [{
    run: claim.run.id,
    task: claim.task.id,
    reason: "completed; stopping the worker so that its gate can run",
  }]);
  assert.equal(w.stop?.outcome, null, "the run is not ended: its gate is to run");
  await b.stopped();
  assert.equal((await b.store.getRun(claim.run.id)).open, true);
});

Deno.test("while a gate runs, liveness renews its run's lease, and stops the gate once the run is closed", async () => {
  await using b = bundle(TOML);
  await b.store.createTask({ title: "work", assignee: "coder", gate: ["true"] }, HUMAN);
  const claim = (await b.store.claim({ assignees: ["coder"], leaseMs: 120_000 }, DISPATCHER))!;
  const w = b.supervise(claim.run, ["true"]);
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  b.workers.startGate(w, { argv: ["sleep", "30"], cwd: b.home, env: {}, timeoutMs: 60_000 });
  const s = service(b);
  const before = (await b.store.getRun(claim.run.id)).lease_expires!;
  b.clock.advance(41_000); // past a third of the 2 minute lease
  await s.runOnce(b.clock.read());
  const renewed = (await b.store.getRun(claim.run.id)).lease_expires!;
  assert.equal(Date.parse(renewed) - Date.parse(before), 41_000);
  await b.store.complete(claim.task.id, {}, HUMAN);
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual(r.stopping, [{
    run: claim.run.id,
    task: claim.task.id,
    reason: "its run ended while the gate ran",
  }]);
  for (let i = 0; i < 250 && w.gate!.result === null; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(w.gate!.result?.passed, false);
  assert.match(w.gate!.result!.output, /gate stopped: its run ended while the gate ran/);
});
