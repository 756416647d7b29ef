/**
 * The fill service alone, on a real board: it claims and spawns real processes within the
 * global cap and each profile's max_concurrent, reports the full profiles, claims nothing while
 * draining, and ends a run whose worker cannot start as spawn_failed.
 */
import assert from "node:assert/strict";
import { FillService } from "../../../lib/dispatch/services/fill.ts";
import { BINARY } from "../../e2e/_binary.ts";
import { HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";
import type { MachineSample, PressureReader } from "../../../lib/dispatch/pressure.ts";

const TOML = `max_workers = 3
[profiles.a]
command = ["sleep", "30"]
max_concurrent = 1
[profiles.b]
command = ["sleep", "30"]
max_concurrent = 2
[profiles.broken]
command = ["/nonexistent/agent"]
`;

function service(
  b: Bundle,
  draining = false,
  pressure: PressureReader = () => null,
): FillService {
  return new FillService({
    pressure,
    store: b.store,
    config: b.config,
    workers: b.workers,
    board: { name: "default", path: b.boardPath },
    host: "test-host",
    kanbanBin: BINARY,
    env: { PATH: "/usr/bin:/bin", HOME: b.home, KANBAN_HOME: b.home },
    draining: () => draining,
    log: (line) => b.logs.push(line),
  });
}

async function tasks(b: Bundle, assignee: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await b.store.createTask({ title: `${assignee} ${i}`, assignee }, HUMAN)).task.id);
  }
  return ids;
}

Deno.test("fill spawns within max_workers and each profile's max_concurrent, and reports the full ones", async () => {
  await using b = bundle(TOML);
  const as = await tasks(b, "a", 2);
  await tasks(b, "b", 3);
  const s = service(b);
  const first = await s.runOnce(b.clock.read());
  assert.equal(first.spawned.length, 3);
  assert.deepEqual(first.spawned.map((x) => x.profile).sort(), ["a", "b", "b"]);
  // the order depends on which task was claimed first (same priority)
  assert.deepEqual(first.capped.toSorted((x, y) => x.profile.localeCompare(y.profile)), [
    { profile: "a", running: 1, max: 1 },
    { profile: "b", running: 2, max: 2 },
  ]);
  assert.equal(b.workers.size, 3);
  assert.ok(first.spawned.every((x) => x.pid > 1), "real processes");
  const again = await s.runOnce(b.clock.read());
  assert.deepEqual(again.spawned, [], "nothing more under the caps");
  const statuses = await Promise.all(as.map(async (id) => (await b.store.getTask(id)).status));
  assert.deepEqual(statuses.sort(), ["ready", "running"], "one a task waits");
  const runs = await b.store.openRuns();
  assert.equal(runs.length, 3);
  assert.ok(runs.every((r) => r.pid !== null && r.host === "test-host"), "pids recorded");
});

Deno.test("fill claims nothing while the dispatcher drains", async () => {
  await using b = bundle(TOML);
  const [id] = await tasks(b, "a", 1);
  const r = await service(b, true).runOnce(b.clock.read());
  assert.deepEqual([r.spawned, r.spawn_failed, r.capped], [[], [], []]);
  assert.equal((await b.store.getTask(id!)).status, "ready");
});

Deno.test("fill ends the run of a worker that cannot start as spawn_failed, with a backoff", async () => {
  await using b = bundle(TOML);
  const [id] = await tasks(b, "broken", 1);
  const r = await service(b).runOnce(b.clock.read());
  assert.deepEqual(r.spawned, []);
  assert.equal(r.spawn_failed.length, 1);
  assert.equal(r.spawn_failed[0]!.task, id);
  assert.equal(b.workers.size, 0);
  const runs = await b.store.listRuns(id!);
  assert.equal(runs[0]!.outcome, "spawn_failed");
  const task = await b.store.getTask(id!);
  assert.equal(task.consecutive_failures, 1);
  assert.ok(task.retry_after !== null, "retried later, not at once");
});

const GiB = 1024 ** 3;
/** A machine of 8 GiB and 2 cores with `available` GiB free and `swapUsed` GiB in swap. */
const machine = (available: number, swapUsed = 0, load1 = 0): MachineSample => ({
  mem_total: 8 * GiB,
  mem_available: available * GiB,
  swap_total: 4 * GiB,
  swap_free: (4 - swapUsed) * GiB,
  load1,
  cores: 2,
});

Deno.test("fill holds new workers under memory pressure counting swap, says so once, and starts again after", async () => {
  await using b = bundle(TOML);
  const [first, second] = await tasks(b, "b", 2);
  let now = machine(4, 3.5); // 4 GiB available but 3.5 GiB in swap: 0.5 GiB free, under 10%
  const s = service(b, false, () => now);
  for (let i = 0; i < 3; i++) {
    const r = await s.runOnce(b.clock.read());
    assert.deepEqual(r.spawned, [], `pass ${i}: held`);
    assert.equal(r.pressure.held, true);
    assert.equal(r.pressure.reason, "memory");
  }
  assert.equal((await b.store.getTask(first!)).status, "ready");
  const holding = b.logs.filter((l) => l.startsWith("holding new workers"));
  assert.equal(holding.length, 1, `logged once: ${b.logs.join(" | ")}`);
  assert.match(holding[0]!, /free memory 512MB .* under min_free_memory 10% of 8192MB/);
  now = machine(4, 0);
  const r = await s.runOnce(b.clock.read());
  assert.equal(r.pressure.held, false);
  assert.equal(r.spawned.length, 2, "both start once the pressure is gone");
  assert.deepEqual(b.logs.filter((l) => l.startsWith("no more pressure")).length, 1);
  assert.equal((await b.store.getTask(second!)).status, "running");
});

Deno.test("fill holds new workers over max_load but leaves running workers alone", async () => {
  await using b = bundle(TOML);
  await tasks(b, "b", 2);
  let now = machine(6, 0, 0);
  const s = service(b, false, () => now);
  const started = await s.runOnce(b.clock.read());
  assert.equal(started.spawned.length, 2);
  await tasks(b, "a", 1);
  now = machine(6, 0, 10); // 5 per core, over the default max_load 4
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual([r.spawned, r.pressure.reason], [[], "load"]);
  assert.equal(b.workers.size, 2, "the running workers go on");
  assert.ok(b.workers.all().every((w) => w.stop === null || w.stop === undefined), "none stopped");
});

Deno.test("fill says once that a memory_limit cannot be applied without a cgroup, and still starts the worker", async () => {
  await using b = bundle(`memory_limit = "1GB"\n${TOML}`);
  await tasks(b, "b", 2);
  const r = await service(b).runOnce(b.clock.read());
  assert.equal(r.spawned.length, 2);
  const said = b.logs.filter((l) => l.startsWith("memory_limit not applied"));
  assert.equal(said.length, 1, b.logs.join(" | "));
  assert.match(said[0]!, /workers run in a process group \(test\)/);
});
