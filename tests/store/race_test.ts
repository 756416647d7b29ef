/**
 * Real OS processes racing on one board: claims and idempotent creates must have exactly one
 * winner each, whatever the interleaving. Children are tests/store/_claimer.ts and
 * tests/store/_creator.ts, which open the board by its location (so any driver's board), and
 * are released together through a go-file barrier (see _spawn.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HUMAN, tempDir } from "../_setup.ts";
import { conformance } from "./_drivers.ts";
import { race } from "./_spawn.ts";

const PROCESSES = 8;
const TASKS = 500;

conformance(
  "claim() gives each of 500 ready tasks to exactly one of 8 racing processes",
  async (drv) => {
    await using b = await drv.fresh();
    using tmp = tempDir();
    const ids = new Set<string>();
    for (let i = 0; i < TASKS; i++) {
      ids.add((await b.store.createTask({ title: `task ${i}` }, HUMAN)).task.id);
    }
    assert.equal(ids.size, TASKS);
    assert.equal((await b.store.listTasks({ statuses: ["ready"] })).length, TASKS);

    const workers = Array.from({ length: PROCESSES }, (_, i) => `worker-${i}`);
    const results = await race(
      "./_claimer.ts",
      workers.map((w) => [b.location, w]),
      join(tmp.dir, "go"),
    );

    const claimedBy = new Map<string, string[]>();
    const runs = new Set<number>();
    results.forEach((r, i) => {
      assert.equal(r.code, 0, `claimer ${i} failed:\n${r.stderr}`);
      for (const line of r.lines) {
        const id = String(line["id"]);
        claimedBy.set(id, [...(claimedBy.get(id) ?? []), workers[i]!]);
        runs.add(Number(line["run"]));
      }
    });
    // Busy back-off in SQLite is unfair: one process may win almost every claim, so how the
    // 500 claims spread over the 8 processes is deliberately not asserted.
    const doubles = [...claimedBy].filter(([, by]) => by.length !== 1);
    assert.deepEqual(doubles, [], "tasks claimed more than once");
    assert.deepEqual(new Set(claimedBy.keys()), ids, "the claimed ids are exactly the board's");
    assert.equal(runs.size, TASKS, "every claim opened its own run");

    const allRuns = await b.store.listRuns(undefined, 10 * TASKS);
    assert.equal(allRuns.length, TASKS, "the board has exactly one run per task");
    const open = await b.store.openRuns();
    assert.equal(open.length, TASKS);
    assert.deepEqual(new Set(open.map((r) => r.task_id)), ids, "one open run per task");
    const tasks = await b.store.listTasks();
    assert.equal(tasks.length, TASKS);
    const runOf = new Map(open.map((r) => [r.task_id, r]));
    for (const t of tasks) {
      assert.equal(t.status, "running", `${t.id} is running`);
      const run = runOf.get(t.id);
      assert.ok(run, `${t.id} has an open run`);
      assert.equal(t.current_run_id, run.id, `${t.id} points at its open run`);
      assert.deepEqual(claimedBy.get(t.id), [run.claimed_by], `${t.id}'s run names its claimer`);
    }
    assert.deepEqual(await b.store.checkInvariants(), []);
    assert.deepEqual(await b.store.integrityCheck(), []);
  },
);

conformance(
  "createTask() with one idempotency key from 8 racing processes makes one task",
  async (drv) => {
    await using b = await drv.fresh();
    using tmp = tempDir();
    const workers = Array.from({ length: PROCESSES }, (_, i) => `worker-${i}`);
    const results = await race(
      "./_creator.ts",
      workers.map((w) => [b.location, w, "deploy-2026-01-01"]),
      join(tmp.dir, "go"),
    );

    const reports = results.map((r, i) => {
      assert.equal(r.code, 0, `creator ${i} failed:\n${r.stderr}`);
      assert.equal(r.lines.length, 1, `creator ${i} printed one result`);
      return r.lines[0]!;
    });
    const ids = new Set(reports.map((r) => r["id"]));
    assert.equal(ids.size, 1, `all creators report the same task: ${[...ids].join(", ")}`);
    assert.equal(reports.filter((r) => r["created"] === true).length, 1, "exactly one created it");

    const tasks = await b.store.listTasks({ archived: true });
    assert.equal(tasks.length, 1, "exactly one task exists");
    assert.equal(tasks[0]!.id, [...ids][0]);
    assert.equal(tasks[0]!.idempotency_key, "deploy-2026-01-01");
    assert.deepEqual(await b.store.checkInvariants(), []);
  },
);

conformance(
  "createGraph() with one key from 8 racing processes makes one graph, returned to all",
  async (drv) => {
    await using b = await drv.fresh();
    using tmp = tempDir();
    const workers = Array.from({ length: PROCESSES }, (_, i) => `worker-${i}`);
    const results = await race(
      "./_creator.ts",
      workers.map((w) => [b.location, w, "release-7", "graph"]),
      join(tmp.dir, "go"),
    );
    const reports = results.map((r, i) => {
      assert.equal(r.code, 0, `creator ${i} failed:\n${r.stderr}`);
      return r.lines[0]!;
    });
    const graphs = new Set(reports.map((r) => JSON.stringify(r["ids"])));
    assert.equal(graphs.size, 1, `all creators report the same tasks: ${[...graphs].join(" ")}`);
    assert.equal(reports.filter((r) => r["created"] === true).length, 1, "exactly one created it");
    assert.equal((await b.store.listTasks({ archived: true })).length, 3);
    assert.deepEqual(await b.store.checkInvariants(), []);
  },
);
