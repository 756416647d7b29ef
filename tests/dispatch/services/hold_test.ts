/**
 * The hold service alone, on a real board with an injected clock: one `held` event per new
 * reason (not on every look), a look at most once per poll interval, a new event when the
 * reason changes, nothing new after a restart, and another host's work left to that host.
 */
import assert from "node:assert/strict";
import { HoldService } from "../../../lib/dispatch/services/hold.ts";
import type { Pressure } from "../../../lib/dispatch/pressure.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";

const TOML = `max_workers = 3
[profiles.a]
command = ["sleep", "30"]
max_concurrent = 1
`;

const PRESSED: Pressure = {
  held: true,
  reason: "memory",
  detail: "free memory 1MB is under 10%",
  free_bytes: 1,
  load_per_core: 0,
};

function service(b: Bundle, pressure: () => Pressure | null = () => null): HoldService {
  return new HoldService({
    store: b.store,
    config: b.config,
    workers: b.workers,
    host: "here",
    pressure,
    draining: () => false,
  });
}

async function held(b: Bundle, id: string): Promise<string[]> {
  return (await b.store.showTask(id)).events.filter((e) => e.kind === "held")
    .map((e) => `${e.data["reason"]}@${e.data["host"]}`);
}

const task = async (b: Bundle, title: string, assignee: string) =>
  (await b.store.createTask({ title, assignee }, HUMAN)).task.id;

Deno.test("hold records one held event per new reason, looks once per poll interval, and again on a change", async () => {
  await using b = bundle(TOML);
  const first = await task(b, "first", "a");
  const second = await task(b, "second", "a");
  assert.ok(await b.store.claim({ taskId: first, profile: "a" }, DISPATCHER));
  let pressure: Pressure | null = null;
  const s = service(b, () => pressure);
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual(r.held, [{ task: second, reason: "profile_cap" }]);
  assert.deepEqual(r.holds, { profile_cap: 1 });
  for (let i = 0; i < 3; i++) {
    b.clock.advance(2_500); // past poll_interval (2s): a new look, the same reason
    assert.deepEqual((await s.runOnce(b.clock.read())).held, []);
  }
  assert.deepEqual(await held(b, second), ["profile_cap@here"]);

  pressure = PRESSED;
  b.clock.advance(1_000); // within the poll interval of the last look: not looked at
  assert.deepEqual((await s.runOnce(b.clock.read())).held, []);
  b.clock.advance(1_500);
  const changed = await s.runOnce(b.clock.read());
  assert.deepEqual(changed.held, [{ task: second, reason: "pressure" }]);
  assert.deepEqual(await held(b, second), ["profile_cap@here", "pressure@here"]);

  // a restarted dispatcher (a new service) compares with the board's last held event
  const again = service(b, () => pressure);
  b.clock.advance(2_500);
  assert.deepEqual((await again.runOnce(b.clock.read())).held, []);
  assert.deepEqual(await held(b, second), ["profile_cap@here", "pressure@here"]);
});

Deno.test("hold leaves a task another live host runs to that host, and says no_profile when none does", async () => {
  await using b = bundle(TOML);
  const ghost = await task(b, "haunted", "ghost");
  const s = service(b);
  assert.deepEqual((await s.runOnce(b.clock.read())).held, [{ task: ghost, reason: "no_profile" }]);
  // another host that defines "ghost" starts dispatching the board
  await b.store.acquireDispatchLease({ id: "other", host: "there", pid: 1 }, 15_000);
  await b.store.recordDispatcherTick("other", {
    profiles: { ghost: { max_concurrent: 1 } },
    labels: [],
  });
  b.clock.advance(2_500);
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual([r.held, r.holds], [[], {}], "not this host's to hold");
  assert.deepEqual(await held(b, ghost), ["no_profile@here"]);
});
