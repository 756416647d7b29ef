/**
 * series() at scale on the SQLite driver: a 50,000-task board written straight into the file
 * (through the Store API it would take minutes), then timed reads through the store.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { setup } from "../../_setup.ts";
import { add } from "../_helpers.ts";

const DAY = 86_400_000;
/** The test clock starts here (tests/_setup.ts): midnight UTC. */
const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("series() reads 30 days of a board of 50,000 tasks and 60,000 runs in under a second per window", async () => {
  await using b = setup();
  b.clock.set(T0);
  await add(b.store, "schema warm-up"); // the board exists with its schema; fill it directly
  const db = new DatabaseSync(b.path);
  try {
    db.exec("BEGIN");
    // 50,000 tasks over 60 days: most done, some ready; one or two runs each, with events
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
      INSERT INTO tasks (id, title, status, created_by, created_at, updated_at, completed_at,
        tenant, assignee)
      SELECT printf('t_%08x', i), 'task ' || i, CASE WHEN i % 10 = 0 THEN 'ready' ELSE 'done' END,
        'bench', ${T0} - 60 * ${DAY} + i * 100000, ${T0} - 60 * ${DAY} + i * 100000 + 60000,
        CASE WHEN i % 10 = 0 THEN NULL ELSE ${T0} - 60 * ${DAY} + i * 100000 + 90000 END,
        CASE WHEN i % 2 = 0 THEN 'acme' ELSE NULL END, 'p' || (i % 4)
      FROM n;
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
      INSERT INTO task_runs (task_id, profile, claimed_by, lease_token, lease_ms, started_at,
        ended_at, outcome, usage)
      SELECT printf('t_%08x', 1 + (i * 7) % 50000), 'p' || (i % 4), 'bench', 'tok' || i, 60000,
        ${T0} - 60 * ${DAY} + i * 86000, ${T0} - 60 * ${DAY} + i * 86000 + 30000,
        CASE WHEN i % 5 = 0 THEN 'crashed' ELSE 'completed' END,
        json_object('input_tokens', i % 1000, 'output_tokens', 10, 'cost_usd', 0.01, 'source', 'output')
      FROM n;
      INSERT INTO task_events (task_id, run_id, kind, actor, data, at)
      SELECT task_id, NULL, 'derived', 'bench', '{"from":"todo","to":"ready"}', started_at - 5000
      FROM task_runs;
      INSERT INTO task_events (task_id, run_id, kind, actor, data, at)
      SELECT task_id, id, 'claimed', 'bench', '{"from":"ready","to":"running"}', started_at
      FROM task_runs;
    `);
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  const started = performance.now();
  const s = await b.store.series({ since: T0 - 30 * DAY, bucket: "day" });
  const hourly = await b.store.series({ since: T0 - 30 * DAY, bucket: "hour", tenant: "acme" });
  const ms = performance.now() - started;
  assert.equal(s.buckets.length, 31);
  assert.ok(s.buckets.reduce((n, x) => n + x.finished, 0) > 20_000);
  assert.ok(s.buckets.reduce((n, x) => n + x.queue_age.count, 0) > 25_000);
  assert.equal(s.ready_now.count, 5001, "every tenth, and the warm-up task");
  assert.equal(hourly.buckets.length, 721);
  assert.ok(ms < 2000, `two 30-day series took ${ms.toFixed(0)} ms`);
  console.log(`two 30-day series of a 50,000-task board: ${ms.toFixed(0)} ms`);
});
