import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { binaryHome } from "./_binary.ts";
import { SCHEMA_VERSION } from "../../lib/store/mod.ts";

interface Task {
  id: string;
  status: string;
}

Deno.test("dist/kanban --version prints the version and the SQLite version", () => {
  using b = binaryHome();
  const r = b.kanban(["--version"]);
  assert.equal(r.code, 0);
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.match(r.stdout, new RegExp(`^kanban ${pkg.version} \\(SQLite 3\\.\\d+\\.\\d+, bun \\d`));
});

Deno.test("dist/kanban runs a three-task chain: claim, complete with handoff, next is ready", () => {
  using b = binaryHome();
  const init = b.json<{ path: string; schema_version: number; created: boolean }>(["init"]);
  assert.equal(init.created, true);
  assert.equal(init.schema_version, SCHEMA_VERSION);
  const schema = b.json<Task>(["create", "schema", "--assignee", "coder"]);
  const api = b.json<Task>(["create", "api", "--assignee", "coder", "--parent", schema.id]);
  const docs = b.json<Task>(["create", "docs", "--assignee", "writer", "--parent", api.id]);
  assert.deepEqual([schema.status, api.status, docs.status], ["ready", "todo", "todo"]);

  const claim = b.json<{ task: Task; run: { id: number }; token: string }>([
    "claim",
    "--assignee",
    "coder",
  ]);
  assert.equal(claim.task.id, schema.id);
  assert.equal(claim.task.status, "running");
  const worker = { KANBAN_TASK: schema.id, KANBAN_TOKEN: claim.token, KANBAN_PROFILE: "coder" };
  const done = b.json<Task>([
    "complete",
    "--summary",
    "users and sessions tables",
    "--metadata",
    '{"tables":["users","sessions"],"migration":"001"}',
  ], worker);
  assert.equal(done.status, "done");

  const listed = b.json<Task[]>(["list"]);
  const status = Object.fromEntries(listed.map((t) => [t.id, t.status]));
  assert.deepEqual(status, { [schema.id]: "done", [api.id]: "ready", [docs.id]: "todo" });

  const ctx = b.kanban(["context", api.id.slice(0, 6)]);
  assert.equal(ctx.code, 0);
  assert.match(ctx.stdout, /## Handoffs from parent tasks/);
  assert.match(ctx.stdout, /> users and sessions tables/);
  assert.match(ctx.stdout, /"migration":"001"/);

  const show = b.json<Record<string, unknown>>(["show", schema.id]);
  assert.deepEqual(Object.keys(show), [
    "task",
    "parents",
    "children",
    "comments",
    "events",
    "runs",
    "waiting_on",
  ]);
  const runs = show["runs"] as { outcome: string; summary: string; metadata: unknown }[];
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.outcome, "completed");
  assert.deepEqual(runs[0]!.metadata, { tables: ["users", "sessions"], migration: "001" });
  const kinds = (show["events"] as { kind: string }[]).map((e) => e.kind);
  assert.deepEqual(kinds, ["created", "claimed", "completed"]);
});

Deno.test("dist/kanban exits 0, 1 and 2 and prints errors as one line or a JSON object", () => {
  using b = binaryHome();
  b.kanban(["init"]);
  const missing = b.kanban(["show", "t_12345678"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'kanban: No task matches "t_12345678"\n');
  const json = b.kanban(["show", "t_12345678", "--json"]);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), {
    error: { code: "not_found", message: 'No task matches "t_12345678"' },
  });
  const usage = b.kanban(["create", "x", "--nope"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^kanban: unknown option '--nope'/);
  const help = b.kanban(["create", "--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--assignee", "--parent", "--idempotency-key", "--json", "--board"]) {
    assert.match(help.stdout, new RegExp(flag));
  }
});

Deno.test("dist/kanban --board and KANBAN_BOARD select separate boards", () => {
  using b = binaryHome();
  b.kanban(["init", "--board", "ops"]);
  b.json(["create", "only on ops", "--board", "ops"]);
  assert.equal(b.json<Task[]>(["list"], { KANBAN_BOARD: "ops" }).length, 1);
  const def = b.kanban(["list"]);
  assert.equal(def.code, 1, "the default board was never initialised");
  assert.match(def.stderr, /run "kanban init"/);
});
