/**
 * The MCP server of `kanban mcp`: the tools of lib/tools over the SDK's McpServer. Inside a
 * worker it serves the worker tools, bound to the worker's task and run token (the token is
 * attached to every write and never shown; own-task tools are listed without an id); outside
 * one, the orchestrator tools. Results are compact JSON text (null fields left out, outputs
 * capped by AGENT_CAPS); every failure is `isError` with `{error: {code, message}}`.
 */
import process from "node:process";
import type { Readable, Writable } from "node:stream";
// The SDK's "./*" export maps types to "*.js.d.ts", which does not exist: point Deno's type
// checker at the extensionless path (Bun ignores these comments; both run the .js).
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { CallToolRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { KanbanError } from "../store/mod.ts";
import { VERSION } from "../version.ts";
import { AGENT_CAPS } from "./caps.ts";
import { toolSet } from "./mod.ts";
import { runTool, type Tool, type ToolDeps, toolError } from "./tool.ts";

/** compactJson prints `value` as one line of JSON without its null fields. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v === null ? undefined : v));
}

function result(value: unknown): CallToolResult {
  return { content: [{ type: "text", text: compactJson(value) }] };
}

function failure(err: unknown): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(toolError(err)) }], isError: true };
}

function instructions(deps: ToolDeps): string {
  return deps.worker
    ? `Kanban board tools for the worker of task ${deps.worker.task}. Read it with show; ` +
      `heartbeat on long work; hand follow-ups to other profiles with create; finish with ` +
      `complete (summary, metadata) or block (a question for a person).`
    : "Kanban board tools: plan work as tasks for agent profiles (create, link) and watch " +
      "the board (list, stats, show).";
}

/**
 * createMcpServer builds the server for `deps` (a worker's binding or none). Outputs are
 * capped by `deps.caps`, or AGENT_CAPS when it has none.
 */
export function createMcpServer(deps: ToolDeps): McpServer {
  const bound: ToolDeps = { ...deps, caps: deps.caps ?? AGENT_CAPS };
  const worker = bound.worker !== null;
  const tools = new Map<string, Tool>(toolSet(worker).map((t) => [t.name, t]));
  const call = async (tool: Tool, args: unknown): Promise<CallToolResult> => {
    try {
      return result(await runTool(tool, bound, args));
    } catch (err) {
      return failure(err);
    }
  };
  const server = new McpServer(
    { name: "kanban", version: VERSION },
    { instructions: instructions(bound) },
  );
  for (const tool of tools.values()) {
    // A worker writes only to its own task: own-task tools are listed without `id`. The call
    // still parses with the full schema, so an `id` of another task is refused (foreign_task)
    // instead of being dropped silently.
    const hidden = [...(worker && tool.target === "own" ? ["id"] : []), ...(tool.unlisted ?? [])];
    const listed = hidden.length === 0
      ? tool.input
      : tool.input.omit(Object.fromEntries(hidden.map((k) => [k, true])));
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: listed },
      (args: unknown) => call(tool, args),
    );
  }
  // tools/list stays the SDK's (JSON schemas made from the zod inputs). tools/call is ours:
  // the SDK would answer invalid arguments with a plain-text message, and every failure here,
  // validation included, is `{error: {code, message}}` like the CLI's `--json`.
  server.server.setRequestHandler(CallToolRequestSchema, (request) => {
    const tool = tools.get(request.params.name);
    if (!tool) {
      return failure(
        new KanbanError(
          "unknown_tool",
          `No tool "${request.params.name}" (tools: ${[...tools.keys()].join(", ")})`,
        ),
      );
    }
    return call(tool, request.params.arguments);
  });
  return server;
}

/**
 * serveStdio runs `server` over standard input and output until the client closes the
 * input (or `signal` aborts); it resolves once the server has closed.
 */
export async function serveStdio(
  server: McpServer,
  io: { input?: Readable; output?: Writable; signal?: AbortSignal } = {},
): Promise<void> {
  const input = io.input ?? process.stdin;
  const output = io.output ?? process.stdout;
  const transport = new StdioServerTransport(input, output);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
  });
  const stop = () => void server.close();
  input.once("end", stop);
  input.once("close", stop);
  io.signal?.addEventListener("abort", stop, { once: true });
  await server.connect(transport);
  try {
    await closed;
  } finally {
    input.off("end", stop);
    input.off("close", stop);
    io.signal?.removeEventListener("abort", stop);
  }
}
