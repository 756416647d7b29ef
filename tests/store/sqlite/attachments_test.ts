/**
 * The SQLite driver's attachments table behind the store's back: content is stored as a BLOB
 * whose length is its size, and a task deleted from the file takes its attachments with it.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { openStore } from "../../../lib/store/mod.ts";
import { tempDir } from "../../_setup.ts";

Deno.test("a task deleted from the file takes its attachments with it (ON DELETE CASCADE)", async () => {
  using tmp = tempDir("kanban-attach-sqlite-");
  const path = join(tmp.dir, "board.db");
  const store = openStore(path, { create: true });
  const { task } = await store.createTask({ title: "t" }, { name: "alice" });
  const { task: other } = await store.createTask({ title: "other" }, { name: "alice" });
  await store.attach(task.id, { name: "a.bin", content: new Uint8Array(5000) }, { name: "alice" });
  await store.attach(other.id, { name: "a.bin", content: new Uint8Array(3) }, { name: "alice" });
  store.close();
  const db = new DatabaseSync(path); // foreign keys enforced
  try {
    const row = db.prepare(
      "SELECT typeof(content) AS t, length(content) AS n FROM task_attachments WHERE task_id = ?",
    )
      .get(task.id);
    assert.deepEqual({ ...row }, { t: "blob", n: 5000 });
    assert.throws(
      () => db.prepare("UPDATE task_attachments SET size = 4 WHERE task_id = ?").run(task.id),
      /CHECK constraint failed/,
    );
    db.prepare("DELETE FROM task_events WHERE task_id = ?").run(task.id);
    db.prepare("DELETE FROM tasks WHERE id = ?").run(task.id);
    const left = db.prepare("SELECT task_id FROM task_attachments").all().map((r) => r["task_id"]);
    assert.deepEqual(left, [other.id]);
  } finally {
    db.close();
  }
});
