/**
 * The cutoff service alone, with an injected clock and a real board reached through a wrapper
 * that fails every call while "the network is down" (the store's logic is untouched): a host
 * that cannot renew its workers' leases stops them after `lease - margin` without a renewal,
 * not before, with a grace that ends before the lease can expire; a wall-clock step neither
 * triggers nor delays it; once the board is back the run ends as `lost` with a clear error,
 * unless another host ended it meanwhile, in which case nothing is written to it.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import {
  cutoffAt,
  cutoffGrace,
  cutoffMargin,
  cutoffRenewFirst,
  CutoffService,
} from "../../../lib/dispatch/services/cutoff.ts";
import { LivenessService } from "../../../lib/dispatch/services/liveness.ts";
import { ReapService } from "../../../lib/dispatch/services/reap.ts";
import { liveness, readStat } from "../../../lib/dispatch/proc.ts";
import { BusyError, type Claim, type Store } from "../../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { boardState } from "../../store/_helpers.ts";
import { type Bundle, bundle } from "./_bundle.ts";

const TOML = 'stall_timeout = "1h"\nmax_runtime = "10h"\nlease = "2m"';
const LEASE = 120_000;

/** unreliable wraps `store` so that every call fails as a board out of reach while `down`. */
function unreliable(store: Store): { store: Store; net: { down: boolean } } {
  const net = { down: false };
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (net.down) return Promise.reject(new BusyError(target.path, 10_000));
        return value.apply(target, args);
      };
    },
  });
  return { store: wrapped, net };
}

async function running(b: Bundle): Promise<Claim> {
  await b.store.createTask({ title: "work", assignee: "coder" }, HUMAN);
  const claim = await b.store.claim({ assignees: ["coder"], leaseMs: LEASE }, DISPATCHER);
  assert.ok(claim, "claimed");
  return claim;
}

/** pass runs liveness (which fails while the board is down) and then the cutoff, as the loop does. */
async function pass(b: Bundle, live: LivenessService, cut: CutoffService) {
  try {
    await live.runOnce(b.clock.read());
  } catch (err) {
    assert.ok(err instanceof BusyError, String(err));
  }
  return await cut.runOnce(b.clock.read());
}

/** reapOf is the reap service of `b`'s workers over `store` (the board as the test reaches it). */
function reapOf(b: Bundle, store: Store): ReapService {
  return new ReapService({ store, config: b.config, workers: b.workers, host: "h", log: () => {} });
}

Deno.test("the margin and grace of a cutoff fit inside every lease", () => {
  assert.equal(cutoffMargin(120_000), 24_000);
  assert.equal(cutoffMargin(5_000), 2_000);
  assert.equal(cutoffMargin(1_000), 500, "a tiny lease keeps half of itself");
  for (const lease of [1_000, 3_000, 10_000, 120_000, 86_400_000]) {
    const margin = cutoffMargin(lease);
    assert.ok(margin <= lease / 2 && margin >= Math.min(2_000, lease / 2), String(lease));
    assert.ok(lease - margin > lease / 3, "renewals (every third of a lease) come first");
    assert.ok(cutoffGrace(lease, 600_000) <= margin / 2, "SIGKILL half a margin before expiry");
    assert.ok(
      cutoffRenewFirst(lease) + cutoffGrace(lease, 600_000) <= margin * 3 / 4,
      "a quarter of a margin before expiry after waiting for a renewal",
    );
  }
});

Deno.test("cutoff stops a worker whose lease went unrenewed for lease - margin, not before, and before it can expire", async () => {
  await using b = bundle(TOML);
  const { store, net } = unreliable(b.store);
  const claim = await running(b);
  const w = b.supervise(claim.run);
  const live = new LivenessService({ store, config: b.config, workers: b.workers });
  const cut = new CutoffService({
    config: b.config,
    workers: b.workers,
    log: (l) => b.logs.push(l),
  });
  b.clock.advance(40_000);
  await pass(b, live, cut); // a third of the lease: renewed
  const renewedAt = b.clock.monoMs;
  assert.equal(w.renewedAt, renewedAt);
  const expires = Date.parse((await b.store.getRun(claim.run.id)).lease_expires!);
  assert.equal(expires, b.clock.wall + LEASE);
  net.down = true;
  b.clock.step(3_600_000); // a wall-clock step forward does not cut anything off
  assert.deepEqual((await pass(b, live, cut)).stopping, []);
  b.clock.step(-3_600_000);
  const margin = cutoffMargin(LEASE);
  b.clock.advance(LEASE - margin - 1);
  assert.deepEqual((await pass(b, live, cut)).stopping, [], "not before the margin");
  assert.equal(cut.next(), renewedAt + LEASE - margin);
  b.clock.advance(1);
  const r = await pass(b, live, cut);
  assert.equal(r.stopping.length, 1);
  assert.match(r.stopping[0]!.reason, /^lease could not be renewed: cut off from the board/);
  assert.equal(w.stop?.outcome, "lost");
  assert.equal(w.stop?.cutOff, true);
  // SIGTERM now, SIGKILL after the grace: both before the board's expiry, by half a margin
  const killBy = b.clock.wall + w.stop!.graceMs!;
  assert.ok(killBy <= expires - margin / 2, `${killBy} <= ${expires - margin / 2}`);
  assert.equal(cutoffAt(w), b.clock.monoMs);
  await b.stopped();
  assert.notEqual(liveness(w.pid, w.startTime), "alive", "the worker's group is gone");
  assert.deepEqual((await pass(b, live, cut)).stopping, [], "a stop is started once");

  // the board comes back: the run ends as lost, saying why
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  net.down = false;
  const reap = reapOf(b, store);
  const reaped = await reap.runOnce(b.clock.read());
  assert.equal(reaped.reaped[0]?.outcome, "lost");
  const run = await b.store.getRun(claim.run.id);
  assert.equal(run.outcome, "lost");
  assert.match(run.error!, /^lease could not be renewed: cut off from the board/);
  assert.notEqual((await b.store.getTask(claim.task.id)).status, "running");
});

Deno.test("cutoff: a run another host ended and re-assigned meanwhile is left as it is", async () => {
  await using b = bundle(TOML);
  const { store, net } = unreliable(b.store);
  const claim = await running(b);
  const w = b.supervise(claim.run);
  const live = new LivenessService({ store, config: b.config, workers: b.workers });
  const cut = new CutoffService({ config: b.config, workers: b.workers, log: () => {} });
  net.down = true;
  b.clock.advance(LEASE - cutoffMargin(LEASE));
  assert.equal((await pass(b, live, cut)).stopping.length, 1);
  await b.stopped();
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  // meanwhile, on the board: the lease expired, another host ended the run and claimed again
  b.clock.advance(cutoffMargin(LEASE));
  const other = { name: "dispatcher@other-host" };
  await b.store.endRun(claim.run.id, { outcome: "lost", error: "lease expired" }, other);
  await b.store.unblock(claim.task.id, HUMAN).catch(() => {}); // (ready already, after backoff)
  b.clock.advance(3_600_000);
  const again = await b.store.claim({ taskId: claim.task.id, profile: "coder" }, other);
  assert.ok(again, "re-claimed elsewhere");
  net.down = false;
  const before = await boardState(b.store);
  const reap = reapOf(b, store);
  await reap.runOnce(b.clock.read());
  assert.equal(b.workers.size, 0, "the stopped worker is forgotten");
  assert.deepEqual(await boardState(b.store), before, "nothing written to either run");
});

/** groupAlive: a live process (not a zombie) of group `pgid` still exists. */
function groupAlive(pgid: number): boolean {
  return readdirSync("/proc").some((name) => {
    const st = /^\d+$/.test(name) ? readStat(Number(name)) : null;
    return st !== null && st.pgrp === pgid && st.state !== "Z";
  });
}

Deno.test("cutoff stops what a worker that exited left in its group while the board was out of reach to reap it", async () => {
  await using b = bundle(TOML);
  const { store, net } = unreliable(b.store);
  const claim = await running(b);
  // the worker exits, and a process it started (a report still trying to get through, say)
  // lives on in its group; the pass that would stop it cannot reach the board
  const w = b.supervise(claim.run, ["sh", "-c", "sleep 30 & exit 3"]);
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(w.exit?.code, 3);
  assert.ok(groupAlive(w.pid), "its child lives on");
  const live = new LivenessService({ store, config: b.config, workers: b.workers });
  const cut = new CutoffService({ config: b.config, workers: b.workers, log: () => {} });
  net.down = true;
  b.clock.advance(LEASE - cutoffMargin(LEASE) - 1);
  assert.equal(cut.next(), b.clock.monoMs + 1, "its cutoff is armed");
  b.clock.advance(1);
  assert.equal((await pass(b, live, cut)).stopping.length, 1);
  await b.stopped();
  assert.equal(groupAlive(w.pid), false, "nothing of the run is left");
  // the board is back: the run ends as its worker did
  net.down = false;
  const reap = reapOf(b, store);
  assert.equal((await reap.runOnce(b.clock.read())).reaped[0]?.outcome, "crashed");
  assert.match((await b.store.getRun(claim.run.id)).error ?? "", /exit code 3/);
});

Deno.test("cutoff stops a completion gate whose run's lease went unrenewed, and its run ends as lost once the board is back", async () => {
  await using b = bundle(TOML);
  const { store, net } = unreliable(b.store);
  await b.store.createTask({ title: "work", assignee: "coder", gate: ["true"] }, HUMAN);
  const claim = (await b.store.claim({ assignees: ["coder"], leaseMs: LEASE }, DISPATCHER))!;
  await b.store.complete(claim.task.id, { summary: "s" }, { name: "coder-1", token: claim.token });
  const w = b.supervise(claim.run, ["true"]);
  w.token = claim.token;
  for (let i = 0; i < 250 && w.exit === null; i++) await new Promise((r) => setTimeout(r, 20));
  w.stop = { outcome: null, reason: "exited", signalled: true, result: null };
  b.workers.startGate(w, { argv: ["sleep", "30"], cwd: b.home, env: {}, timeoutMs: 60_000 });
  const live = new LivenessService({ store, config: b.config, workers: b.workers });
  const cut = new CutoffService({ config: b.config, workers: b.workers, log: () => {} });
  const reap = reapOf(b, store);
  b.clock.advance(40_000);
  await pass(b, live, cut); // renewed while the gate runs
  assert.equal(w.renewedAt, b.clock.monoMs);
  net.down = true;
  const margin = cutoffMargin(LEASE);
  assert.equal(cut.next(), w.renewedAt + LEASE - margin, "the gate's lease is watched");
  b.clock.advance(LEASE - margin);
  const r = await pass(b, live, cut);
  assert.deepEqual(r.stopping.map((s) => s.reason), [
    "lease could not be renewed: cut off from the board",
  ]);
  for (let i = 0; i < 250 && w.gate!.result === null; i++) {
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(w.gate!.result!.passed, false);
  net.down = false;
  await reap.runOnce(b.clock.read());
  const run = await b.store.getRun(claim.run.id);
  assert.equal(run.outcome, "lost");
  assert.match(run.error!, /its completion gate was stopped: lease could not be renewed/);
  assert.equal(b.workers.size, 0);
});
