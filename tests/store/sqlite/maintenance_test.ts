/**
 * The SQLite driver's maintenance: backups are SQLite files (checked with SQLite's own
 * integrity_check), doctor() reads a file damaged or rewritten behind the store's back, and
 * pruning is fed more events than the API could write in reasonable time.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ConflictError, openStore, SCHEMA_VERSION } from "../../../lib/store/mod.ts";
import { setup } from "../../_setup.ts";
import { add, claimId, eventKinds, finishedParent, worker } from "../_helpers.ts";
import { rawDb, snapshot } from "./_raw.ts";

const DAY = 86_400_000;

Deno.test("pruneEvents() deletes more than one batch of events", async () => {
  await using b = setup();
  const s = b.store;
  const t = await add(s, "chatty");
  const c = await claimId(s, t.id);
  using db = rawDb(b.path);
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
     INSERT INTO task_events (task_id, run_id, kind, actor, at) SELECT ?, ?, 'heartbeat', 'w', 0
     FROM n`,
  ).run(t.id, c.run.id);
  await s.complete(t.id, { summary: "done" }, worker(c));
  b.clock.advance(2 * DAY);
  const r = await s.pruneEvents(DAY);
  assert.equal(r.events, 12_001); // the heartbeats and the claim
  assert.deepEqual(await eventKinds(s, t.id), ["created", "completed"]);
});

Deno.test("backup() writes a consistent copy that opens as a board with the same tasks", async () => {
  await using b = setup();
  const { parent, child } = await finishedParent(b.store);
  const target = join(b.dir, "backups", "nightly", "board-copy.db");
  const r = await b.store.backup(target);
  assert.equal(r.path, target);
  assert.equal(r.source, b.path);
  assert.ok(r.bytes > 0);
  assert.deepEqual(readdirSync(join(b.dir, "backups", "nightly")), ["board-copy.db"]);
  {
    const copy = new DatabaseSync(target, { readOnly: true });
    try {
      assert.deepEqual(copy.prepare("PRAGMA integrity_check").all().map((r) => ({ ...r })), [
        { integrity_check: "ok" },
      ]);
      assert.equal(
        (copy.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
        SCHEMA_VERSION,
      );
    } finally {
      copy.close();
    }
  }
  assert.deepEqual(snapshot(target), snapshot(b.path));
  using restored = openStore(target);
  assert.equal((await restored.getTask(parent.id)).status, "done");
  assert.equal((await restored.context(child.id)).parents[0]!.summary, "users and sessions tables");
});

Deno.test("backup() refuses an existing file and leaves it untouched", async () => {
  await using b = setup();
  await add(b.store, "one");
  const target = join(b.dir, "taken.db");
  writeFileSync(target, "precious");
  await assert.rejects(b.store.backup(target), (err: unknown) => {
    assert.ok(err instanceof ConflictError);
    assert.equal(err.code, "backup_exists");
    assert.match(err.message, /Cannot back up to ".*taken\.db": the file exists/);
    return true;
  });
  assert.equal(readFileSync(target, "utf8"), "precious");
  await assert.rejects(b.store.backup(b.path), ConflictError);
  assert.deepEqual(readdirSync(b.dir).filter((f) => f.includes(".tmp-")), []);
});

Deno.test("doctor() reports an open run whose task was moved off running behind the store's back", async () => {
  await using b = setup();
  const t = await add(b.store, "job");
  const c = await claimId(b.store, t.id);
  {
    using db = rawDb(b.path);
    // Allowed by every CHECK constraint, but the run is left open with a lease.
    db.prepare(
      "UPDATE tasks SET status = 'blocked', current_run_id = NULL, blocked_reason = 'x' WHERE id = ?",
    ).run(t.id);
  }
  const r = await b.store.doctor();
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems, [
    { check: "an open run that its task does not point at", ids: [c.run.id] },
    { check: "a lease on a task that is not running", ids: [c.run.id] },
  ]);
  assert.deepEqual(r.warnings, []);
});

Deno.test("doctor() reports rows that break a foreign key", async () => {
  await using b = setup();
  await add(b.store, "one");
  {
    using db = rawDb(b.path);
    db.prepare(
      `INSERT INTO task_comments (task_id, author, body, created_at)
       VALUES ('t_deadbeef', 'x', 'orphan', 0)`,
    ).run();
  }
  const r = await b.store.doctor();
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems.find((p) => p.check === "foreign_key_check"), {
    check: "foreign_key_check",
    ids: [1],
    message: "task_comments rows point at missing tasks rows",
  });
});

Deno.test("doctor() reports SQLite's integrity_check findings on a damaged index", async () => {
  await using b = setup();
  await add(b.store, "one", { tenant: "acme" });
  await add(b.store, "two");
  b.store.close();
  {
    // Overwrite index tasks_board's root page with tasks_tenant's: the rows no longer match.
    const db = new DatabaseSync(b.path);
    const root = (name: string) =>
      Number(
        (db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = ?").get(name) as {
          rootpage: number;
        }).rootpage,
      );
    const [status, tenant] = [root("tasks_board"), root("tasks_tenant")];
    const size = Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
    db.close();
    const file = readFileSync(b.path);
    file.copy(file, (status - 1) * size, (tenant - 1) * size, tenant * size);
    writeFileSync(b.path, file);
  }
  using store = openStore(b.path);
  const r = await store.doctor();
  assert.equal(r.ok, false);
  assert.ok(r.problems.length > 1);
  // the board's own checks are skipped on a damaged file (they would read the bad index)
  const skipped = r.problems.pop();
  assert.deepEqual(skipped, {
    check: "invariants",
    ids: [],
    message: "not checked: the board file is damaged",
  });
  for (const p of r.problems) {
    assert.equal(p.check, "integrity_check");
    assert.match(p.message ?? "", /tasks_board/);
  }
});

Deno.test("backup() of a board nobody has written to yet is an empty board", async () => {
  await using b = setup();
  const target = join(b.dir, "empty.db");
  await b.store.backup(target);
  assert.ok(existsSync(target));
  using copy = openStore(target);
  assert.deepEqual(await copy.listTasks(), []);
});
