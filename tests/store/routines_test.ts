/** Routines (lib/store/routines.ts): add, list, pause, resume, remove, firing and run-now. */
import assert from "node:assert/strict";
import { ConflictError, NotFoundError, type Store, ValidationError } from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { conformance } from "./_drivers.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;

/** A task routine named `name` firing every `cron` in UTC. */
function daily(store: Store, name = "standup", cron = "0 9 * * *", extra = {}) {
  return store.addRoutine({
    name,
    cron,
    tz: "UTC",
    task: { title: `Standup notes`, assignee: "writer", priority: 2 },
    ...extra,
  }, HUMAN);
}

async function routineTasks(store: Store, name: string) {
  return (await store.listTasks({ archived: true })).filter((t) =>
    t.created_by === `routine:${name}`
  );
}

conformance(
  "a routine is stored with its next occurrence, listed, and refused when taken",
  async (drv) => {
    await using b = await drv.fresh();
    const r = await daily(b.store);
    assert.match(r.id, /^r_[0-9a-f]{8}$/);
    assert.equal(r.next_at, "2026-01-01T09:00:00.000Z");
    assert.equal(r.paused, false);
    assert.equal(r.catch_up, "skip");
    assert.equal(r.max_catch_up, 10);
    assert.deepEqual(r.nodes, [{
      ref: "task",
      task: { title: "Standup notes", assignee: "writer", priority: 2 },
    }]);
    assert.deepEqual(await b.store.listRoutines(), [r]);
    assert.deepEqual(await b.store.getRoutine("standup"), r);
    await assert.rejects(() => daily(b.store), (e) => {
      assert.ok(e instanceof ConflictError);
      assert.equal(e.code, "routine_exists");
      return true;
    });
    await assert.rejects(() => b.store.getRoutine("nope"), (e) => {
      assert.ok(e instanceof NotFoundError);
      assert.match(e.message, /No routine "nope" \(routines: standup\)/);
      return true;
    });
  },
);

conformance("bad routines are refused naming what is wrong, and nothing is stored", async (drv) => {
  await using b = await drv.fresh();
  const cases: [Parameters<Store["addRoutine"]>[0], RegExp][] = [
    [{ name: "x", cron: "0 9 * *", tz: "UTC", task: { title: "t" } }, /4 fields; a cron has 5/],
    [{ name: "x", cron: "0 25 * * *", tz: "UTC", task: { title: "t" } }, /field 2 \(hour\)/],
    [
      { name: "x", cron: "0 9 * * *", tz: "Mars/Olympus", task: { title: "t" } },
      /time zone "Mars\/Olympus"/,
    ],
    [{ name: "x", cron: "0 0 30 2 *", tz: "UTC", task: { title: "t" } }, /never occurs/],
    [{ name: "bad name", cron: "@daily", tz: "UTC", task: { title: "t" } }, /routine name/],
    [{ name: "x", cron: "@daily", tz: "UTC", task: { title: " " } }, /title is empty/],
    [{ name: "x", cron: "@daily", tz: "UTC" }, /either a task or a template/],
    [
      { name: "x", cron: "@daily", tz: "UTC", task: { title: "t" }, max_catch_up: 0 },
      /max catch-up/,
    ],
    [
      { name: "x", cron: "@daily", tz: "UTC", task: { title: "t" }, catch_up: "never" as "skip" },
      /catch-up "never"/,
    ],
  ];
  for (const [input, message] of cases) {
    await assert.rejects(() => b.store.addRoutine(input, HUMAN), (e) => {
      assert.ok(e instanceof ValidationError, `${input.name}: ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.deepEqual(await b.store.listRoutines(), []);
});

conformance(
  "a due routine fires once per occurrence, records what made the task, then waits",
  async (drv) => {
    await using b = await drv.fresh();
    await daily(b.store);
    assert.deepEqual((await b.store.fireDueRoutines()).fired, []);
    b.clock.set(Date.parse("2026-01-01T09:00:10Z"));
    const { fired, failed } = await b.store.fireDueRoutines();
    assert.deepEqual(failed, []);
    assert.equal(fired.length, 1);
    const f = fired[0]!;
    assert.equal(f.occurrence, Date.parse("2026-01-01T09:00:00Z"));
    assert.equal(f.catch_up, false);
    assert.equal(f.created, true);
    assert.deepEqual((await b.store.fireDueRoutines()).fired, [], "fired once, not again");
    const task = await b.store.getTask(f.tasks[0]!.id);
    assert.equal(task.title, "Standup notes");
    assert.equal(task.assignee, "writer");
    assert.equal(task.status, "ready");
    assert.equal(task.created_by, "routine:standup");
    assert.equal(task.idempotency_key, `${f.key}/task`);
    const events = (await b.store.showTask(task.id)).events;
    const mark = events.find((e) => e.kind === "routine_fired");
    assert.ok(mark, `events: ${events.map((e) => e.kind).join(", ")}`);
    assert.equal(mark.data["routine"], "standup");
    assert.equal(mark.data["occurrence"], "2026-01-01T09:00:00.000Z");
    const r = await b.store.getRoutine("standup");
    assert.equal(r.next_at, "2026-01-02T09:00:00.000Z");
    assert.equal(r.last_at, "2026-01-01T09:00:00.000Z");
    assert.equal(r.fired, 1);
    assert.deepEqual(await b.store.checkInvariants(), []);
  },
);

conformance(
  "catch-up: skip fires no missed occurrence, once fires one, all fires each up to the cap",
  async (drv) => {
    await using b = await drv.fresh();
    await daily(b.store, "skip", "0 * * * *", { catch_up: "skip" });
    await daily(b.store, "once", "0 * * * *", { catch_up: "once" });
    await daily(b.store, "all", "0 * * * *", { catch_up: "all", max_catch_up: 5 });
    await daily(b.store, "few", "0 * * * *", { catch_up: "all" });
    // down from 00:00 to 12:30: the 01:00 to 12:00 occurrences were missed (12 of them)
    b.clock.set(T0 + 12 * 60 * MIN + 30 * MIN);
    const { fired } = await b.store.fireDueRoutines();
    const of = (name: string) => fired.filter((f) => f.routine === name);
    assert.deepEqual(of("skip"), []);
    assert.deepEqual(of("once").map((f) => f.occurrence), [T0 + 60 * MIN]);
    assert.deepEqual(
      of("all").map((f) => f.occurrence),
      [1, 2, 3, 4, 5].map((h) => T0 + h * 60 * MIN),
      "the oldest five, oldest first",
    );
    assert.equal(of("few").length, 10, "the default cap is 10");
    assert.ok(fired.every((f) => f.catch_up));
    for (const name of ["skip", "once", "all", "few"]) {
      const r = await b.store.getRoutine(name);
      assert.equal(r.next_at, "2026-01-01T13:00:00.000Z", `${name} waits for 13:00`);
    }
    assert.equal((await routineTasks(b.store, "all")).length, 5);
    // skip still fires an occurrence seen within five minutes of its time
    b.clock.set(T0 + 13 * 60 * MIN + 4 * MIN);
    const late = await b.store.fireDueRoutines();
    assert.deepEqual(late.fired.map((f) => [f.routine, f.catch_up]).sort(), [
      ["all", false],
      ["few", false],
      ["once", false],
      ["skip", false],
    ]);
  },
);

conformance(
  "a paused routine does not fire; resumed, it waits for its next occurrence",
  async (drv) => {
    await using b = await drv.fresh();
    await daily(b.store, "standup", "0 9 * * *", { catch_up: "all" });
    const paused = await b.store.pauseRoutine("standup");
    assert.equal(paused.paused, true);
    assert.equal((await b.store.pauseRoutine("standup")).paused, true, "pausing again is no error");
    b.clock.set(Date.parse("2026-01-03T10:00:00Z"));
    assert.deepEqual((await b.store.fireDueRoutines()).fired, []);
    const resumed = await b.store.resumeRoutine("standup");
    assert.equal(resumed.paused, false);
    assert.equal(
      resumed.next_at,
      "2026-01-04T09:00:00.000Z",
      "what came while paused is not caught up",
    );
    assert.deepEqual((await b.store.fireDueRoutines()).fired, []);
    const removed = await b.store.removeRoutine("standup");
    assert.equal(removed.name, "standup");
    assert.deepEqual(await b.store.listRoutines(), []);
    await assert.rejects(() => b.store.pauseRoutine("standup"), NotFoundError);
  },
);

conformance(
  "run-now fires one occurrence now, once per key, paused or not, next_at unchanged",
  async (drv) => {
    await using b = await drv.fresh();
    const r = await daily(b.store);
    await b.store.pauseRoutine("standup");
    const a = await b.store.runRoutineNow("standup", "k1");
    assert.equal(a.created, true);
    assert.equal(a.occurrence, T0);
    const again = await b.store.runRoutineNow("standup", "k1");
    assert.equal(again.created, false);
    assert.deepEqual(again.tasks, a.tasks);
    const other = await b.store.runRoutineNow("standup", "k2");
    assert.equal(other.created, true);
    assert.notDeepEqual(other.tasks, a.tasks);
    const after = await b.store.getRoutine("standup");
    assert.equal(after.next_at, r.next_at);
    assert.equal(after.fired, 2);
    assert.equal((await routineTasks(b.store, "standup")).length, 2);
    await assert.rejects(() => b.store.runRoutineNow("standup", "bad key"), ValidationError);
    await assert.rejects(() => b.store.runRoutineNow("nope", "k"), NotFoundError);
  },
);

conformance("a template routine makes its whole graph at each occurrence", async (drv) => {
  await using b = await drv.fresh();
  await b.store.addRoutine({
    name: "release",
    cron: "0 9 * * 1",
    tz: "Europe/Paris",
    template: {
      name: "release",
      nodes: [
        { ref: "build", task: { title: "Build" } },
        { ref: "ship", task: { title: "Ship" }, after: ["build"] },
      ],
    },
  }, HUMAN);
  // Monday 2026-01-05 09:00 in Paris is 08:00 UTC
  const r = await b.store.getRoutine("release");
  assert.equal(r.next_at, "2026-01-05T08:00:00.000Z");
  assert.equal(r.template, "release");
  b.clock.set(Date.parse("2026-01-05T08:00:30Z"));
  const [f] = (await b.store.fireDueRoutines()).fired;
  assert.ok(f);
  assert.deepEqual(f.tasks.map((t) => t.ref), ["build", "ship"]);
  const ship = await b.store.showTask(f.tasks[1]!.id);
  assert.equal(ship.task.status, "todo");
  assert.deepEqual(ship.parents.map((p) => p.id), [f.tasks[0]!.id]);
});

conformance(
  "two stores on one board firing the same due occurrences make one task each",
  async (drv) => {
    await using b = await drv.fresh();
    const other = await drv.open(b.location, { clock: b.clock.now });
    try {
      await daily(b.store, "minutely", "* * * * *");
      let made = 0;
      for (let i = 1; i <= 25; i++) {
        b.clock.set(T0 + i * MIN);
        // one SQLite process has one writer at a time (its busy wait blocks the thread): its
        // two stores take turns here, and routines_race_test.ts races processes on it
        const [x, y] = drv.name === "sqlite"
          ? [await b.store.fireDueRoutines(), await other.fireDueRoutines()]
          : await Promise.all([b.store.fireDueRoutines(), other.fireDueRoutines()]);
        assert.deepEqual([...x.failed, ...y.failed], []);
        const fired = [...x.fired, ...y.fired];
        assert.equal(fired.length, 1, `minute ${i}: one firing, got ${fired.length}`);
        assert.equal(fired[0]!.occurrence, T0 + i * MIN);
        made += fired[0]!.tasks.length;
      }
      assert.equal(made, 25);
      assert.equal((await routineTasks(b.store, "minutely")).length, 25);
      assert.equal((await b.store.getRoutine("minutely")).fired, 25);
    } finally {
      other.close();
    }
  },
);
