/**
 * The MCP side of the fake MCP agents (mcp_agent.ts, mcp_gated.ts): `kanban mcp` started as a
 * stdio server with the worker's whole environment (so the server is bound to its task and
 * run), and a call that prints each answer and fails on a tool's error.
 */
import process from "node:process";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

/** The worker's environment, as the agent was started with it. */
export const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

/** connect starts `kanban mcp` and returns the client and its `call`. */
export async function connect(name: string, print = (text: string) => text) {
  const client = new Client({ name, version: "1" });
  await client.connect(
    new StdioClientTransport({ command: env["KANBAN_BIN"] ?? "kanban", args: ["mcp"], env }),
  );
  const call = async (tool: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name: tool, arguments: args });
    const text = (r.content as { type: string; text: string }[])[0]!.text;
    if (r.isError) throw new Error(`${tool} failed: ${text}`);
    console.log(`${tool} -> ${print(text)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return { client, call };
}
