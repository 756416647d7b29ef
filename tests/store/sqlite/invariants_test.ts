/**
 * The SQLite driver's invariant checks, fed by rows written behind the store's back (a raw
 * connection without foreign keys), and the schema's own CHECK constraints.
 */
import assert from "node:assert/strict";
import { setup } from "../../_setup.ts";
import { busyBoard } from "../_helpers.ts";
import { rawDb } from "./_raw.ts";

Deno.test("checkInvariants() reports a todo task whose parents are all done", async () => {
  await using b = setup();
  const { flaky } = await busyBoard(b);
  using db = rawDb(b.path);
  db.prepare("UPDATE tasks SET status = 'todo' WHERE id = ?").run(flaky.id);
  assert.deepEqual(await b.store.checkInvariants(), [{
    check: "a todo task whose parents are all done",
    ids: [flaky.id],
  }]);
});

Deno.test("checkInvariants() reports a ready task with an unfinished parent", async () => {
  await using b = setup();
  const { child } = await busyBoard(b);
  using db = rawDb(b.path);
  db.prepare("UPDATE tasks SET status = 'ready' WHERE id = ?").run(child.id);
  assert.deepEqual(await b.store.checkInvariants(), [{
    check: "a ready or scheduled task with an unfinished parent",
    ids: [child.id],
  }]);
});

Deno.test("checkInvariants() reports a dependency cycle written behind the store's back", async () => {
  await using b = setup();
  const { parent, child } = await busyBoard(b);
  using db = rawDb(b.path);
  db.prepare("INSERT INTO task_links (parent_id, child_id, created_at) VALUES (?, ?, 0)")
    .run(child.id, parent.id);
  const found = await b.store.checkInvariants();
  const cycle = found.find((v) => v.check === "a task that depends on itself through a cycle");
  assert.deepEqual(cycle?.ids.sort(), [parent.id, child.id].sort());
});

Deno.test("checkInvariants() reports a running task that points at an ended run", async () => {
  await using b = setup();
  const { running, run } = await busyBoard(b);
  using db = rawDb(b.path);
  db.prepare(
    `UPDATE task_runs SET ended_at = started_at, outcome = 'lost', lease_expires = NULL
     WHERE id = ?`,
  ).run(run);
  const found = await b.store.checkInvariants();
  assert.deepEqual(found.map((v) => v.check), [
    "a task points at a run that is not its own open run",
  ]);
  assert.deepEqual(found[0]!.ids, [running.id]);
});

Deno.test("checkInvariants() reports a lease on a task that is not running", async () => {
  await using b = setup();
  const { flaky } = await busyBoard(b);
  using db = rawDb(b.path);
  const runId = (db.prepare("SELECT id FROM task_runs WHERE task_id = ?").get(flaky.id) as {
    id: number;
  }).id;
  db.prepare("UPDATE task_runs SET lease_expires = 1, ended_at = NULL, outcome = NULL WHERE id = ?")
    .run(runId);
  const checks = (await b.store.checkInvariants()).map((v) => v.check);
  assert.ok(checks.includes("a lease on a task that is not running"));
  assert.ok(checks.includes("an open run that its task does not point at"));
});

Deno.test("checkInvariants() and integrityCheck() report an event naming a missing run", async () => {
  await using b = setup();
  const { held } = await busyBoard(b);
  using db = rawDb(b.path);
  db.prepare(
    "INSERT INTO task_events (task_id, run_id, kind, actor, data, at) VALUES (?, 999, 'x', 'y', '{}', 0)",
  ).run(held.id);
  const found = await b.store.checkInvariants();
  assert.deepEqual(found.map((v) => v.check), [
    "an event that names a missing run, or a run of another task",
  ]);
  const problems = await b.store.integrityCheck();
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^foreign key: .*task_events/);
});

Deno.test("the schema refuses rows that break the state machine's pairings", async () => {
  await using b = setup();
  const { running, held, flaky } = await busyBoard(b);
  using db = rawDb(b.path);
  const refused = (sql: string, ...params: string[]) =>
    assert.throws(() => db.prepare(sql).run(...params), /CHECK constraint failed|UNIQUE/, sql);
  refused("UPDATE tasks SET current_run_id = NULL WHERE id = ?", running.id);
  refused("UPDATE tasks SET status = 'archived' WHERE id = ?", held.id);
  refused("UPDATE tasks SET blocked_reason = NULL WHERE id = ?", held.id);
  refused("UPDATE tasks SET status = 'done' WHERE id = ?", flaky.id);
  refused("UPDATE tasks SET status = 'doing' WHERE id = ?", flaky.id);
  refused("UPDATE tasks SET priority = 5000 WHERE id = ?", flaky.id);
  refused(
    `INSERT INTO task_runs (task_id, claimed_by, lease_token, lease_ms, lease_expires, started_at)
     VALUES (?, 'x', 'another-token', 1000, 1, 0)`,
    running.id,
  );
  assert.deepEqual(await b.store.checkInvariants(), []);
});
