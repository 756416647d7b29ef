/**
 * The PostgreSQL driver's own tests: opening and migrating databases (concurrent first opens,
 * boards from a newer kanban, empty and foreign databases), what it reports about itself, and
 * its SQLite-only maintenance refused. They need the server scripts/test starts
 * (KANBAN_TEST_PG_URL); without it they are ignored, saying why.
 */
import assert from "node:assert/strict";
import postgresClient from "postgres";
import { openStore, SCHEMA_VERSION as BOARD_SCHEMA_VERSION } from "../../../lib/store/mod.ts";
import { BoardTooNewError, NotABoardError, NotFoundError } from "../../../lib/store/errors.ts";
import { PostgresDriver, redact } from "../../../lib/store/postgres/driver.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../../../lib/store/postgres/migrations.ts";
import { HUMAN } from "../../_setup.ts";
import { dropDatabase, emptyDatabase, endStore, freshDatabase, PG_URL, pgTest } from "./_pg.ts";

/** A database of its own for one test, dropped when disposed. */
async function database(
  kind: "fresh" | "empty",
): Promise<{ name: string; url: string } & AsyncDisposable> {
  const db = kind === "fresh" ? await freshDatabase() : await emptyDatabase();
  return { ...db, [Symbol.asyncDispose]: () => dropDatabase(db.name) };
}

/** raw runs SQL on a database directly, behind the driver's back. */
async function raw(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = postgresClient(url, { max: 1, onnotice: () => {} });
  try {
    return [...await c.unsafe(sql)];
  } finally {
    await c.end();
  }
}

pgTest("the schema version is the board's, the same number as a SQLite board's", () => {
  assert.equal(SCHEMA_VERSION, BOARD_SCHEMA_VERSION);
  return Promise.resolve();
});

pgTest(
  "openStore() refuses a board from a newer kanban with board_too_new, writing nothing",
  async () => {
    await using db = await database("fresh");
    await raw(db.url, `UPDATE schema_version SET version = ${SCHEMA_VERSION + 1}`);
    const store = openStore(db.url, { create: true });
    try {
      await assert.rejects(store.listTasks(), (err: unknown) => {
        assert.ok(err instanceof BoardTooNewError, `got ${String(err)}`);
        assert.equal(err.code, "board_too_new");
        assert.match(
          err.message,
          new RegExp(
            `has schema version ${
              SCHEMA_VERSION + 1
            }, but this kanban supports up to ${SCHEMA_VERSION}; upgrade kanban`,
          ),
        );
        assert.ok(!err.message.includes(new URL(db.url).password), "the password stays out");
        return true;
      });
      await assert.rejects(store.createTask({ title: "x" }, HUMAN), BoardTooNewError);
    } finally {
      await endStore(store);
    }
    const [row] = await raw(
      db.url,
      "SELECT version, (SELECT count(*) FROM tasks) AS n FROM schema_version",
    );
    assert.deepEqual({ ...row }, { version: SCHEMA_VERSION + 1, n: "0" });
  },
);

pgTest(
  "a board at schema version 4 (migration 001 only) is brought to the current version when opened, keeping its rows",
  async () => {
    await using db = await database("empty");
    await raw(
      db.url,
      `CREATE TABLE schema_version (version INTEGER NOT NULL);
      INSERT INTO schema_version (version) VALUES (4);
      ${MIGRATIONS[0]!.sql}
      INSERT INTO tasks (id, title, status, created_by, created_at, updated_at)
        VALUES ('t_0000000a', 'kept', 'ready', 'human', 1, 1);`,
    );
    const store = openStore(db.url);
    try {
      assert.equal((await store.info()).schema_version, SCHEMA_VERSION);
      assert.deepEqual((await store.listTasks()).map((t) => t.title), ["kept"]);
    } finally {
      await endStore(store);
    }
    const indexes = await raw(
      db.url,
      "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks' ORDER BY indexname",
    );
    const names = indexes.map((r) => r["indexname"]);
    assert.ok(!names.includes("tasks_claimable"), String(names));
    const def = (n: string) =>
      String(indexes.find((r) => r["indexname"] === n)?.["indexdef"]).replace(/^.* USING /, "");
    assert.equal(def("tasks_assignee"), "btree (assignee)");
    assert.equal(def("tasks_tenant"), "btree (tenant)");
    const [fk] = await raw(
      db.url,
      `SELECT condeferrable, condeferred FROM pg_constraint
        WHERE conname = 'tasks_current_run_id_fkey'`,
    );
    assert.deepEqual({ ...fk }, { condeferrable: true, condeferred: false });
    const rows = await raw(db.url, "SELECT version FROM schema_version");
    assert.deepEqual(rows.map((r) => r["version"]), [SCHEMA_VERSION]);
  },
);

pgTest(
  "eight concurrent first opens of an empty database all succeed and migrate it once",
  async () => {
    await using db = await database("empty");
    const drivers = Array.from({ length: 8 }, () => new PostgresDriver(db.url, { create: true }));
    try {
      const infos = await Promise.all(drivers.map((d) => d.info()));
      for (const info of infos) assert.equal(info.schema_version, SCHEMA_VERSION);
    } finally {
      await Promise.all(drivers.map((d) => d.end()));
    }
    // One migration: one version row, and the tables made once (a second run would have failed
    // on CREATE TABLE, and so would that open).
    const rows = await raw(db.url, "SELECT version FROM schema_version");
    assert.deepEqual(rows.map((r) => r["version"]), [SCHEMA_VERSION]);
    const store = openStore(db.url);
    try {
      assert.equal((await store.createTask({ title: "after" }, HUMAN)).created, true);
    } finally {
      await endStore(store);
    }
  },
);

pgTest("an empty database becomes a board only with create (kanban init)", async () => {
  await using db = await database("empty");
  const store = openStore(db.url);
  try {
    await assert.rejects(store.listTasks(), (err: unknown) => {
      assert.ok(err instanceof NotFoundError, `got ${String(err)}`);
      assert.match(err.message, /No board at ".*"; run "kanban init"/);
      return true;
    });
  } finally {
    await endStore(store);
  }
  const [tables] = await raw(
    db.url,
    "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'",
  );
  assert.equal(tables?.["n"], "0", "nothing was written");
});

pgTest("a database holding another program's tables is not made into a board", async () => {
  await using db = await database("empty");
  await raw(db.url, "CREATE TABLE invoices (id int)");
  const store = openStore(db.url, { create: true });
  try {
    await assert.rejects(store.listTasks(), (err: unknown) => {
      assert.ok(err instanceof NotABoardError, `got ${String(err)}`);
      assert.match(err.message, /PostgreSQL database of another program/);
      return true;
    });
  } finally {
    await endStore(store);
  }
});

pgTest(
  "a server that cannot be reached is a cannot_open error naming the board without its password",
  async () => {
    const u = new URL(PG_URL!);
    u.port = "1"; // nothing listens there
    const store = openStore(u.toString());
    try {
      await assert.rejects(store.listTasks(), (err: unknown) => {
        assert.equal((err as { code?: string }).code, "cannot_open");
        assert.ok((err as Error).message.includes(redact(u.toString())), String(err));
        assert.ok(!(err as Error).message.includes(u.password));
        return true;
      });
    } finally {
      await endStore(store);
    }
  },
);

pgTest("info() reports the schema version and the server's version", async () => {
  await using db = await database("fresh");
  const store = openStore(db.url);
  try {
    const info = await store.info();
    assert.equal(info.schema_version, SCHEMA_VERSION);
    const [v] = await raw(db.url, "SHOW server_version");
    assert.equal(info.sqlite_version, v?.["server_version"]);
    assert.match(info.sqlite_version, /^\d+\.\d+/);
  } finally {
    await endStore(store);
  }
});

pgTest(
  "backup() is refused on a PostgreSQL board, pointing at pg_dump; doctor() works",
  async () => {
    await using db = await database("fresh");
    const store = openStore(db.url);
    try {
      await store.createTask({ title: "x" }, HUMAN);
      await assert.rejects(store.backup("/tmp/never-written.db"), /pg_dump/);
      const report = await store.doctor();
      assert.equal(report.ok, true);
      assert.deepEqual(report.problems, []);
      assert.deepEqual(await store.integrityCheck(), []);
    } finally {
      await endStore(store);
    }
  },
);

pgTest("times are stored as the clock gave them, never the server's", async () => {
  await using db = await database("fresh");
  const at = Date.UTC(2001, 0, 2, 3, 4, 5, 6);
  const store = openStore(db.url, { clock: () => at });
  try {
    const { task } = await store.createTask({ title: "old" }, HUMAN);
    const [row] = await raw(
      db.url,
      `SELECT created_at, updated_at FROM tasks WHERE id = '${task.id}'`,
    );
    assert.deepEqual({ ...row }, { created_at: String(at), updated_at: String(at) });
    assert.equal((await store.getTask(task.id)).created_at, new Date(at).toISOString());
  } finally {
    await endStore(store);
  }
});

pgTest("reads and writes go on after the server ends the board's connections", async () => {
  await using db = await database("fresh");
  const store = openStore(db.url);
  try {
    await store.createTask({ title: "before" }, HUMAN);
    assert.equal((await store.listTasks()).length, 1);
    const killed = await raw(
      db.url,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'kanban' AND datname = current_database()`,
    );
    assert.ok(killed.length >= 1, "the board held a connection");
    await new Promise((r) => setTimeout(r, 50)); // let the client see the sockets close
    assert.equal((await store.listTasks()).length, 1);
    await store.createTask({ title: "after" }, HUMAN);
    assert.equal((await store.listTasks()).length, 2);
  } finally {
    await endStore(store);
  }
});
