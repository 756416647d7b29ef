/**
 * dist/kanban against a PostgreSQL board: the compiled binary carries the PostgreSQL client
 * (pure JS) and opens `postgres://` locations given with --db or $KANBAN_DB. Needs the
 * server scripts/test starts (KANBAN_TEST_PG_URL); without it the test is ignored, saying why.
 */
import assert from "node:assert/strict";
import { binaryHome } from "./_binary.ts";
import { SCHEMA_VERSION } from "../../lib/store/mod.ts";
import { dropDatabase, emptyDatabase, PG_URL } from "../store/postgres/_pg.ts";

interface Task {
  id: string;
  status: string;
}

Deno.test({
  name: PG_URL === undefined
    ? "dist/kanban on a PostgreSQL board: init, create, list, claim, complete (skipped: KANBAN_TEST_PG_URL unset; scripts/test starts a server)"
    : "dist/kanban on a PostgreSQL board: init, create, list, claim, complete",
  ignore: PG_URL === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const db = await emptyDatabase();
    try {
      using b = binaryHome();
      const init = b.json<{ schema_version: number; sqlite_version: string }>([
        "init",
        "--db",
        db.url,
      ]);
      assert.equal(init.schema_version, SCHEMA_VERSION);
      assert.match(init.sqlite_version, /^\d+\.\d+/, "the server's version");

      // the rest through $KANBAN_DB, as a worker gets its board
      const env = { KANBAN_DB: db.url };
      const parent = b.json<Task>(["create", "schema", "--assignee", "coder"], env);
      const child = b.json<Task>(
        ["create", "api", "--assignee", "coder", "--parent", parent.id],
        env,
      );
      assert.deepEqual([parent.status, child.status], ["ready", "todo"]);
      const listed = b.json<Task[]>(["list"], env);
      assert.deepEqual(listed.map((t) => t.id).sort(), [parent.id, child.id].sort());

      const claim = b.json<{ task: Task; token: string }>(["claim", "--assignee", "coder"], env);
      assert.equal(claim.task.id, parent.id);
      assert.equal(claim.task.status, "running");
      const worker = {
        ...env,
        KANBAN_TASK: parent.id,
        KANBAN_TOKEN: claim.token,
        KANBAN_PROFILE: "coder",
      };
      const done = b.json<Task>(["complete", "--summary", "tables made"], worker);
      assert.equal(done.status, "done");

      const after = Object.fromEntries(
        b.json<Task[]>(["list"], env).map((t) => [t.id, t.status]),
      );
      assert.deepEqual(after, { [parent.id]: "done", [child.id]: "ready" });

      const doctor = b.json<{ ok: boolean }>(["doctor"], env);
      assert.equal(doctor.ok, true);
      const backup = b.kanban(["backup", `${b.home}/copy.db`], env);
      assert.notEqual(backup.code, 0);
      assert.match(backup.stderr, /pg_dump/);
    } finally {
      await dropDatabase(db.name);
    }
  },
});
