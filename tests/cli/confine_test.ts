/**
 * Worker confinement through the in-process CLI. Inside a worker (KANBAN_TASK/KANBAN_TOKEN),
 * every write to another task is refused (`foreign_task`) and every administrative verb too
 * (`worker_forbidden`), with exit code 1 and every table of the board unchanged; the worker's
 * own task, its follow-ups and all reads keep working. Each refused case is then run by a
 * person, who succeeds: the refusal comes from the confinement, not from the task's state.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { buildProgram } from "../../lib/cli/program.ts";
import { commandPath, IN_WORKER } from "../../lib/cli/confine.ts";
import { openStore } from "../../lib/store/mod.ts";
import { type CliHome, cliHome, type CliResult, create } from "./_cli.ts";

interface ClaimJson {
  task: { id: string };
  run: { id: number };
  token: string;
}
interface ErrorJson {
  error: { code: string; message: string };
}
type Env = Record<string, string>;

function boardOf(h: CliHome, name = "default"): string {
  return join(h.home, "boards", name, "board.db");
}

/** rows reads every row of every table of the board through a second, read-only connection. */
function rows(path: string): Record<string, unknown[]> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ).all().map((r) => String(r["name"]));
    // in a stable order (some tables have no rowid): by each row's JSON text
    const all = (t: string) =>
      db.prepare(`SELECT * FROM "${t}"`).all().map((r) => JSON.stringify(r)).sort();
    return Object.fromEntries(tables.map((t) => [t, all(t)]));
  } finally {
    db.close();
  }
}

/** worker claims a new task "mine" (created with `args`) and returns the worker's env. */
async function worker(h: CliHome, ...args: string[]): Promise<{ mine: string; env: Env }> {
  const mine = await create(h, "mine", "--assignee", "coder", ...args);
  const c = (await h.run(["claim", mine, "--json"])).json<ClaimJson>();
  return { mine, env: { KANBAN_TASK: mine, KANBAN_TOKEN: c.token, KANBAN_PROFILE: "coder" } };
}

/** ok runs a command (as a person unless `env`) and fails the test unless it exits 0. */
async function ok(h: CliHome, args: string[], env: Env = {}): Promise<CliResult> {
  const r = await h.run([...args, "--json"], env);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r;
}

/** within fails the test when `p` takes longer than `ms` (a verb that should be refused runs). */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * refused runs `args` inside the worker and asserts exit code 1, the error `code`, and that
 * no table of the board changed. Returns the error message.
 */
async function refused(
  h: CliHome,
  env: Env,
  args: string[],
  code: string,
  board = boardOf(h),
): Promise<string> {
  const before = rows(board);
  const r = await within(10_000, args.join(" "), h.run([...args, "--json"], env));
  const what = `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`;
  assert.equal(r.code, 1, what);
  assert.equal(r.json<ErrorJson>().error.code, code, what);
  assert.deepEqual(rows(board), before, `${what}: the board changed`);
  return r.json<ErrorJson>().error.message;
}

/**
 * FOREIGN: each verb on a task that is not the worker's, arranged (by a person) into a state
 * where a person's same command succeeds. `person: false`: only a worker could run it.
 */
const FOREIGN: {
  name: string;
  arrange: (h: CliHome) => Promise<string[]>;
  person?: false;
}[] = [
  { name: "edit", arrange: async (h) => ["edit", await create(h, "other"), "--title", "hijacked"] },
  { name: "assign", arrange: async (h) => ["assign", await create(h, "other"), "evil"] },
  {
    name: "assign --none",
    arrange: async (h) => ["assign", await create(h, "o", "-a", "x"), "--none"],
  },
  { name: "cancel", arrange: async (h) => ["cancel", await create(h, "other"), "--reason", "x"] },
  {
    name: "cancel (another worker's running task)",
    arrange: async (h) => {
      const id = await create(h, "running elsewhere");
      await ok(h, ["claim", id]);
      return ["cancel", id];
    },
  },
  { name: "archive", arrange: async (h) => ["archive", await create(h, "other")] },
  {
    name: "unarchive",
    arrange: async (h) => {
      const id = await create(h, "archived");
      await ok(h, ["archive", id]);
      return ["unarchive", id];
    },
  },
  {
    name: "unblock",
    arrange: async (h) => {
      const id = await create(h, "blocked");
      await ok(h, ["block", id, "waiting for a person"]);
      return ["unblock", id];
    },
  },
  { name: "promote", arrange: async (h) => ["promote", await create(h, "triaged", "--triage")] },
  {
    name: "reopen",
    arrange: async (h) => {
      const id = await create(h, "done");
      await ok(h, ["complete", id]);
      return ["reopen", id];
    },
  },
  {
    name: "review --approve",
    arrange: async (h) => {
      const id = await create(h, "in review", "--review");
      await ok(h, ["complete", id]);
      return ["review", id, "--approve"];
    },
  },
  {
    name: "review --reject",
    arrange: async (h) => {
      const id = await create(h, "in review", "--review");
      await ok(h, ["complete", id]);
      return ["review", id, "--reject", "--reason", "redo"];
    },
  },
  {
    name: "unlink",
    arrange: async (h) => {
      const parent = await create(h, "parent");
      return ["unlink", parent, await create(h, "child", "--parent", parent)];
    },
  },
  {
    name: "link (a child the run did not create)",
    arrange: async (h) => ["link", await create(h, "parent"), await create(h, "child")],
  },
  { name: "claim ID", arrange: async (h) => ["claim", await create(h, "other")] },
  {
    name: "claim (the best ready task)",
    arrange: async (h) => {
      await create(h, "other");
      return ["claim"];
    },
  },
  { name: "comment", arrange: async (h) => ["comment", await create(h, "other"), "hello"] },
  { name: "complete", arrange: async (h) => ["complete", await create(h, "other")] },
  { name: "block", arrange: async (h) => ["block", await create(h, "other"), "why?"] },
  {
    name: "heartbeat",
    arrange: async (h) => {
      const id = await create(h, "running elsewhere");
      await ok(h, ["claim", id]);
      return ["heartbeat", id];
    },
    person: false,
  },
];

for (const c of FOREIGN) {
  Deno.test(`worker confinement: ${c.name} on another task is refused and changes nothing`, async () => {
    using h = await cliHome();
    const { mine, env } = await worker(h);
    const args = await c.arrange(h);
    const message = await refused(h, env, args, "foreign_task");
    assert.match(message, new RegExp(`the worker of task "${mine}"`));
    if (c.person !== false) await ok(h, args);
  });
}

Deno.test("worker confinement: the task verbs work on the worker's own task", async () => {
  using h = await cliHome();
  const parent = await create(h, "parent");
  await ok(h, ["complete", parent]);
  const { mine, env } = await worker(h, "--parent", parent);
  const child = await create(h, "waits for mine", "--parent", mine);
  await ok(h, ["edit", mine, "--title", "mine, renamed", "--priority", "high"], env);
  await ok(h, ["assign", mine, "coder-2"], env);
  await ok(h, ["comment", "progress"], env);
  await ok(h, ["heartbeat", "--note", "half way"], env);
  await ok(h, ["unlink", parent, mine], env);
  // Verbs whose transition a running task does not have: refused by the state machine, as for
  // a person, and never as foreign
  for (
    const args of [["unblock"], ["promote"], ["reopen"], ["unarchive"]]
  ) {
    await refused(h, env, [args[0]!, mine, ...args.slice(1)], "illegal_transition");
  }
  // inside a worker, review is a reviewer's verdict: this worker reviews nothing
  await refused(h, env, ["review", mine, "--approve"], "not_reviewing");
  await refused(h, env, ["claim", mine], "illegal_transition");
  // Completing re-derives the tasks that wait on it (another task's status, as a consequence)
  const done = await ok(h, ["complete", "--summary", "all of it"], env);
  assert.equal(done.json()["status"], "done");
  const shown = (await ok(h, ["show", mine])).json<
    { task: { title: string; priority: number; assignee: string }; parents: unknown[] }
  >();
  assert.deepEqual(
    [shown.task.title, shown.task.assignee, shown.parents.length],
    ["mine, renamed", "coder-2", 0],
  );
  assert.equal(
    (await ok(h, ["show", child])).json<{ task: { status: string } }>().task.status,
    "ready",
  );
});

for (const verb of ["cancel", "archive", "block"]) {
  Deno.test(`worker confinement: ${verb} of its own task ends the run, and then the worker may only read`, async () => {
    using h = await cliHome();
    const { mine, env } = await worker(h);
    await ok(h, verb === "block" ? ["block", "a question"] : [verb, mine], env);
    await refused(h, env, ["edit", mine, "--title", "late"], "stale_lease");
    await refused(h, env, ["create", "late follow-up"], "stale_lease");
    await ok(h, ["show"], env);
    await ok(h, ["list"], env);
  });
}

Deno.test("worker confinement: follow-ups are created and linked, other tasks are not linked", async () => {
  using h = await cliHome();
  const { mine, env } = await worker(h);
  const stranger = await create(h, "stranger");
  const one = (await ok(h, ["create", "one", "-a", "tester", "--parent", mine], env))
    .json<{ id: string; status: string }>();
  assert.equal(one.status, "todo");
  const two = (await ok(h, ["create", "two"], env)).json<{ id: string }>().id;
  // A follow-up may wait for the run's own follow-ups and for any task
  await ok(h, ["link", one.id, two], env);
  await ok(h, ["link", stranger, one.id], env);
  // ... but nothing the run did not create is made to wait
  await refused(h, env, ["link", one.id, stranger], "foreign_task");
  await refused(h, env, ["link", two, mine], "foreign_task");
  // ... and a follow-up, once made, is another task like any other
  await refused(h, env, ["edit", two, "--title", "changed"], "foreign_task");
  await refused(h, env, ["cancel", two], "foreign_task");
  await refused(h, env, ["unlink", one.id, two], "foreign_task");
  const shown = (await ok(h, ["show", mine])).json<
    { runs: { created_tasks: { id: string }[] }[] }
  >();
  assert.deepEqual(shown.runs[0]!.created_tasks.map((t) => t.id), [one.id, two]);
});

Deno.test("worker confinement: notify add --command is refused and no subscription is stored", async () => {
  using h = await cliHome();
  const { env } = await worker(h);
  const marker = join(h.home, "ran");
  const message = await refused(
    h,
    env,
    ["notify", "add", "--command", `touch ${marker}`],
    "worker_forbidden",
  );
  assert.match(message, /kanban notify add/);
  assert.deepEqual((await ok(h, ["notify", "list"], env)).json(), []);
  assert.equal(existsSync(marker), false);
  await ok(h, ["notify", "add", "--command", "true"]); // a person may
});

/** Extra arguments for verbs that would otherwise run until stopped, should they not be refused. */
const BOUNDED: Record<string, string[]> = {
  dispatch: ["--once"],
  serve: ["--port", "0"],
  login: ["--url", "http://127.0.0.1:9/"],
  "routine add": ["--cron", "@daily", "--title", "x"],
  "budget add": ["--scope", "board", "--metric", "runs", "--cap", "1", "--window", "day"],
};

interface Cmd {
  name(): string;
  parent: Cmd | null;
  commands: readonly Cmd[];
  registeredArguments: readonly { required: boolean }[];
  opts(): object;
}

function leaves(cmd: Cmd): Cmd[] {
  return cmd.commands.length === 0 ? [cmd] : cmd.commands.flatMap(leaves);
}

function program(): Cmd {
  return buildProgram({
    env: {},
    cwd: "/",
    stdout: () => {},
    stderr: () => {},
    readStdin: () => Promise.resolve(""),
    now: () => 0,
  }) as unknown as Cmd;
}

Deno.test("worker confinement: every command a worker may not run is refused before it acts", async () => {
  using h = await cliHome();
  const { env } = await worker(h);
  await ok(h, ["notify", "add", "--command", "true"]); // subscription 1, for remove and enable
  const all = leaves(program()).filter((c) => c.parent !== null);
  const admin = all.filter((c) => IN_WORKER[commandPath(c)] === undefined);
  // The administrative verbs of the brief are all among them (a new verb joins by default)
  for (
    const path of [
      "init",
      "dispatch",
      "serve",
      "login",
      "gc",
      "backup",
      "export",
      "import",
      "notify add",
      "notify remove",
      "notify enable",
      "inbox",
      "reply",
      "routine add",
      "routine run-now",
      "budget add",
      "budget remove",
    ]
  ) assert.ok(admin.some((c) => commandPath(c) === path), path);
  for (const cmd of admin) {
    const path = commandPath(cmd);
    const args = [
      ...path.split(" "),
      ...cmd.registeredArguments.filter((a) => a.required).map(() => "1"),
      ...(BOUNDED[path] ?? []),
    ];
    const message = await refused(h, env, args, "worker_forbidden");
    assert.match(message, new RegExp(`"kanban ${path}" is refused inside the worker of task`));
  }
  // Options can make a read an administrative act, or a dry run stays refused with its verb
  await refused(h, env, ["doctor", "--repair"], "worker_forbidden");
  await refused(h, env, ["gc", "--dry-run"], "worker_forbidden");
  await refused(h, env, ["init", "--db", join(h.home, "new.db")], "worker_forbidden");
  assert.equal(existsSync(join(h.home, "1")), false, "backup wrote its file");
  assert.equal(existsSync(join(h.home, "new.db")), false, "init made a board");
});

Deno.test("worker confinement: every command the table allows exists, and reads run in a worker", async () => {
  using h = await cliHome();
  const { mine, env } = await worker(h);
  const paths = new Set(leaves(program()).map(commandPath));
  for (const path of Object.keys(IN_WORKER)) assert.ok(paths.has(path), `no command "${path}"`);
  for (
    const args of [
      ["list"],
      ["show"],
      ["show", mine],
      ["runs", mine],
      ["context", mine],
      ["stats"],
      ["assignees"],
      ["status"],
      ["notify", "list"],
      ["skills", "list"],
    ]
  ) await ok(h, args, env);
  const doctor = await h.run(["doctor", "--json"], env);
  assert.notEqual(doctor.json<ErrorJson>().error?.code, "worker_forbidden", doctor.stdout);
  // Its own changes: a scratch task has no diff to show, but the verb is not refused.
  const diff = await h.run(["diff", mine, "--json"], env);
  assert.notEqual(diff.json<ErrorJson>().error?.code, "worker_forbidden", diff.stdout);
  assert.doesNotMatch(diff.stdout + diff.stderr, /refused inside the worker/);
});

Deno.test("worker confinement: KANBAN_TASK without KANBAN_TOKEN may read but not write", async () => {
  using h = await cliHome();
  const { mine } = await worker(h);
  const env = { KANBAN_TASK: mine };
  const message = await refused(h, env, ["edit", mine, "--title", "x"], "worker_forbidden");
  assert.match(message, /without its run's lease token/);
  await refused(h, env, ["comment", mine, "hi"], "worker_forbidden");
  await refused(h, env, ["create", "follow-up"], "worker_forbidden");
  await refused(h, env, ["notify", "add", "--command", "true"], "worker_forbidden");
  await ok(h, ["show", mine], env);
});

Deno.test("worker confinement: KANBAN_TOKEN alone binds the worker to the token's task", async () => {
  using h = await cliHome();
  const { mine, env } = await worker(h);
  const other = await create(h, "other");
  const token = { KANBAN_TOKEN: env["KANBAN_TOKEN"]! };
  await ok(h, ["edit", mine, "--title", "mine, by token"], token);
  await refused(h, token, ["edit", other, "--title", "x"], "foreign_task");
  await refused(h, token, ["backup", join(h.home, "copy.db")], "worker_forbidden");
  // KANBAN_TASK naming another task than the token's does not move the worker there
  const message = await refused(
    h,
    { ...token, KANBAN_TASK: other },
    ["edit", other, "--title", "x"],
    "foreign_task",
  );
  assert.match(message, new RegExp(`belongs to task "${mine}"`));
});

Deno.test("worker confinement: a worker writes to no other board, and may read one", async () => {
  using h = await cliHome();
  const { mine, env } = await worker(h);
  await ok(h, ["init", "--board", "other"]);
  const theirs = await create(h, "theirs", "--board", "other");
  const board = boardOf(h, "other");
  for (
    const args of [
      ["create", "smuggled", "--board", "other"],
      ["edit", theirs, "--title", "x", "--board", "other"],
      ["comment", theirs, "hi", "--db", board],
    ]
  ) {
    const message = await refused(
      h,
      env,
      args,
      args[0] === "comment" ? "foreign_task" : "stale_lease",
      board,
    );
    if (args[0] !== "comment") assert.match(message, /belongs to no run/);
  }
  assert.equal((await ok(h, ["list", "--board", "other"], env)).json<unknown[]>().length, 1);
  // the worker's own board still takes its writes
  await ok(h, ["comment", mine, "still here"], env);
});

Deno.test("worker confinement: the store refuses a confined connection's writes that no verb makes", async () => {
  using h = await cliHome();
  const { mine, env } = await worker(h);
  const other = await create(h, "other");
  await ok(h, ["notify", "add", "--command", "true"]);
  const path = boardOf(h);
  using store = openStore(path, {
    confine: { task: env["KANBAN_TASK"]!, token: env["KANBAN_TOKEN"]! },
  });
  const before = rows(path);
  const refusals: [string, () => Promise<unknown>, string][] = [
    ["updateTask", () => store.updateTask(other, { title: "x" }, { name: "p" }), "foreign_task"],
    ["removeSubscription", () => store.removeSubscription(1), "worker_forbidden"],
    ["requestDispatch", () => store.requestDispatch({ name: "p" }), "worker_forbidden"],
    ["renewRun", async () => store.renewRun((await store.getRun(1)).id), "worker_forbidden"],
    ["pruneEvents", () => store.pruneEvents(0), "worker_forbidden"],
    ["backup", () => store.backup(join(h.home, "copy.db")), "worker_forbidden"],
    ["exportBoard", () => store.exportBoard(() => {}), "worker_forbidden"],
    [
      "importBoard",
      () => store.importBoard((async function* () {})()),
      "worker_forbidden",
    ],
    [
      "acquireDispatchLease",
      () => store.acquireDispatchLease({ id: "d", host: "h", pid: 1 }, 1000),
      "worker_forbidden",
    ],
  ];
  for (const [name, call, code] of refusals) {
    const err = await call().then(() => null, (e: unknown) => e as { code?: string });
    assert.equal(err?.code, code, `${name}: ${err}`);
  }
  assert.deepEqual(rows(path), before);
  assert.equal(existsSync(join(h.home, "copy.db")), false);
  // ... and its writes to its own task go through whatever actor the call passes
  assert.equal((await store.editTask(mine, { title: "mine" }, { name: "p" })).title, "mine");
});
