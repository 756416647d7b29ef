/**
 * `kanban mcp`: serve the agent tools over MCP on stdin/stdout (docs/mcp.md). Inside a worker
 * (KANBAN_TASK and KANBAN_TOKEN set) it serves the worker tools bound to that task and run;
 * otherwise the orchestrator tools. Runs until the client closes stdin.
 */
import type { Command } from "@commander-js/extra-typings";
import { type CliContext, session, workerDelivery } from "../context.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("mcp")
    .description("serve the agent tools over MCP (stdio): worker tools inside a worker")
    .action(async (_opts, cmd) => {
      // Loaded on demand: the MCP SDK would add tens of milliseconds to every other verb's start.
      const { createMcpServer, serveStdio } = await import("../../tools/mcp_server.ts");
      using s = session(ctx, cmd);
      // a worker's complete and block are retried through a board briefly out of reach
      await serveStdio(createMcpServer({ ...s.tools, delivery: workerDelivery(ctx) }));
    });
}
