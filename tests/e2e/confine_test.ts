/**
 * Worker confinement end to end: the compiled binary run as a worker would run it (the
 * dispatcher's environment: KANBAN_DB, KANBAN_TASK, KANBAN_TOKEN), over the CLI and over
 * `kanban mcp` with the MCP SDK's own client. KANBAN_E2E_BINARY points these tests at another
 * build than dist/kanban (a private one while dist is being rebuilt).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { tempDir } from "../_setup.ts";
import { BINARY } from "./_binary.ts";

const KANBAN = Deno.env.get("KANBAN_E2E_BINARY") || BINARY;

interface Task {
  id: string;
  status: string;
  title: string;
}
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** board makes a KANBAN_HOME with a board, a worker's task "mine" claimed, and its env. */
function board() {
  if (!existsSync(KANBAN)) throw new Error(`${KANBAN} is missing: run scripts/build first`);
  const tmp = tempDir("kanban-e2e-confine-");
  const kanban = (args: string[], env: Record<string, string> = {}): Result => {
    const r = spawnSync(KANBAN, args, {
      env: { PATH: "/usr/bin:/bin", HOME: tmp.dir, KANBAN_HOME: tmp.dir, USER: "e2e", ...env },
      encoding: "utf8",
      timeout: 30_000,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const json = <T>(args: string[], env?: Record<string, string>): T => {
    const r = kanban([...args, "--json"], env);
    assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  assert.equal(kanban(["init"]).code, 0);
  const mine = json<Task>(["create", "mine", "--assignee", "coder"]);
  const other = json<Task>(["create", "someone else's", "--assignee", "coder"]);
  const claim = json<{ token: string }>(["claim", mine.id]);
  const env = {
    KANBAN_DB: join(tmp.dir, "boards", "default", "board.db"),
    KANBAN_TASK: mine.id,
    KANBAN_TOKEN: claim.token,
    KANBAN_PROFILE: "coder",
  };
  /** state is what a person sees of the other task and the subscriptions. */
  const state = () => [json(["show", other.id]), json(["notify", "list"])];
  return { home: tmp.dir, kanban, json, mine, other, env, state, dispose: tmp };
}

Deno.test("the binary inside a worker refuses writes to other tasks and notify add, and does its own work", () => {
  const b = board();
  using _ = b.dispose;
  const marker = join(b.home, "hook-ran");
  const before = b.state();
  for (
    const [args, code] of [
      [["edit", b.other.id, "--title", "hijacked"], "foreign_task"],
      [["cancel", b.other.id], "foreign_task"],
      [["assign", b.other.id, "evil"], "foreign_task"],
      [["claim", b.other.id], "foreign_task"],
      [["notify", "add", "--command", `touch ${marker}`], "worker_forbidden"],
      [["backup", join(b.home, "copy.db")], "worker_forbidden"],
    ] as const
  ) {
    const r = b.kanban([...args, "--json"], b.env);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).error.code, code, r.stdout);
    // without --json: one clear line on stderr
    const text = b.kanban([...args], b.env);
    assert.equal(text.code, 1);
    assert.match(text.stderr, /^kanban: .*(worker of task|inside the worker)[^\n]*\n$/);
  }
  assert.deepEqual(b.state(), before);
  assert.equal(existsSync(marker), false);
  assert.equal(existsSync(join(b.home, "copy.db")), false);
  // its own task, and a follow-up linked behind a task it does not own
  const follow = b.json<Task>(["create", "test it", "--parent", b.mine.id], b.env);
  b.json(["link", b.other.id, follow.id], b.env);
  const done = b.json<Task>(["complete", "--summary", "written"], b.env);
  assert.equal(done.status, "done");
  // the other task itself is as it was (it only gained a child)
  const task = (s: unknown[]) => (s[0] as { task: Task }).task;
  assert.deepEqual(task(b.state()), task(before));
});

async function mcpClient(env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: KANBAN,
    args: ["mcp"],
    env: { PATH: "/usr/bin:/bin", ...env },
    stderr: "pipe",
  });
  const client = new Client({ name: "e2e", version: "1" });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as { type: string; text: string }[])[0]!.text;
    return { isError: r.isError === true, json: JSON.parse(text) as Record<string, unknown> };
  };
  const code = (r: { json: Record<string, unknown> }) =>
    (r.json["error"] as { code?: string } | undefined)?.code;
  return { client, call, code };
}

Deno.test("kanban mcp inside a worker refuses tool calls on another task and changes nothing", async () => {
  const b = board();
  using _ = b.dispose;
  const before = b.state();
  const { client, call, code } = await mcpClient({ HOME: b.home, ...b.env });
  try {
    assert.equal(code(await call("comment", { id: b.other.id, body: "not mine" })), "foreign_task");
    assert.equal(code(await call("complete", { id: b.other.id })), "foreign_task");
    assert.equal(code(await call("block", { id: b.other.id, reason: "?" })), "foreign_task");
    assert.equal(
      code(await call("link", { parent: b.mine.id, child: b.other.id })),
      "foreign_task",
    );
    assert.deepEqual(b.state(), before);
    // the worker tools keep working: a follow-up, linked, then its own completion
    const one = await call("create", { title: "one", parents: [b.mine.id] });
    const two = await call("create", { title: "two" });
    assert.equal(one.isError || two.isError, false, JSON.stringify([one, two]));
    assert.equal(
      (await call("link", { parent: one.json["id"], child: two.json["id"] })).isError,
      false,
    );
    assert.equal((await call("complete", { summary: "done" })).json["status"], "done");
  } finally {
    await client.close();
  }
});

Deno.test("kanban mcp with KANBAN_TASK but no token serves the reads and refuses every write", async () => {
  const b = board();
  using _ = b.dispose;
  const before = b.state();
  const { client, call, code } = await mcpClient({
    HOME: b.home,
    KANBAN_DB: b.env.KANBAN_DB,
    KANBAN_TASK: b.mine.id,
  });
  try {
    assert.equal((await call("show", { id: b.other.id })).isError, false);
    assert.equal(code(await call("create", { title: "smuggled" })), "worker_forbidden");
    assert.equal(code(await call("comment", { id: b.other.id, body: "hi" })), "worker_forbidden");
  } finally {
    await client.close();
  }
  assert.deepEqual(b.state(), before);
  assert.equal(b.json<Task[]>(["list"]).length, 2);
});
