/**
 * The PostgreSQL driver's board transfer operations (lib/store/postgres/transfer.ts) where
 * they differ in mechanism from SQLite's: the deferred check of `tasks.current_run_id`
 * (migration 002's DEFERRABLE key), the identity sequences' own state (not max(id)), and the
 * shapes of the rows a page returns. The conformance suite (tests/store/transfer_test.ts)
 * covers what both drivers do alike. They need the server scripts/test starts.
 */
import assert from "node:assert/strict";
import postgresClient from "postgres";
import type { RunRow, TaskRow } from "../../../lib/store/_rows.ts";
import { PostgresDriver } from "../../../lib/store/postgres/driver.ts";
import { dropDatabase, freshDatabase, pgTest } from "./_pg.ts";

/** A fresh board's driver, ended and its database dropped when disposed. */
async function board(): Promise<{ d: PostgresDriver; url: string } & AsyncDisposable> {
  const db = await freshDatabase();
  const d = new PostgresDriver(db.url);
  return {
    d,
    url: db.url,
    [Symbol.asyncDispose]: async () => {
      await d.end();
      await dropDatabase(db.name);
    },
  };
}

const RUNNING: TaskRow = {
  id: "t_0000000a",
  title: "running",
  body: "",
  assignee: "coder",
  status: "running",
  priority: 0,
  tenant: null,
  created_by: "human",
  created_at: 1_700_000_000_000,
  updated_at: 1_700_000_000_001,
  started_at: 1_700_000_000_001,
  completed_at: null,
  workspace_kind: "scratch",
  workspace_path: null,
  skills: '[ "a",  "b"]',
  max_runtime_seconds: null,
  not_before: null,
  review_required: 0,
  idempotency_key: null,
  consecutive_failures: 0,
  retry_after: null,
  last_error: null,
  blocked_reason: null,
  current_run_id: 41,
  result: null,
  archived_from: null,
  needs: "[]",
  block_kind: "transient",
  blocked_on: "t_0000000b",
  block_counts: '{ "transient":2}',
  reviewer: "critic",
  review_rounds: 4,
  gate: '["make",  "check"]',
  gate_timeout_ms: 90_000,
  gate_rounds: 2,
};

const RUN: RunRow = {
  id: 41,
  task_id: "t_0000000a",
  profile: null,
  claimed_by: "coder-1",
  lease_token: "tok",
  lease_ms: 60_000,
  lease_expires: 1_700_000_060_001,
  heartbeat_at: null,
  host: "h",
  pid: 4242,
  pid_start_time: 99,
  started_at: 1_700_000_000_001,
  ended_at: null,
  exit_code: null,
  signal: null,
  outcome: null,
  summary: null,
  metadata: null,
  error: null,
  log_path: null,
  usage: '{"input_tokens":1,  "models":["m"]}',
  workspace: null,
  gate_handoff: '{"route": "complete", "summary":"s"}',
};

pgTest(
  "a running task may precede its run in one transaction; a missing run fails the commit",
  async () => {
    await using b = await board();
    await b.d.tx(async (q) => {
      await q.transferInsert("task", [RUNNING]);
      await q.transferInsert("run", [RUN]);
    });
    // the rows read back exactly as written: numbers as numbers, JSON text byte for byte
    const [task] = await b.d.read((q) => q.transferPage("task", null, 10));
    assert.deepEqual({ ...task }, RUNNING);
    assert.deepEqual(Object.keys(task!), Object.keys(RUNNING));
    const [run] = await b.d.read((q) => q.transferPage("run", null, 10));
    assert.deepEqual({ ...run }, RUN);

    await using c = await board();
    await assert.rejects(
      c.d.tx(async (q) => {
        await q.transferInsert("task", [RUNNING]);
      }),
      (err: Error) => {
        assert.match(err.message, /tasks_current_run_id_fkey/);
        return true;
      },
    );
    assert.deepEqual(await c.d.read((q) => q.transferCounts()), {
      task: 0,
      link: 0,
      run: 0,
      comment: 0,
      attachment: 0,
      event: 0,
      subscription: 0,
      routine: 0,
      budget: 0,
    });
    // outside an import the key is still checked at each statement (INITIALLY IMMEDIATE)
    const sql = postgresClient(b.url, { max: 1, onnotice: () => {} });
    let past = false;
    try {
      await assert.rejects(
        sql.begin(async (t) => {
          await t`UPDATE tasks SET current_run_id = 999`;
          past = true;
        }),
        /tasks_current_run_id_fkey/,
      );
      assert.equal(past, false, "the UPDATE itself failed, not the COMMIT");
    } finally {
      await sql.end();
    }
  },
);

pgTest(
  "sequences are the identity sequences' state, and an advance never moves one back",
  async () => {
    await using b = await board();
    const zero = { run: 0, comment: 0, attachment: 0, event: 0, subscription: 0 };
    assert.deepEqual(await b.d.read((q) => q.transferSequences()), zero);
    // rows inserted with their ids leave the sequences alone: the import advances them after
    await b.d.tx(async (q) => {
      await q.transferInsert("task", [RUNNING]);
      await q.transferInsert("run", [RUN]);
    });
    assert.deepEqual(await b.d.read((q) => q.transferSequences()), zero);
    await b.d.tx((q) =>
      q.transferAdvanceSequences({ run: 41, comment: 0, attachment: 7, event: 9, subscription: 3 })
    );
    assert.deepEqual(
      await b.d.read((q) => q.transferSequences()),
      { run: 41, comment: 0, attachment: 7, event: 9, subscription: 3 },
    );
    // never back
    await b.d.tx((q) =>
      q.transferAdvanceSequences({ run: 5, comment: 0, attachment: 2, event: 2, subscription: 1 })
    );
    assert.deepEqual(
      await b.d.read((q) => q.transferSequences()),
      { run: 41, comment: 0, attachment: 7, event: 9, subscription: 3 },
    );
    // an id drawn by a transaction that rolled back stays used up: the sequence, not max(id)
    await assert.rejects(
      b.d.tx(async (q) => {
        await q.eventAppend({
          task_id: null,
          run_id: null,
          kind: "dispatch_requested",
          actor: "human",
          data: "{}",
          at: 1,
        });
        throw new Error("roll back");
      }),
      /roll back/,
    );
    const after = await b.d.read((q) => q.transferSequences());
    assert.equal(after.event, 10);
    assert.deepEqual(await b.d.read((q) => q.transferPage("event", null, 10)), []);
  },
);
