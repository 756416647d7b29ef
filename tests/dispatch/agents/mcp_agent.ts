/**
 * Fake agent that speaks MCP: it starts `kanban mcp` as its stdio server (inheriting the
 * worker's environment, so the server is bound to this task and run), reads its task,
 * creates two follow-ups for the "writer" profile that wait for it, orders them (the
 * second waits for the first), and completes with a summary. Run by a profile command:
 *   deno run -A --config <repo>/deno.json tests/dispatch/agents/mcp_agent.ts
 */
import { connect } from "./_mcp_client.ts";

const { client, call } = await connect("mcp-agent", (text) => text.slice(0, 200));

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
