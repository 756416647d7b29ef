/**
 * Fake agent for a task with a completion gate, speaking MCP: it starts `kanban mcp` (bound to
 * its task by the worker environment), reads its task with `show`, and completes with a
 * summary that says whether its prompt told it of a failed gate; it prints each answer (the
 * gate runs once this agent exits). Run by a profile command:
 *   deno run -A --config <repo>/deno.json tests/dispatch/agents/mcp_gated.ts
 */
import process from "node:process";
import { readFileSync } from "node:fs";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

const client = new Client({ name: "mcp-gated", version: "1" });
await client.connect(
  new StdioClientTransport({ command: env["KANBAN_BIN"] ?? "kanban", args: ["mcp"], env }),
);

async function call(name: string, args: Record<string, unknown> = {}) {
  const r = await client.callTool({ name, arguments: args });
  const text = (r.content as { type: string; text: string }[])[0]!.text;
  if (r.isError) throw new Error(`${name} failed: ${text}`);
  console.log(`${name} -> ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const shown = await call("show");
const again = /^## Completion gate failed/m.test(readFileSync(env["KANBAN_PROMPT_FILE"]!, "utf8"));
const gate = shown["gate_result"] as { state?: string } | undefined;
await call("complete", {
  summary: again ? `fixed what the gate reported (last gate: ${gate?.state})` : "first try",
});
await client.close();
