/**
 * The routines service alone, on a real board with the test's clock: occurrences fire once,
 * at their wall-clock time in their zone (across DST changes), by their catch-up policy after
 * downtime, not while paused; run-now beside it; a dry run only lists what is due.
 */
import assert from "node:assert/strict";
import { RoutinesService } from "../../../lib/dispatch/services/routines.ts";
import { dryRun } from "../../../lib/dispatch/dry_run.ts";
import type { PassReport } from "../../../lib/dispatch/report.ts";
import { HUMAN } from "../../_setup.ts";
import { bundle } from "./_bundle.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

Deno.test("a 09:00 Paris routine fires at 09:00 local on both sides of the spring DST change", async () => {
  await using b = bundle();
  b.clock.wall = Date.parse("2026-03-27T12:00:00Z");
  await b.store.addRoutine({
    name: "morning",
    cron: "0 9 * * *",
    tz: "Europe/Paris",
    task: { title: "Morning review" },
  }, HUMAN);
  const s = new RoutinesService({ store: b.store, log: (l) => b.logs.push(l) });
  const fired: string[] = [];
  // walk four days in 10-minute passes: 28 (UTC+1), 29 (the change), 30 and 31 (UTC+2)
  for (let i = 0; i < 4 * 24 * 6; i++) {
    b.clock.advance(10 * MIN);
    const r = await s.runOnce(b.clock.read());
    assert.deepEqual(r.routines_failed, []);
    fired.push(...r.routines_fired.map((f) => f.occurrence));
  }
  assert.deepEqual(fired, [
    "2026-03-28T08:00:00.000Z",
    "2026-03-29T07:00:00.000Z",
    "2026-03-30T07:00:00.000Z",
    "2026-03-31T07:00:00.000Z",
  ]);
  const tasks = await b.store.listTasks();
  assert.equal(tasks.length, 4);
  assert.ok(tasks.every((t) => t.title === "Morning review" && t.status === "ready"));
  assert.deepEqual(b.logs, []);
});

Deno.test("after downtime: skip fires nothing missed, once one, all each up to its cap", async () => {
  await using b = bundle();
  for (const [name, catch_up] of [["s", "skip"], ["o", "once"], ["a", "all"]] as const) {
    await b.store.addRoutine({
      name,
      cron: "*/15 * * * *",
      tz: "UTC",
      task: { title: `every 15 minutes (${name})` },
      catch_up,
      max_catch_up: 3,
    }, HUMAN);
  }
  const s = new RoutinesService({ store: b.store });
  // the dispatcher was down for two hours (eight occurrences missed), back at 02:07
  b.clock.advance(2 * HOUR + 7 * MIN);
  const r = await s.runOnce(b.clock.read());
  const by = (n: string) => r.routines_fired.filter((f) => f.routine === n);
  assert.deepEqual(by("s"), []);
  assert.deepEqual(by("o").map((f) => [f.occurrence, f.catch_up]), [
    ["2026-01-01T00:15:00.000Z", true],
  ]);
  assert.deepEqual(by("a").map((f) => f.occurrence), [
    "2026-01-01T00:15:00.000Z",
    "2026-01-01T00:30:00.000Z",
    "2026-01-01T00:45:00.000Z",
  ]);
  // running again at once fires nothing: each has moved to 02:15
  assert.deepEqual((await s.runOnce(b.clock.read())).routines_fired, []);
  b.clock.advance(8 * MIN);
  const next = await s.runOnce(b.clock.read());
  assert.deepEqual(next.routines_fired.map((f) => [f.routine, f.occurrence, f.catch_up]).sort(), [
    ["a", "2026-01-01T02:15:00.000Z", false],
    ["o", "2026-01-01T02:15:00.000Z", false],
    ["s", "2026-01-01T02:15:00.000Z", false],
  ]);
});

Deno.test("a paused routine stays quiet; resumed it fires from its next occurrence; run-now fires at once", async () => {
  await using b = bundle();
  await b.store.addRoutine({
    name: "hourly",
    cron: "@hourly",
    tz: "UTC",
    task: { title: "Hourly sweep" },
    catch_up: "all",
  }, HUMAN);
  const s = new RoutinesService({ store: b.store });
  await b.store.pauseRoutine("hourly");
  b.clock.advance(3 * HOUR + 30 * MIN);
  assert.deepEqual((await s.runOnce(b.clock.read())).routines_fired, []);
  const now = await b.store.runRoutineNow("hourly", "manual-1");
  assert.equal(now.created, true);
  assert.equal((await b.store.listTasks()).length, 1);
  await b.store.resumeRoutine("hourly");
  assert.deepEqual(
    (await s.runOnce(b.clock.read())).routines_fired,
    [],
    "no catch-up of paused time",
  );
  b.clock.advance(30 * MIN);
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual(r.routines_fired.map((f) => f.occurrence), ["2026-01-01T04:00:00.000Z"]);
  assert.equal((await b.store.listTasks()).length, 2);
});

Deno.test("a dry run lists the routines a pass would fire and fires none", async () => {
  await using b = bundle();
  await b.store.addRoutine({
    name: "due",
    cron: "@hourly",
    tz: "UTC",
    task: { title: "Due" },
    catch_up: "once",
  }, HUMAN);
  await b.store.addRoutine(
    { name: "later", cron: "@daily", tz: "UTC", task: { title: "Later" } },
    HUMAN,
  );
  b.clock.advance(2 * HOUR);
  const report = { would_fire: [], missing_profiles: [], ended: [], adopted: [], would_spawn: [] };
  const r = await dryRun(
    { store: b.store, config: b.config(), host: "test", now: b.clock.wall },
    report as unknown as PassReport,
  );
  assert.deepEqual(r.would_fire, [
    { routine: "due", next_at: "2026-01-01T01:00:00.000Z", catch_up: "once" },
  ]);
  assert.deepEqual(await b.store.listTasks(), []);
  assert.equal((await b.store.getRoutine("due")).next_at, "2026-01-01T01:00:00.000Z");
});
