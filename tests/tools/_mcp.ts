/**
 * An MCP client connected in-process to createMcpServer() (the SDK's linked in-memory
 * transports): the real server and the real client, without a process in between.
 */
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Actor, Claim, Store } from "../../lib/store/mod.ts";
import { createMcpServer } from "../../lib/tools/mcp_server.ts";
import type { ToolDeps } from "../../lib/tools/mod.ts";

export interface ToolCall {
  isError: boolean;
  /** The text content, parsed as JSON. */
  json: Record<string, unknown>;
  text: string;
}

export interface McpSession extends AsyncDisposable {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<ToolCall>;
  /** call, failing unless the result is not an error. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** call, failing unless the result is an error; returns its `error`. */
  error(name: string, args?: Record<string, unknown>): Promise<{ code: string; message: string }>;
}

export async function connect(deps: ToolDeps): Promise<McpSession> {
  const server = createMcpServer(deps);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "kanban-test", version: "1" });
  await client.connect(clientSide);
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolCall> => {
    const r = await client.callTool({ name, arguments: args });
    const content = r.content as { type: string; text: string }[];
    if (content.length !== 1 || content[0]!.type !== "text") {
      throw new Error(`${name}: expected one text content, got ${JSON.stringify(r)}`);
    }
    const text = content[0]!.text;
    return { isError: r.isError === true, json: JSON.parse(text), text };
  };
  return {
    client,
    call,
    ok: async <T>(name: string, args?: Record<string, unknown>) => {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${r.text}`);
      return r.json as T;
    },
    error: async (name, args) => {
      const r = await call(name, args);
      if (!r.isError) throw new Error(`${name} did not fail: ${r.text}`);
      return (r.json as { error: { code: string; message: string } }).error;
    },
    [Symbol.asyncDispose]: async () => {
      await client.close();
      await server.close();
    },
  };
}

/** personDeps: the tools as a person or orchestrator (no worker binding). */
export function personDeps(store: Store, actor: Actor = { name: "orchestrator" }): ToolDeps {
  return { store, actor, worker: null };
}

/** workerDeps: the tools as the worker of a claim (bound to its task and token). */
export function workerDeps(store: Store, claim: Claim, tenant: string | null = null): ToolDeps {
  return {
    store,
    actor: { name: claim.task.assignee ?? "worker" },
    worker: { task: claim.task.id, token: claim.token, tenant },
  };
}
