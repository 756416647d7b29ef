/**
 * dist/kanban against a PostgreSQL board: the compiled binary carries the PostgreSQL client
 * (pure JS) and opens `postgres://` locations given with --db or $KANBAN_DB. Needs the
 * server scripts/test starts (KANBAN_TEST_PG_URL); without it the test is ignored, saying why.
 */
import assert from "node:assert/strict";
import { binaryHome } from "./_binary.ts";
import { SCHEMA_VERSION } from "../../lib/store/mod.ts";
import { randomBytes } from "node:crypto";
import {
  adminPool,
  databaseUrl,
  dropDatabase,
  emptyDatabase,
  PG_URL,
} from "../store/postgres/_pg.ts";

interface Task {
  id: string;
  status: string;
}

const PG_CA = Deno.env.get("KANBAN_TEST_PG_CA") || undefined;

/** A fresh empty database on the test server, dropped when the test ends. */
type Fresh = () => Promise<{ name: string; url: string }>;

/**
 * pgTest registers a test that needs the test server (and with `ca`, its certificate): it is
 * ignored, saying why, without them; `fresh` makes empty databases the test drops at its end.
 */
function pgTest(name: string, fn: (fresh: Fresh) => Promise<void>, ca = false): void {
  const why = PG_URL === undefined
    ? "KANBAN_TEST_PG_URL unset; scripts/test starts a server"
    : ca && PG_CA === undefined
    ? "KANBAN_TEST_PG_CA unset; scripts/test starts a server with a certificate when openssl is installed"
    : null;
  Deno.test({
    name: why === null ? name : `${name} (skipped: ${why})`,
    ignore: why !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const made: string[] = [];
      try {
        await fn(async () => {
          const db = await emptyDatabase();
          made.push(db.name);
          return db;
        });
      } finally {
        for (const db of made) await dropDatabase(db);
      }
    },
  });
}

pgTest("dist/kanban on a PostgreSQL board: init, create, list, claim, complete", async (fresh) => {
  const db = await fresh();
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
});

pgTest("dist/kanban on a PostgreSQL board never prints the database password", async (fresh) => {
  const db = await fresh();
  const other = await fresh();
  using b = binaryHome();
  const password = new URL(db.url).password;
  assert.ok(password.length > 8, "the test server's URL carries a password");
  const env = { KANBAN_DB: db.url };
  const seen: string[] = [];
  const run = (args: string[], extra: Record<string, string> = env) => {
    const r = b.kanban(args, extra);
    // the command line itself carries the URL: only what kanban printed counts
    seen.push(`$ kanban ${args[0]}\n${r.stdout}${r.stderr}`);
    return r;
  };
  for (const json of [[], ["--json"]]) {
    run(["init", "--db", db.url, ...json]);
    run(["status", ...json]);
    run(["doctor", ...json]);
  }
  run(["create", "a task", "--assignee", "coder"]);
  const exported = run(["export", "--out", `${b.home}/board.jsonl`]);
  assert.equal(exported.code, 0, exported.stderr);
  for (const json of [[], ["--json"]]) {
    // the first fills the other board, the second is refused: it holds a board now
    run(["import", `${b.home}/board.jsonl`, ...json], { KANBAN_DB: other.url });
  }
  // a token of another board: the refusal names the board
  run(["complete", "--summary", "x"], {
    ...env,
    KANBAN_TASK: "t_0123456789ab",
    KANBAN_TOKEN: "0".repeat(32),
  });
  // the dispatcher's log line and a refused connection
  run(["dispatch", "--once"]);
  const wrong = new URL(db.url);
  wrong.pathname = "/kb_no_such_database";
  run(["status"], { KANBAN_DB: wrong.toString() });
  const all = seen.join("\n");
  assert.ok(all.includes("***@"), `some output names the board:\n${all}`);
  assert.ok(!all.includes(password), `the password was printed:\n${all}`);
});

pgTest(
  "dist/kanban init --board NAME --db URL: board NAME lives in that database",
  async (fresh) => {
    const db = await fresh();
    const other = await fresh();
    using b = binaryHome();
    const init = b.json<{ board: string; path: string }>([
      "init",
      "--board",
      "team",
      "--db",
      db.url,
    ]);
    assert.equal(init.board, "team");
    assert.ok(!init.path.includes(new URL(db.url).password), "shown without the password");
    const file = `${b.home}/boards/team/board.url`;
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o600, "the URL file is the owner's alone");
    assert.equal(Deno.readTextFileSync(file).trim(), db.url);

    const made = b.json<Task>(["--board", "team", "create", "shared work"]);
    const listed = b.json<Task[]>(["list"], { KANBAN_BOARD: "team" });
    assert.deepEqual(listed.map((t) => t.id), [made.id], "KANBAN_BOARD=team reads the same");
    assert.equal(b.kanban(["--board", "team", "init", "--db", db.url]).code, 0, "again: a no-op");

    const moved = b.kanban(["init", "--board", "team", "--db", other.url]);
    assert.equal(moved.code, 2);
    assert.match(moved.stderr, /already kept in another database/);
    assert.equal(Deno.readTextFileSync(file).trim(), db.url, "the refusal changed nothing");
    const file_ = b.kanban(["init", "--board", "x", "--db", `${b.home}/x.db`]);
    assert.equal(file_.code, 2);
    assert.match(file_.stderr, /--board with --db records a server database's URL/);
  },
);

pgTest(
  "dist/kanban runs a board under a role that only owns its database, no superuser",
  async () => {
    const id = randomBytes(5).toString("hex");
    const role = `kb_role_${id}`;
    const name = `kb_owned_${id}`;
    const password = randomBytes(12).toString("hex");
    const admin = adminPool();
    await admin.unsafe(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER NOCREATEDB`);
    try {
      await admin.unsafe(`CREATE DATABASE ${name} OWNER ${role}`);
      // PostgreSQL 15 and newer let only the database's owner create in its public schema
      const url = new URL(databaseUrl(name));
      url.username = role;
      url.password = password;
      using b = binaryHome();
      const env = { KANBAN_DB: url.toString() };
      b.json(["init"], env);
      b.json(["create", "owned", "--assignee", "coder"], env);
      const claim = b.json<{ task: Task; token: string }>(["claim", "--assignee", "coder"], env);
      const done = b.json<Task>(["complete", "--summary", "ok"], {
        ...env,
        KANBAN_TASK: claim.task.id,
        KANBAN_TOKEN: claim.token,
      });
      assert.equal(done.status, "done");
      assert.equal(b.json<{ ok: boolean }>(["doctor"], env).ok, true);
    } finally {
      await dropDatabase(name);
      await admin.unsafe(`DROP ROLE IF EXISTS ${role}`);
    }
  },
);

const PUBLIC_CAS = "/etc/ssl/certs/ca-certificates.crt";

pgTest("dist/kanban reaches a PostgreSQL board over TLS and verifies the server", async (fresh) => {
  const db = await fresh();
  using b = binaryHome();
  const tls = (params: string) => ({ KANBAN_DB: `${db.url}?${params}` });
  const verified = tls(`sslmode=verify-full&sslrootcert=${PG_CA}`);
  b.json(["init"], verified);
  const made = b.json<Task>(["create", "over tls"], verified);
  assert.equal(b.json<Task[]>(["list"], tls("sslmode=require"))[0]?.id, made.id);

  // a server whose certificate the given CAs did not sign is refused, naming the board
  const other = b.kanban(["list"], tls(`sslmode=verify-full&sslrootcert=${PUBLIC_CAS}`));
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /Cannot open the board at ".*": self[- ]signed certificate/);
  assert.ok(!other.stderr.includes(new URL(db.url).password), "no password in the error");
}, true);
