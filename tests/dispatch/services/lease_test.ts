/**
 * The lease service alone, on a real board with injected clocks: it takes the board's lease,
 * a second dispatcher stands by, and takes over only once the holder stopped ticking for a
 * lease period of its own monotonic clock, whatever the wall clock says; the holder applies a
 * wall-clock step to the board's deadlines once.
 */
import assert from "node:assert/strict";
import { LeaseService } from "../../../lib/dispatch/services/lease.ts";
import { HUMAN } from "../../_setup.ts";
import { bundle, TestClock } from "./_bundle.ts";

const TOML = 'dispatcher_lease = "15s"';

Deno.test("lease: the first dispatcher holds the board, renews it, and a second stands by", async () => {
  await using b = bundle(TOML);
  const log: string[] = [];
  const a = new LeaseService({
    store: b.store,
    config: b.config,
    me: { id: "a", host: "h" },
    log: (l) => log.push(l),
  });
  const other = new LeaseService({
    store: b.store,
    config: b.config,
    me: { id: "b", host: "h" },
    log: (l) => log.push(l),
  });
  assert.deepEqual(await a.runOnce(b.clock.read()), {
    active: true,
    leader: true,
    standby_for: null,
    took_over_from: null,
  });
  assert.deepEqual(await other.runOnce(b.clock.read()), {
    active: false,
    leader: false,
    standby_for: "a",
    took_over_from: null,
  });
  b.clock.advance(10_000);
  assert.equal((await a.runOnce(b.clock.read())).active, true, "renewed");
  b.clock.advance(10_000); // 20 s after the take, 10 s after the renewal
  assert.equal((await other.runOnce(b.clock.read())).active, false);
  assert.deepEqual(log, []);
});

Deno.test("lease: a standby takes over once the holder stopped ticking for a lease period of its monotonic clock", async () => {
  await using b = bundle(TOML);
  const holder = new LeaseService({
    store: b.store,
    config: b.config,
    me: { id: "a", host: "h" },
    log: () => {},
  });
  const log: string[] = [];
  const standby = new LeaseService({
    store: b.store,
    config: b.config,
    me: { id: "b", host: "h" },
    log: (l) => log.push(l),
  });
  // The standby's own monotonic clock: the wall clock (the board's) is shared.
  const mono = new TestClock();
  const seen = () => ({ wall: b.clock.wall, mono: mono.monoMs });
  assert.equal((await holder.runOnce(b.clock.read())).active, true);
  assert.equal((await standby.runOnce(seen())).active, false);
  // A wall-clock step makes the holder's lease look hours past; it ticked moments ago.
  b.clock.step(3 * 3_600_000);
  b.clock.advance(1_000);
  mono.monoMs += 1_000;
  assert.equal((await standby.runOnce(seen())).active, false, "a step alone takes nothing");
  // The holder stops ticking; 16 s pass on the standby's monotonic clock.
  b.clock.advance(16_000);
  mono.monoMs += 16_000;
  const r = await standby.runOnce(seen());
  assert.equal(r.active, true);
  assert.equal(r.took_over_from, "a");
  assert.deepEqual(log, ["took over from a, this host's dispatcher before"]);
  assert.equal((await holder.runOnce(b.clock.read())).active, false, "the old holder lost it");
});

Deno.test("lease: the holder shifts the board's deadlines by a wall-clock step, once", async () => {
  await using b = bundle(TOML);
  const log: string[] = [];
  const s = new LeaseService({
    store: b.store,
    config: b.config,
    me: { id: "a", host: "h" },
    log: (l) => log.push(l),
  });
  const task = (await b.store.createTask({ title: "later", assignee: "coder" }, HUMAN)).task;
  await b.store.claim({ taskId: task.id, profile: "coder" }, HUMAN);
  assert.equal((await s.runOnce(b.clock.read())).clock_step, undefined);
  const before = (await b.store.openRuns())[0]!.lease_expires!;
  b.clock.step(2 * 3_600_000);
  const r = await s.runOnce(b.clock.read());
  assert.equal(r.clock_step?.leases, 1);
  const after = (await b.store.openRuns())[0]!.lease_expires!;
  assert.equal(Date.parse(after) - Date.parse(before), 2 * 3_600_000);
  assert.match(log[0]!, /^the wall clock stepped by 7200s; shifted 0 retry backoff\(s\), 1 lease/);
  b.clock.advance(1_000);
  assert.equal((await s.runOnce(b.clock.read())).clock_step, undefined, "applied once");
});
