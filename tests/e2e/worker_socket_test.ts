/**
 * Workers that reach the board through their dispatcher's unix socket, end to end: a real
 * `kanban dispatch` (the compiled binary) starts stub workers (tests/dispatch/agents/
 * socket.sh) that are the compiled binary too. On a SQLite board with
 * `dispatch.worker_access = "socket"` they show, heartbeat, comment, create a follow-up,
 * complete and block through the socket, are refused what a worker is refused, and have no
 * KANBAN_DB; on a PostgreSQL board (KANBAN_TEST_PG_URL) the database password appears nowhere
 * in a worker's environment.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { BINARY, type BinaryHome, binaryHome } from "./_binary.ts";
import { AGENTS } from "../dispatch/_harness.ts";
import { dropDatabase, emptyDatabase, PG_URL } from "../store/postgres/_pg.ts";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { WorkerSocket } from "../../lib/dispatch/worker_socket.ts";
import { MACHINE_OFF, setup } from "../_setup.ts";
import { add, claimId } from "../store/_helpers.ts";

interface Task {
  id: string;
  status: string;
  title: string;
}

/** dispatch starts `kanban dispatch` as a real process; stop() sends SIGTERM and waits. */
function dispatch(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(BINARY, ["dispatch", ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stdout!.on("data", () => {});
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
      return await exited;
    },
  };
}

/** A worker's record of one kanban call (socket.sh's `try`). */
function call(out: string, name: string) {
  const read = (ext: string) => readFileSync(join(out, `${name}.${ext}`), "utf8");
  const stdout = read("out");
  return {
    code: Number(read("code").trim()),
    stdout,
    stderr: read("err"),
    json: () => JSON.parse(stdout),
    error: () => JSON.parse(stdout).error as { code: string; message: string },
  };
}

/** waitFor polls until `done()` holds (15 s at most). */
async function waitFor(done: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!done()) {
    assert.ok(Date.now() < deadline, what());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** profiles writes config.toml: socket access, and the stub worker as coder and asker. */
function configure(b: BinaryHome, other: string, extra = ""): { coder: string; asker: string } {
  const coder = join(b.home, "out-coder");
  const asker = join(b.home, "out-asker");
  mkdirSync(coder);
  mkdirSync(asker);
  const agent = JSON.stringify(join(AGENTS, "socket.sh"));
  writeFileSync(
    join(b.home, "config.toml"),
    `[dispatch]\n${MACHINE_OFF}${extra}\n` +
      `[profiles.coder]\ncommand = [${agent}]\n` +
      `env = { OUT = ${JSON.stringify(coder)}, OTHER = "${other}" }\n` +
      `[profiles.asker]\ncommand = [${agent}]\n` +
      `env = { OUT = ${JSON.stringify(asker)}, OTHER = "${other}", MODE = "block" }\n`,
  );
  return { coder, asker };
}

Deno.test("dist/kanban workers on a SQLite board with worker_access = socket work through the dispatcher's socket", async () => {
  using b = binaryHome();
  assert.equal(b.kanban(["init"]).code, 0);
  const other = b.json<Task>(["create", "someone else's", "--assignee", "nobody"]);
  const out = configure(b, other.id, 'worker_access = "socket"');
  const mine = b.json<Task>(["create", "mine", "--assignee", "coder"]);
  const ask = b.json<Task>(["create", "ask", "--assignee", "asker"]);
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: b.home,
    KANBAN_HOME: b.home,
    USER: "e2e",
    KANBAN_BIN: BINARY,
  };
  const d = dispatch([], env);
  let socket = "";
  try {
    const status = (id: string) => b.json<{ task: Task }>(["show", id]).task.status;
    await waitFor(
      () => status(mine.id) === "done" && status(ask.id) === "blocked",
      () => `not done and blocked:\n${d.stderr()}`,
    );
    socket = d.stderr().match(/serving workers on (\S+)/)?.[1] ?? "";
    assert.ok(socket.endsWith(".sock"), d.stderr());
    assert.equal(existsSync(socket), true, "served while the dispatcher runs");
    assert.equal(await d.stop(), 0, d.stderr());
  } finally {
    await d.stop();
  }
  assert.equal(existsSync(socket), false, "removed when the dispatcher exits");

  const envOf = (dir: string) => readFileSync(join(dir, "env"), "utf8");
  for (const dir of [out.coder, out.asker]) {
    assert.doesNotMatch(envOf(dir), /^KANBAN_DB=/m);
    assert.match(envOf(dir), new RegExp(`^KANBAN_SOCKET=${socket}$`, "m"));
    assert.doesNotMatch(envOf(dir), /board\.db/, "the board file appears nowhere");
  }

  // the worker's own work, through the socket
  const c = (name: string) => call(out.coder, name);
  assert.equal(c("show").code, 0, c("show").stderr);
  assert.equal(c("show").json().task.id, mine.id);
  assert.equal(c("heartbeat").code, 0, c("heartbeat").stdout);
  assert.equal(c("comment").code, 0, c("comment").stdout);
  assert.equal(c("create").code, 0, c("create").stdout);
  const follow = c("create").json() as Task;
  assert.equal(c("complete").code, 0, c("complete").stdout);
  assert.equal(c("complete").json().status, "done");
  assert.equal(call(out.asker, "block").code, 0, call(out.asker, "block").stdout);
  assert.equal(call(out.asker, "block").json().status, "blocked");

  // refused as a worker is refused today, and what the socket adds
  assert.equal(c("foreign").code, 1);
  assert.deepEqual(c("foreign").error(), {
    code: "foreign_task",
    message:
      `Cannot comment on task "${other.id}" from the worker of task "${mine.id}": a worker writes only to its own task`,
  });
  assert.equal(c("foreign_edit").code, 1);
  assert.deepEqual(c("foreign_edit").error(), {
    code: "foreign_task",
    message:
      `Cannot edit task "${other.id}" from the worker of task "${mine.id}": a worker writes only to its own task, and creates and links its own follow-ups`,
  });
  assert.equal(c("notify").code, 1);
  assert.equal(c("notify").error().code, "worker_forbidden");
  assert.match(c("notify").error().message, /^Cannot call listSubscriptions inside a worker/);
  assert.equal(c("stale").code, 1);
  assert.equal(c("stale").error().code, "stale_lease");
  assert.equal(c("after").code, 1, "its run ended: the socket serves it nothing more");
  assert.equal(c("after").error().code, "stale_lease");

  // the board as a person sees it
  const shown = b.json<{ task: Task; comments: { body: string }[] }>(["show", other.id]);
  assert.equal(shown.task.title, "someone else's");
  assert.deepEqual(shown.comments, []);
  const f = b.json<{ task: Task; parents: { id: string }[] }>(["show", follow.id]);
  assert.deepEqual(f.parents.map((p) => p.id), [mine.id]);
  assert.equal(f.task.status, "ready");
  const done = b.json<{ task: Task & { result: unknown }; comments: { body: string }[] }>([
    "show",
    mine.id,
  ]);
  assert.deepEqual(done.comments.map((x) => x.body), ["looking into it"]);
});

Deno.test("dist/kanban mcp inside a socket worker serves the worker tools through the socket", async () => {
  await using b = setup();
  const mine = await add(b.store, "mine", { assignee: "coder" });
  const other = await add(b.store, "other", { assignee: "coder" });
  const claim = await claimId(b.store, mine.id);
  const socket = new WorkerSocket({ store: b.store, path: join(b.dir, "sock", "w.sock") });
  await socket.listen();
  const transport = new StdioClientTransport({
    command: BINARY,
    args: ["mcp"],
    env: {
      PATH: "/usr/bin:/bin",
      HOME: b.dir,
      KANBAN_HOME: b.dir,
      KANBAN_TASK: mine.id,
      KANBAN_TOKEN: claim.token,
      KANBAN_SOCKET: socket.path,
      KANBAN_PROFILE: "coder",
    },
    stderr: "pipe",
  });
  const client = new Client({ name: "e2e", version: "1" });
  try {
    await client.connect(transport);
    const tool = async (name: string, args: Record<string, unknown> = {}) => {
      const r = await client.callTool({ name, arguments: args });
      const text = (r.content as { type: string; text: string }[])[0]!.text;
      return { isError: r.isError === true, json: JSON.parse(text) };
    };
    const shown = await tool("show");
    assert.equal(shown.isError, false, JSON.stringify(shown.json));
    assert.equal(shown.json.task.id, mine.id);
    assert.equal((await tool("heartbeat", { note: "over mcp" })).isError, false);
    const foreign = await tool("comment", { id: other.id, body: "not mine" });
    assert.equal(foreign.json.error.code, "foreign_task");
    const done = await tool("complete", { summary: "through the socket" });
    assert.equal(done.isError, false, JSON.stringify(done.json));
    assert.equal((await b.store.getTask(mine.id)).status, "done");
    assert.deepEqual((await b.store.showTask(other.id)).comments, []);
  } finally {
    await client.close();
    await socket.close();
  }
});

Deno.test({
  name: PG_URL === undefined
    ? "dist/kanban dispatch on a PostgreSQL board gives workers the socket and never the password (skipped: KANBAN_TEST_PG_URL unset; scripts/pg start DIR gives one)"
    : "dist/kanban dispatch on a PostgreSQL board gives workers the socket and never the password",
  ignore: PG_URL === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const db = await emptyDatabase();
    const password = decodeURIComponent(new URL(db.url).password);
    assert.ok(password.length >= 8, "the test server's URL has a password");
    try {
      using b = binaryHome();
      const flags = ["--db", db.url];
      assert.equal(b.kanban(["init", ...flags]).code, 0);
      const other = b.json<Task>(["create", "someone else's", "--assignee", "nobody", ...flags]);
      const out = configure(b, other.id);
      const mine = b.json<Task>(["create", "mine", "--assignee", "coder", ...flags]);
      writeFileSync(join(b.home, "brief.txt"), "read me on any host\n");
      const attached = b.kanban(["attach", mine.id, join(b.home, "brief.txt"), ...flags]);
      assert.equal(attached.code, 0, attached.stderr);
      const env = {
        PATH: "/usr/bin:/bin",
        HOME: b.home,
        KANBAN_HOME: b.home,
        USER: "e2e",
        KANBAN_BIN: BINARY,
        // what an operator's environment may hold: never passed on to a worker
        DATABASE_URL: db.url,
        KANBAN_DB: db.url,
        // the client's own password variables (the URL's password wins for the dispatcher)
        PGPASSWORD: "another-secret-of-the-operator",
        PGPASSFILE: join(b.home, "pgpass"),
        REPORTING_DSN: "host=db password=another-secret-of-the-operator",
      };
      const d = dispatch([], env);
      try {
        await waitFor(
          () => b.json<{ task: Task }>(["show", mine.id, ...flags]).task.status === "done",
          () => `not done:\n${d.stderr()}`,
        );
        assert.equal(await d.stop(), 0, d.stderr());
      } finally {
        await d.stop();
      }
      const workerEnv = readFileSync(join(out.coder, "env"), "utf8");
      assert.match(workerEnv, /^KANBAN_SOCKET=/m);
      assert.doesNotMatch(workerEnv, /^KANBAN_DB=/m);
      assert.equal(workerEnv.includes(password), false, "the password is in the worker's env");
      assert.equal(workerEnv.includes(new URL(db.url).password), false);
      assert.doesNotMatch(workerEnv, /postgres(ql)?:\/\//);
      assert.doesNotMatch(workerEnv, /^PGPASS(WORD|FILE)=|another-secret-of-the-operator/m);
      for (const name of ["show", "heartbeat", "comment", "create", "attach", "complete"]) {
        assert.equal(call(out.coder, name).code, 0, `${name}: ${call(out.coder, name).stdout}`);
      }
      // the attachment reached the worker from the database, and the worker's came back
      assert.equal(readFileSync(join(out.coder, "brief"), "utf8"), "read me on any host\n");
      const back = b.kanban(["attachment", "get", mine.id, "answer.txt", "-o", "-", ...flags]);
      assert.equal(back.stdout, "from the worker\n", back.stderr);
      // nor in anything the dispatcher wrote for the run: its prompt, its log
      const files = readdirSync(join(b.home, "logs"), { recursive: true, encoding: "utf8" })
        .map((f) => join(b.home, "logs", f))
        .filter((f) => statSync(f).isFile());
      assert.ok(files.some((f) => f.endsWith("prompt.md")), files.join("\n"));
      for (const f of files) {
        assert.equal(readFileSync(f, "utf8").includes(password), false, f);
      }
    } finally {
      await dropDatabase(db.name);
    }
  },
});
