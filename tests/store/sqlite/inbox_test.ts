/**
 * inbox() at scale on the SQLite driver: 50,000 tasks seeded straight into the file (through
 * the Store API it would take minutes), then one timed read through the store.
 */
import assert from "node:assert/strict";
import { setup } from "../../_setup.ts";
import { rawDb } from "./_raw.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("inbox() over 50,000 tasks answers in well under a second", async () => {
  await using b = setup();
  const statuses = ["ready", "triage", "blocked", "review", "done"];
  {
    using db = rawDb(b.path);
    db.exec("BEGIN");
    const task = db.prepare(`INSERT INTO tasks (id, title, status, created_by, created_at,
      updated_at, blocked_reason, completed_at) VALUES (?, ?, ?, 'bench', ?, ?, ?, ?)`);
    const event = db.prepare(`INSERT INTO task_events (task_id, kind, actor, data, at)
      VALUES (?, ?, 'bench', ?, ?)`);
    for (let i = 0; i < 50_000; i++) {
      const id = `t_${i.toString(16).padStart(8, "0")}`;
      const status = statuses[i % statuses.length]!;
      const created = T0 + i;
      task.run(
        id,
        `task ${i}`,
        status,
        created,
        created,
        status === "blocked" ? "?" : null,
        status === "done" ? created : null,
      );
      event.run(id, "created", JSON.stringify({ to: "ready" }), created);
      event.run(id, "commented", "{}", created);
      // the task entered its status in reverse order of creation
      if (status !== "ready") event.run(id, "moved", JSON.stringify({ to: status }), T0 + 1e6 - i);
    }
    db.exec("COMMIT");
  }
  const started = performance.now();
  const box = await b.store.inbox({ limit: 100 });
  const took = performance.now() - started;
  assert.equal(box.total, 30_000);
  assert.equal(box.items.length, 100);
  assert.equal(box.items[0]!.id, `t_${(49_998).toString(16).padStart(8, "0")}`);
  assert.ok(took < 1000, `inbox() took ${took.toFixed(0)} ms`);
});
