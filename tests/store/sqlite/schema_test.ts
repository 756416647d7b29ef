/**
 * What the SQLite schema itself enforces, and store transactions made to fail by triggers
 * forced into the board file: checks that need the file, so they are this driver's own.
 */
import assert from "node:assert/strict";
import { HUMAN, setup } from "../../_setup.ts";
import { add } from "../_helpers.ts";
import { rawDb } from "./_raw.ts";

Deno.test("task_events is append-only: the database refuses to update an event", async () => {
  await using b = setup();
  await add(b.store, "a");
  using db = rawDb(b.path);
  assert.throws(
    () => db.exec("UPDATE task_events SET kind = 'forged'"),
    /task_events is append-only/,
  );
});

Deno.test("reply() is one transaction: when the unblock fails, the comment is not kept", async () => {
  await using b = setup();
  const t = await add(b.store, "asks");
  await b.store.block(t.id, "?", HUMAN);
  {
    // Behind the store's back: refuse any status change of this task, so that the unblock
    // fails after the comment was written in the same transaction.
    using db = rawDb(b.path);
    db.exec(`CREATE TRIGGER no_unblock BEFORE UPDATE OF status ON tasks
      WHEN old.id = '${t.id}' BEGIN SELECT RAISE(ABORT, 'unblock refused by the test'); END`);
  }
  await assert.rejects(b.store.reply(t.id, "the answer", HUMAN), /unblock refused by the test/);
  const shown = await b.store.showTask(t.id);
  assert.equal(shown.task.status, "blocked");
  assert.deepEqual(shown.comments, []);
  assert.ok(!shown.events.some((e) => e.kind === "commented"));
});
