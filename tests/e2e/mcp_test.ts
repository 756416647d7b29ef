/**
 * `dist/kanban mcp` driven by the MCP SDK's own client over stdio: the compiled binary
 * (Bun) serves the protocol on its stdin and stdout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { BINARY, binaryHome } from "./_binary.ts";

interface Task {
  id: string;
  status: string;
}

async function mcpClient(env: Record<string, string>, args: string[] = []) {
  const transport = new StdioClientTransport({
    command: BINARY,
    args: [...args, "mcp"],
    env: { PATH: "/usr/bin:/bin", ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Uint8Array) => void (stderr += new TextDecoder().decode(d)));
  const client = new Client({ name: "e2e", version: "1" });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as { type: string; text: string }[])[0]!.text;
    return { isError: r.isError === true, json: JSON.parse(text) as Record<string, unknown> };
  };
  return { client, call, stderr: () => stderr };
}

Deno.test("dist/kanban mcp serves the orchestrator tools to the SDK's stdio client", async () => {
  using b = binaryHome();
  b.kanban(["init"]);
  const { client, call, stderr } = await mcpClient({ KANBAN_HOME: b.home, HOME: b.home });
  try {
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name), [
      "list",
      "stats",
      "show",
      "create",
      "link",
      "comment",
    ]);
    const parent = await call("create", { title: "schema", assignee: "coder" });
    assert.equal(parent.isError, false);
    assert.equal(parent.json["status"], "ready");
    const child = await call("create", {
      title: "api",
      assignee: "coder",
      parents: [parent.json["id"]],
    });
    assert.equal(child.json["status"], "todo");
    const shown = await call("show", { id: child.json["id"] });
    assert.deepEqual(
      (shown.json["parents"] as { id: string }[]).map((p) => p.id),
      [parent.json["id"]],
    );
    const listed = await call("list", { limit: 1 });
    assert.equal((listed.json["tasks"] as unknown[]).length, 1);
    assert.equal(listed.json["next_offset"], 1);
    const missing = await call("show", { id: "t_12345678" });
    assert.deepEqual(missing, {
      isError: true,
      json: { error: { code: "not_found", message: 'No task matches "t_12345678"' } },
    });
  } finally {
    const t0 = Date.now();
    await client.close();
    // The SDK kills a server that is still running 2 s after stdin closes: this one exits.
    assert.ok(Date.now() - t0 < 1_900, `closing took ${Date.now() - t0} ms`);
  }
  assert.equal(stderr(), "");
  // What the client created is on the board, as the CLI sees it.
  assert.equal(b.json<Task[]>(["list"]).length, 2);
});

Deno.test("inside a worker, dist/kanban mcp reads and completes its own task and refuses others", async () => {
  using b = binaryHome();
  b.kanban(["init"]);
  const mine = b.json<Task>(["create", "write the parser", "--assignee", "coder"]);
  const other = b.json<Task>(["create", "someone else's", "--assignee", "coder"]);
  const claim = b.json<{ token: string; run: { id: number } }>(["claim", mine.id]);
  const board = join(b.home, "boards", "default", "board.db");
  const { client, call } = await mcpClient({
    HOME: b.home,
    KANBAN_DB: board,
    KANBAN_TASK: mine.id,
    KANBAN_TOKEN: claim.token,
    KANBAN_PROFILE: "coder",
  });
  try {
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name), [
      "show",
      "heartbeat",
      "comment",
      "complete",
      "block",
      "request_review",
      "review",
      "plan",
      "create",
      "link",
    ]);
    const shown = await call("show");
    assert.equal((shown.json["task"] as Task).id, mine.id);
    const follow = await call("create", { title: "test the parser", assignee: "tester" });
    assert.equal(follow.isError, false);
    const foreign = await call("complete", { id: other.id, summary: "not mine" });
    assert.equal(foreign.isError, true);
    assert.equal((foreign.json["error"] as { code: string }).code, "foreign_task");
    const done = await call("complete", { summary: "parser written", metadata: { files: 3 } });
    assert.equal(done.json["status"], "done");
    const late = await call("heartbeat", { note: "still here?" });
    assert.equal((late.json["error"] as { code: string }).code, "stale_lease");
    const after = await call("show");
    const run = (after.json["runs"] as { outcome: string; created_tasks: { id: string }[] }[])[0]!;
    assert.equal(run.outcome, "completed");
    assert.deepEqual(run.created_tasks.map((t) => t.id), [follow.json["id"]]);
  } finally {
    await client.close();
  }
  assert.equal(b.json<{ task: Task }>(["show", other.id]).task.status, "ready");
  const shown = b.json<{ runs: { summary: string; created_tasks: unknown[] }[] }>([
    "show",
    mine.id,
  ]);
  assert.equal(shown.runs[0]!.summary, "parser written");
  assert.equal(shown.runs[0]!.created_tasks.length, 1);
});

Deno.test("dist/kanban mcp opens the board given by --db, and fails clearly without one", async () => {
  using b = binaryHome();
  const path = join(b.home, "elsewhere.db");
  b.kanban(["--db", path, "init"]);
  const { client, call } = await mcpClient({ HOME: b.home, KANBAN_HOME: b.home }, [
    "--db",
    path,
  ]);
  try {
    assert.equal((await call("create", { title: "here" })).isError, false);
  } finally {
    await client.close();
  }
  assert.equal(b.json<Task[]>(["--db", path, "list"]).length, 1);
  const r = b.kanban(["mcp"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^kanban: No board at .*; run "kanban init"\n$/);
});
