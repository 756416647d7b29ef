/**
 * The PostgreSQL driver's attachments table behind the store's back: content is BYTEA whose
 * length is its size, and a task deleted from the database takes its attachments with it.
 */
import assert from "node:assert/strict";
import postgresClient from "postgres";
import { openStore } from "../../../lib/store/mod.ts";
import { dropDatabase, endStore, freshDatabase, pgTest } from "./_pg.ts";

pgTest(
  "a task deleted from the database takes its attachments with it (ON DELETE CASCADE)",
  async () => {
    const db = await freshDatabase();
    const store = await openStore(db.url, {});
    const sql = postgresClient(db.url, { max: 1, onnotice: () => {} });
    try {
      const { task } = await store.createTask({ title: "t" }, { name: "alice" });
      const { task: other } = await store.createTask({ title: "other" }, { name: "alice" });
      const content = new Uint8Array(5000).map((_, i) => i % 256);
      await store.attach(task.id, { name: "a.bin", content }, { name: "alice" });
      await store.attach(other.id, { name: "a.bin", content: new Uint8Array(3) }, {
        name: "alice",
      });
      const [row] = await sql`SELECT octet_length(content) AS n, pg_typeof(content)::text AS t
      FROM task_attachments WHERE task_id = ${task.id}`;
      assert.deepEqual({ ...row }, { n: 5000, t: "bytea" });
      await assert.rejects(
        sql`UPDATE task_attachments SET size = 4 WHERE task_id = ${task.id}`,
        /check constraint/,
      );
      await sql`DELETE FROM task_events WHERE task_id = ${task.id}`;
      await sql`DELETE FROM tasks WHERE id = ${task.id}`;
      const left = await sql`SELECT task_id FROM task_attachments`;
      assert.deepEqual(left.map((r) => r["task_id"]), [other.id]);
    } finally {
      await sql.end();
      await endStore(store);
      await dropDatabase(db.name);
    }
  },
);
