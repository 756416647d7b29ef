import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  ConflictError,
  openStore,
  SCHEMA_VERSION,
  type Store,
  ValidationError,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN, setup } from "../_setup.ts";
import { add, claimId, eventKinds, rawDb, snapshot, worker } from "./_helpers.ts";

const DAY = 86_400_000;

/** finishedParent makes a done task with a busy history and a handoff, and its ready child. */
async function finishedParent(store: Store) {
  const parent = await add(store, "schema", { assignee: "coder" });
  const child = await add(store, "api", { parents: [parent.id] });
  const c = await claimId(store, parent.id);
  await store.heartbeat(parent.id, worker(c), "halfway");
  await store.comment(parent.id, "made the tables", worker(c));
  await store.complete(
    parent.id,
    { summary: "users and sessions tables", metadata: { tables: 2 } },
    worker(c),
  );
  return { parent, child, run: c.run.id };
}

Deno.test("gcCandidates() lists archived and done tasks finished before the cutoff, nothing else", async () => {
  await using b = setup();
  const s = b.store;
  const oldArchived = await add(s, "old archived", { workspace: "dir:/srv/shared" });
  await s.archive(oldArchived.id, HUMAN);
  const oldDone = await add(s, "old done");
  await s.complete(oldDone.id, {}, HUMAN);
  const cancelled = await add(s, "cancelled");
  await s.cancel(cancelled.id, "not needed", HUMAN);
  b.clock.advance(31 * DAY);
  const newArchived = await add(s, "new archived");
  await s.archive(newArchived.id, HUMAN);
  const newDone = await add(s, "new done");
  await s.complete(newDone.id, {}, HUMAN);
  await add(s, "ready");
  await claimId(s, (await add(s, "running")).id);

  const found = await s.gcCandidates(30 * DAY);
  assert.equal(found.cutoff, new Date(b.clock.now() - 30 * DAY).toISOString());
  assert.deepEqual(
    found.tasks.map((t) => [t.id, t.status, t.archived_from, t.workspace]).sort(),
    [
      [oldArchived.id, "archived", "ready", "dir:/srv/shared"],
      [oldDone.id, "done", null, "scratch"],
      [cancelled.id, "archived", "ready", "scratch"],
    ].sort(),
  );
  const all = await s.gcCandidates(0);
  assert.equal(all.tasks.length, 5);
});

Deno.test("gcCandidates() and pruneEvents() refuse a negative age", async () => {
  await using b = setup();
  await assert.rejects(b.store.gcCandidates(-1), ValidationError);
  await assert.rejects(b.store.pruneEvents(-1), ValidationError);
  await assert.rejects(b.store.pruneEvents(1.5), ValidationError);
});

Deno.test("pruneEvents() keeps a finished task's created and completed events, and its child's handoff", async () => {
  await using b = setup();
  const { parent, child } = await finishedParent(b.store);
  const before = await eventKinds(b.store, parent.id);
  assert.deepEqual(before, ["created", "claimed", "heartbeat", "commented", "completed"]);
  const contextBefore = await b.store.context(child.id);
  b.clock.advance(31 * DAY);

  const r = await b.store.pruneEvents(30 * DAY);
  assert.deepEqual(r, {
    dry_run: false,
    cutoff: new Date(b.clock.now() - 30 * DAY).toISOString(),
    tasks: 1,
    events: 3,
  });
  assert.deepEqual(await eventKinds(b.store, parent.id), ["created", "completed"]);
  // The child (ready, not finished) keeps all of its events.
  assert.deepEqual(await eventKinds(b.store, child.id), ["created", "derived"]);
  const after = await b.store.context(child.id);
  assert.deepEqual(after.parents, contextBefore.parents);
  assert.equal(after.parents[0]!.summary, "users and sessions tables");
  assert.equal(after.parents[0]!.metadata, '{"tables":2}');
  // Comments are not events: the conversation stays.
  assert.equal((await b.store.showTask(parent.id)).comments.length, 1);
  assert.deepEqual(await b.store.checkInvariants(), []);
  // A second pass finds nothing more to do.
  assert.equal((await b.store.pruneEvents(30 * DAY)).events, 0);
});

Deno.test("pruneEvents() with dryRun counts what it would delete and changes nothing", async () => {
  await using b = setup();
  await finishedParent(b.store);
  const archived = await add(b.store, "put away");
  await b.store.comment(archived.id, "obsolete", HUMAN);
  await b.store.archive(archived.id, HUMAN);
  b.clock.advance(DAY);
  const before = snapshot(b.path);
  const r = await b.store.pruneEvents(DAY, true);
  assert.equal(r.dry_run, true);
  assert.equal(r.tasks, 2);
  assert.equal(r.events, 5); // parent: claimed, heartbeat, commented; archived: commented, archived
  assert.deepEqual(snapshot(b.path), before);
  assert.equal((await b.store.pruneEvents(DAY)).events, 5);
});

Deno.test("pruneEvents() leaves tasks finished after the cutoff, and unfinished tasks, alone", async () => {
  await using b = setup();
  const s = b.store;
  const { parent } = await finishedParent(s);
  const running = await add(s, "running");
  const c = await claimId(s, running.id);
  b.clock.advance(10 * DAY);
  await s.heartbeat(running.id, worker(c));
  const blocked = await add(s, "blocked");
  await s.block(blocked.id, "which database?", HUMAN);
  const before = snapshot(b.path);
  assert.equal((await s.pruneEvents(30 * DAY)).events, 0);
  assert.deepEqual(snapshot(b.path), before);
  b.clock.advance(25 * DAY); // the parent finished 35 days ago; the rest never finished
  const r = await s.pruneEvents(30 * DAY);
  assert.deepEqual([r.tasks, r.events], [1, 3]);
  assert.deepEqual(await eventKinds(s, parent.id), ["created", "completed"]);
  assert.deepEqual(await eventKinds(s, running.id), ["created", "claimed", "heartbeat"]);
  assert.deepEqual(await eventKinds(s, blocked.id), ["created", "blocked"]);
});

Deno.test("pruneEvents() keeps the latest completed event of a task completed twice", async () => {
  await using b = setup();
  const s = b.store;
  const parent = await add(s, "parent");
  const child = await add(s, "child", { parents: [parent.id] });
  await s.complete(parent.id, { summary: "first try" }, HUMAN);
  await s.reopen(parent.id, HUMAN);
  await s.complete(parent.id, { summary: "second try" }, HUMAN);
  await s.archive(parent.id, HUMAN); // archived after done: still satisfies the child
  b.clock.advance(2 * DAY);
  await s.pruneEvents(DAY);
  const events = (await s.showTask(parent.id)).events;
  assert.deepEqual(events.map((e) => e.kind), ["created", "completed"]);
  assert.equal(events[1]!.data["summary"], "second try");
  assert.equal((await s.context(child.id)).parents[0]!.summary, "second try");
});

Deno.test("pruneEvents() keeps events a subscription has not delivered yet", async () => {
  await using b = setup();
  const { parent } = await finishedParent(b.store);
  const ids = (await b.store.showTask(parent.id)).events.map((e) => e.id);
  {
    // A subscription that has delivered up to the claim event only.
    using db = rawDb(b.path);
    db.prepare(
      `INSERT INTO subscriptions (kind, target, cursor, created_by, created_at)
       VALUES ('command', '/bin/true', ?, 'alice', 0)`,
    ).run(ids[1]!);
  }
  b.clock.advance(2 * DAY);
  const r = await b.store.pruneEvents(DAY);
  assert.equal(r.events, 1);
  assert.deepEqual(await eventKinds(b.store, parent.id), [
    "created",
    "heartbeat",
    "commented",
    "completed",
  ]);
  {
    using db = rawDb(b.path);
    db.prepare("UPDATE subscriptions SET ended_at = 1").run();
  }
  assert.equal((await b.store.pruneEvents(DAY)).events, 2);
});

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

Deno.test("doctor() finds nothing wrong on a healthy board with running, done and archived tasks", async () => {
  await using b = setup();
  await finishedParent(b.store);
  await claimId(b.store, (await add(b.store, "running")).id);
  await b.store.cancel((await add(b.store, "gone")).id, undefined, HUMAN);
  const r = await b.store.doctor();
  assert.deepEqual(r, {
    ok: true,
    path: b.path,
    schema_version: SCHEMA_VERSION,
    problems: [],
    warnings: [],
  });
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

Deno.test("doctor() warns about open runs whose lease expired long ago, without failing", async () => {
  await using b = setup();
  const t = await add(b.store, "job");
  const c = await claimId(b.store, t.id); // lease 120 s
  b.clock.advance(120_000 + 10 * 60_000);
  assert.deepEqual((await b.store.doctor()).warnings, []); // expired 10 min ago: not yet
  b.clock.advance(6 * 60_000);
  const r = await b.store.doctor();
  assert.equal(r.ok, true);
  assert.equal(r.warnings.length, 1);
  const w = r.warnings[0]!;
  assert.equal(w.check, "open runs whose lease expired long ago");
  assert.deepEqual(w.ids, [c.run.id]);
  assert.match(w.message ?? "", new RegExp(`run ${c.run.id} of task ${t.id}`));
  assert.match(w.hint ?? "", /kanban dispatch/);
  assert.equal((await b.store.doctor({ staleAfterMs: 60 * 60_000 })).warnings.length, 0);
  await b.store.endRun(c.run.id, { outcome: "lost" }, DISPATCHER);
  assert.deepEqual((await b.store.doctor()).warnings, []);
});

Deno.test("backup() of a board nobody has written to yet is an empty board", async () => {
  await using b = setup();
  const target = join(b.dir, "empty.db");
  await b.store.backup(target);
  assert.ok(existsSync(target));
  using copy = openStore(target);
  assert.deepEqual(await copy.listTasks(), []);
});
