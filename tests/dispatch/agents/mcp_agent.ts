/**
 * Fake agent that speaks MCP: it starts `kanban mcp` as its stdio server (inheriting the
 * worker's environment, so the server is bound to this task and run), reads its task,
 * creates two follow-ups for the "writer" profile that wait for it, orders them (the
 * second waits for the first), and completes with a summary. Run by a profile command:
 *   deno run -A --config <repo>/deno.json tests/dispatch/agents/mcp_agent.ts
 */
import process from "node:process";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

const client = new Client({ name: "mcp-agent", version: "1" });
await client.connect(
  new StdioClientTransport({ command: env["KANBAN_BIN"] ?? "kanban", args: ["mcp"], env }),
);

async function call(name: string, args: Record<string, unknown> = {}) {
  const r = await client.callTool({ name, arguments: args });
  const text = (r.content as { type: string; text: string }[])[0]!.text;
  if (r.isError) throw new Error(`${name} failed: ${text}`);
  console.log(`${name} -> ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const tools = (await client.listTools()).tools.map((t) => t.name);
console.log(`tools: ${tools.join(", ")}`);
const shown = await call("show");
const task = shown["task"] as { id: string; title: string };
await call("heartbeat", { note: "planning" });
const draft = await call("create", {
  title: `draft: ${task.title}`,
  body: "Write the first version.",
  assignee: "writer",
  parents: [task.id],
});
const review = await call("create", {
  title: `review: ${task.title}`,
  body: "Review the draft.",
  assignee: "writer",
  parents: [task.id],
});
await call("link", { parent: draft["id"], child: review["id"] });
await call("complete", {
  summary: `Planned "${task.title}" as 2 tasks for writer: draft, then review.`,
  metadata: { tasks: [draft["id"], review["id"]] },
});
await client.close();
