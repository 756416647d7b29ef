import assert from "node:assert/strict";
import { setup } from "../_setup.ts";
import { add, claimId } from "../store/_helpers.ts";
import { snapshot } from "../store/sqlite/_raw.ts";
import { ORCHESTRATOR_TOOLS, WORKER_TOOLS } from "../../lib/tools/mod.ts";
import { connect, personDeps, workerDeps } from "./_mcp.ts";

interface Listed {
  name: string;
  description?: string | undefined;
  inputSchema: { properties?: Record<string, unknown>; required?: string[] };
}

/** budget is what tools/list costs an agent: descriptions + input schemas, chars / 4. */
function budget(tools: Listed[]): number {
  const chars =
    tools.map((t) =>
      JSON.stringify({ name: t.name, description: t.description, inputSchema: t.inputSchema })
    ).join("").length;
  return Math.ceil(chars / 4);
}

async function listed(worker: boolean): Promise<Listed[]> {
  await using b = setup();
  const deps = worker
    ? { ...personDeps(b.store), worker: { task: "t_00000000", token: "secret", tenant: null } }
    : personDeps(b.store);
  await using s = await connect(deps);
  return (await s.client.listTools()).tools as Listed[];
}

// Measured before the tests are declared, so that the figures appear in the test names.
const workerTools = await listed(true);
const orchestratorTools = await listed(false);
const BUDGET = 2_500;
const fmt = (n: number) => n.toLocaleString("en");

Deno.test(`the worker tool set lists in ${budget(workerTools)} tokens (chars / 4), under ${fmt(BUDGET)}`, () => {
  assert.ok(budget(workerTools) < BUDGET, `${budget(workerTools)} tokens`);
});

Deno.test(
  `the orchestrator tool set lists in ${budget(orchestratorTools)} tokens (chars / 4), under ${
    fmt(BUDGET)
  }`,
  () => {
    assert.ok(budget(orchestratorTools) < BUDGET, `${budget(orchestratorTools)} tokens`);
  },
);

Deno.test("outside a worker, kanban mcp offers list, stats, show, create, link and comment", () => {
  assert.deepEqual(orchestratorTools.map((t) => t.name), [...ORCHESTRATOR_TOOLS]);
  assert.deepEqual(orchestratorTools.map((t) => t.name), [
    "list",
    "stats",
    "show",
    "create",
    "link",
    "comment",
  ]);
  for (const t of orchestratorTools) assert.ok((t.description ?? "").length > 20, t.name);
  const comment = orchestratorTools.find((t) => t.name === "comment")!;
  assert.ok("id" in comment.inputSchema.properties!);
});

Deno.test("inside a worker it offers the ten worker tools; own-task tools take no id", () => {
  assert.deepEqual(workerTools.map((t) => t.name), [...WORKER_TOOLS]);
  assert.deepEqual(
    [...workerTools.map((t) => t.name)].sort(),
    [
      "block",
      "comment",
      "complete",
      "create",
      "heartbeat",
      "link",
      "plan",
      "request_review",
      "review",
      "show",
    ],
  );
  for (
    const name of ["heartbeat", "comment", "complete", "block", "plan", "request_review", "review"]
  ) {
    const t = workerTools.find((x) => x.name === name)!;
    assert.ok(!("id" in (t.inputSchema.properties ?? {})), `${name} lists no id`);
  }
  const show = workerTools.find((t) => t.name === "show")!;
  assert.deepEqual(show.inputSchema.required ?? [], [], "show's id is optional");
  assert.doesNotMatch(JSON.stringify(workerTools), /secret|token/i);
});

Deno.test("results are one compact JSON text without null fields", async () => {
  await using b = setup();
  await using s = await connect(personDeps(b.store));
  const r = await s.call("create", { title: "plan the release", assignee: "planner" });
  assert.equal(r.isError, false);
  assert.equal(r.text, JSON.stringify(r.json), "one line, no indentation");
  assert.equal(r.json["title"], "plan the release");
  assert.equal(r.json["created"], true);
  assert.ok(!("tenant" in r.json), "null fields are left out");
  assert.ok(!("body" in r.json), "a write confirmation does not echo the body");
  const stats = await s.ok<{ total: number }>("stats");
  assert.equal(stats.total, 1);
});

Deno.test("create over MCP takes a priority by name or number, and names the choices when wrong", async () => {
  await using b = setup();
  await using s = await connect(personDeps(b.store));
  const create = orchestratorTools.find((t) => t.name === "create")!;
  assert.match(JSON.stringify(create.inputSchema.properties?.["priority"]), /"urgent"/);
  const named = await s.call("create", { title: "hot fix", priority: "urgent" });
  assert.equal(named.isError, false, named.text);
  assert.equal((await b.store.getTask(String(named.json["id"]))).priority, 2);
  const numbered = await s.call("create", { title: "later", priority: -3 });
  assert.equal((await b.store.getTask(String(numbered.json["id"]))).priority, -3);
  const wrong = await s.call("create", { title: "x", priority: "soon" });
  assert.equal(wrong.isError, true);
  assert.match(wrong.text, /priority/);
  assert.equal((await b.store.listTasks()).length, 2, "the refused create made nothing");
});

Deno.test("every failure is isError with {error: {code, message}}", async () => {
  await using b = setup();
  await using s = await connect(personDeps(b.store));
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["show", { id: "t_ffffffff" }, "not_found", /No task matches "t_ffffffff"/],
    ["show", { id: "hello world" }, "invalid_input", /is not a task id/],
    ["show", {}, "usage", /Missing task id/],
    ["create", { title: 5 }, "invalid_input", /Invalid create input: title: .*expected string/],
    ["create", { title: "x", colour: "red" }, "invalid_input", /colour/],
    ["create", { title: "" }, "invalid_input", /title is empty/],
    [
      "create",
      { title: "x", not_before: "soonish" },
      "invalid_input",
      /"soonish" is not a time \(use ISO 8601/,
    ],
    ["list", { status: ["doing"] }, "invalid_input", /status/],
    ["link", { parent: "t_ffffffff", child: "t_eeeeeeee" }, "not_found", /No task/],
    ["complete", {}, "unknown_tool", /No tool "complete"/],
  ];
  for (const [name, args, code, message] of cases) {
    const r = await s.call(name, args);
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}`);
    assert.deepEqual(Object.keys(r.json), ["error"]);
    const err = r.json["error"] as { code: string; message: string };
    assert.deepEqual(Object.keys(err), ["code", "message"]);
    assert.equal(err.code, code, `${name}: ${err.message}`);
    assert.match(err.message, message);
  }
});

Deno.test("a worker's writes to another task are refused over MCP (foreign_task) and change nothing", async () => {
  await using b = setup();
  const mine = await add(b.store, "mine", { assignee: "coder" });
  const other = await add(b.store, "not mine", { assignee: "coder" });
  const claim = await claimId(b.store, mine.id);
  await using s = await connect(workerDeps(b.store, claim));
  const before = snapshot(b.path);
  for (
    const [name, args] of [
      ["complete", { id: other.id, summary: "sneaky" }],
      ["block", { id: other.id, reason: "why" }],
      ["comment", { id: other.id, body: "hi" }],
      ["heartbeat", { id: other.id }],
      ["link", { parent: mine.id, child: other.id }],
      ["request_review", { id: other.id, summary: "sneaky" }],
      ["review", { id: other.id, verdict: "approve" }],
    ] as const
  ) {
    const err = await s.error(name, args);
    assert.equal(err.code, "foreign_task", `${name}: ${err.message}`);
    assert.match(err.message, new RegExp(other.id));
  }
  assert.deepEqual(snapshot(b.path), before);
  // Its own task, by id or by default, is fine.
  assert.equal((await s.ok("comment", { id: mine.id, body: "mine" }))["task_id"], mine.id);
  assert.equal((await s.ok("heartbeat", { note: "going" }))["task_id"], mine.id);
});

Deno.test("a stale worker's writes over MCP are refused (stale_lease) and change nothing", async () => {
  await using b = setup();
  const task = await add(b.store, "job", { assignee: "coder" });
  const first = await claimId(b.store, task.id);
  const mine = await b.store.createTask({ title: "follow-up" }, {
    name: "coder",
    token: first.token,
  });
  // A person blocks and unblocks the task: run 1 is over; a new claim holds the lease.
  await b.store.block(task.id, "hold on", { name: "alice" });
  await b.store.unblock(task.id, { name: "alice" });
  await claimId(b.store, task.id);
  await using s = await connect(workerDeps(b.store, first));
  const before = snapshot(b.path);
  for (
    const [name, args] of [
      ["heartbeat", { note: "still here" }],
      ["comment", { body: "late news" }],
      ["complete", { summary: "done (not really)" }],
      ["block", { reason: "question" }],
      ["create", { title: "late follow-up" }],
      ["link", { parent: task.id, child: mine.task.id }],
    ] as const
  ) {
    const err = await s.error(name, args);
    assert.equal(err.code, "stale_lease", `${name}: ${err.message}`);
  }
  assert.deepEqual(snapshot(b.path), before);
  assert.equal((await b.store.getTask(task.id)).status, "running");
});

Deno.test("the run token is attached to worker writes but appears in no output", async () => {
  await using b = setup();
  const task = await add(b.store, "write things", { assignee: "coder", tenant: "acme" });
  const claim = await claimId(b.store, task.id);
  await using s = await connect(workerDeps(b.store, claim, "acme"));
  const texts: string[] = [];
  const ok = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await s.call(name, args);
    assert.equal(r.isError, false, `${name}: ${r.text}`);
    texts.push(r.text);
    return r.json;
  };
  await ok("show");
  await ok("heartbeat", { note: "step 1" });
  const c = await ok("comment", { body: "halfway" });
  assert.equal(c["run_id"], claim.run.id, "the comment is the run's: the token was attached");
  const child = await ok("create", { title: "docs", assignee: "writer", parents: [task.id] });
  assert.equal(child["tenant"], "acme", "a follow-up inherits the worker's tenant");
  const next = await ok("create", { title: "publish", assignee: "writer" });
  await ok("link", { parent: child["id"], child: next["id"] });
  const done = await ok("complete", { summary: "wrote things", metadata: { n: 2 } });
  assert.equal(done["status"], "done");
  await ok("show");
  for (const text of texts) assert.ok(!text.includes(claim.token), "token leaked");
  const events = (await b.store.showTask(String(child["id"]))).events;
  assert.equal(events[0]!.data["origin_run"], claim.run.id);
});

Deno.test("over MCP the implementer hands its work in with request_review and the reviewer answers with review", async () => {
  await using b = setup();
  const task = await add(b.store, "parser", { assignee: "coder", reviewer: "critic" });
  const coder = await claimId(b.store, task.id, "coder");
  {
    await using s = await connect(workerDeps(b.store, coder));
    const handed = await s.ok("request_review", { summary: "parser in src/parse.ts" });
    assert.deepEqual([handed["status"], handed["assignee"]], ["ready", "critic"]);
  }
  const critic = await claimId(b.store, task.id, "critic");
  await using s = await connect(workerDeps(b.store, critic));
  // a verdict of changes needs its reason, refused by name
  const err = await s.error("review", { verdict: "changes" });
  assert.equal(err.code, "invalid_input");
  assert.match(err.message, /says why/);
  const back = await s.ok("review", {
    verdict: "changes",
    reason: "the empty input crashes",
    comments: [{ file: "src/parse.ts", line: 3, body: "check the length first" }],
  });
  assert.deepEqual([back["status"], back["assignee"]], ["ready", "coder"]);
  const shown = await b.store.showTask(task.id);
  assert.match(shown.comments.at(-1)!.body, /^Review rejected: the empty input crashes/);
});

Deno.test("over MCP a worker's complete of a task with a gate is held for the gate, and says so", async () => {
  await using b = setup();
  const task = await add(b.store, "parser", { assignee: "coder", gate: ["make", "check"] });
  const claim = await claimId(b.store, task.id);
  await using s = await connect(workerDeps(b.store, claim));
  const held = await s.ok("complete", { summary: "parser done" });
  assert.deepEqual([held["status"], held["gate_pending"]], ["running", true]);
  assert.match(String(held["note"]), /completion gate runs once you exit/);
  assert.equal((await b.store.getRun(claim.run.id)).gate_pending, true);
  const refused = await s.error("block", { reason: "stuck after all" });
  assert.equal(refused.code, "gate_pending");
});
