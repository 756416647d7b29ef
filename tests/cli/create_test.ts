import assert from "node:assert/strict";
import { cliHome, create } from "./_cli.ts";

Deno.test("create --json prints the task with id and status, and every flag lands", async () => {
  using h = await cliHome();
  const parent = await create(h, "schema");
  const r = await h.run([
    "create",
    "api",
    "--body",
    "Build **the** API",
    "--assignee",
    "coder",
    "--parent",
    parent,
    "--priority",
    "high",
    "--tenant",
    "acme",
    "--workspace",
    "dir:/srv/repo",
    "--skill",
    "ts",
    "--skill",
    "sql",
    "--max-runtime",
    "1h30m",
    "--not-before",
    "+2h",
    "--review",
    "--idempotency-key",
    "api-1",
    "--created-by",
    "planner",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const t = r.json();
  assert.match(String(t["id"]), /^t_[0-9a-f]{8}$/);
  assert.equal(t["status"], "todo");
  assert.equal(t["body"], "Build **the** API");
  assert.equal(t["assignee"], "coder");
  assert.equal(t["priority"], 1);
  assert.equal(t["tenant"], "acme");
  assert.equal(t["workspace"], "dir:/srv/repo");
  assert.deepEqual(t["skills"], ["ts", "sql"]);
  assert.equal(t["max_runtime_seconds"], 5400);
  assert.equal(t["not_before"], "2026-03-01T14:00:00.000Z");
  assert.equal(t["review_required"], true);
  assert.equal(t["idempotency_key"], "api-1");
  assert.equal(t["created_by"], "planner");
  assert.equal(t["created"], true);
});

Deno.test("create with an idempotency key twice returns the first task", async () => {
  using h = await cliHome();
  const first = await h.run(["create", "once", "--idempotency-key", "k1", "--json"]);
  const second = await h.run(["create", "once again", "--idempotency-key", "k1", "--json"]);
  assert.equal(second.code, 0);
  assert.equal(second.json()["id"], first.json()["id"]);
  assert.equal(second.json()["created"], false);
  const list = await h.run(["list", "--json"]);
  assert.equal(list.json<unknown[]>().length, 1);
});

Deno.test("create --triage parks the task until promote", async () => {
  using h = await cliHome();
  const id = await create(h, "idea", "--triage");
  assert.equal(
    (await h.run(["show", id, "--json"])).json<{ task: { status: string } }>().task.status,
    "triage",
  );
  const r = await h.run(["promote", id, "--json"]);
  assert.equal(r.json()["status"], "ready");
});

Deno.test("create --body-file - reads the body from standard input", async () => {
  using h = await cliHome();
  const r = await h.run(
    ["create", "from stdin", "--body-file", "-", "--json"],
    {},
    "line 1\nline 2\n",
  );
  assert.equal(r.json()["body"], "line 1\nline 2\n");
});

Deno.test("edit --needs replaces a task's labels, --no-needs clears them, the last one wins", async () => {
  using h = await cliHome();
  const id = await create(h, "ios build");
  const needs = async (...flags: string[]) => {
    const r = await h.run(["edit", id, ...flags, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return r.json()["needs"];
  };
  assert.deepEqual(await needs("--needs", "macos", "--needs", "arm"), ["arm", "macos"]);
  assert.deepEqual(await needs("--needs", "gpu", "--no-needs"), []);
  assert.deepEqual(await needs("--no-needs", "--needs", "gpu"), ["gpu"]);
  const bad = await h.run(["edit", id, "--no-needs", "--needs", ""]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /label/);
  assert.deepEqual(await needs("--priority", "high"), ["gpu"], "a refused edit changed nothing");
});
