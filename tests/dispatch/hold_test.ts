/**
 * Why a ready task waits, under the real dispatcher with real workers: a capped profile holds
 * the second task, `why` says so from the board alone, and the dispatcher records one `held`
 * event over many passes, and another when the reason changes (memory pressure).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { agent, harness } from "./_harness.ts";
import type { MachineSample } from "../../lib/dispatch/pressure.ts";
import type { Store } from "../../lib/store/mod.ts";

const GiB = 1024 ** 3;
const machine = (availableGiB: number): MachineSample => ({
  mem_total: 8 * GiB,
  mem_available: availableGiB * GiB,
  swap_total: 0,
  swap_free: 0,
  load1: 0,
  cores: 2,
});

const held = async (store: Store, id: string) =>
  (await store.showTask(id)).events.filter((e) => e.kind === "held");

Deno.test("a capped profile: the second task's why says profile_cap, and one held event is recorded over several passes", async () => {
  let now = machine(6);
  await using h = await harness({ a: agent("slow.sh", "max_concurrent = 1") }, "max_workers = 4");
  const d = h.newDispatcher("hold-dispatcher", { pressure: () => now });
  const first = await h.create("first", "a", { priority: 1 });
  const second = await h.create("second", "a");
  await h.until(async () => (await h.store.openRuns()).length === 1, 15_000, d);
  assert.equal(await h.status(first.id), "running");

  const why = await h.store.why(second.id);
  assert.deepEqual(why.reasons.map((r) => r.code), ["profile_cap"]);
  assert.match(why.summary, /profile "a" is at its cap: 1 running of max_concurrent 1/);

  // several passes, each after the hold service's interval (poll_interval 1s): one event
  for (let i = 0; i < 4; i++) {
    h.clock.advance(1_100);
    const r = await d.runOnce();
    assert.deepEqual(r.holds, { profile_cap: 1 }, `pass ${i}`);
  }
  const events = await held(h.store, second.id);
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.deepEqual(
    [events[0]!.data["reason"], events[0]!.data["host"], events[0]!.actor],
    ["profile_cap", d.host, "dispatcher"],
  );
  assert.equal((await held(h.store, first.id)).length, 0, "the running task was never held");
  const tick = (await h.store.dispatchers()).find((x) => x.id === d.id)!.report as {
    holds: unknown;
  };
  assert.deepEqual(tick.holds, { profile_cap: 1 }, "published for status");

  // a new reason: memory pressure holds every new worker; recorded once, then unchanged
  now = machine(0.1);
  for (let i = 0; i < 3; i++) {
    h.clock.advance(1_100);
    assert.equal((await d.runOnce()).pressure?.held, true);
  }
  const after = await held(h.store, second.id);
  assert.deepEqual(after.map((e) => e.data["reason"]), ["profile_cap", "pressure"]);
  const pressed = await h.store.why(second.id);
  assert.deepEqual(pressed.reasons.map((r) => r.code), ["profile_cap", "pressure"]);

  // a restarted dispatcher of the same host remembers nothing but records nothing new
  now = machine(6);
  h.clock.advance(1_100);
  await d.runOnce(); // back to profile_cap: a third event
  const again = h.newDispatcher("hold-dispatcher", { pressure: () => now });
  await d.settle();
  for (let i = 0; i < 2; i++) {
    h.clock.advance(1_100);
    await again.runOnce();
  }
  assert.deepEqual(
    (await held(h.store, second.id)).map((e) => e.data["reason"]),
    ["profile_cap", "pressure", "profile_cap"],
  );
  writeFileSync(join(h.home, "release"), "");
  await h.until(async () => (await h.store.stats()).by_status.done === 2, 30_000, again);
});
