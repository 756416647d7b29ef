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

function service(b: Bundle, draining = false): FillService {
  return new FillService({
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
  assert.deepEqual(r, { spawned: [], spawn_failed: [], capped: [] });
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
