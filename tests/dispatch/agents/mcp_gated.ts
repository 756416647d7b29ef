/**
 * Fake agent for a task with a completion gate, speaking MCP: it starts `kanban mcp` (bound to
 * its task by the worker environment), reads its task with `show`, and completes with a
 * summary that says whether its prompt told it of a failed gate; it prints each answer (the
 * gate runs once this agent exits). Run by a profile command:
 *   deno run -A --config <repo>/deno.json tests/dispatch/agents/mcp_gated.ts
 */
import { readFileSync } from "node:fs";
import { connect, env } from "./_mcp_client.ts";

const { client, call } = await connect("mcp-gated");

const shown = await call("show");
const again = /^## Completion gate failed/m.test(readFileSync(env["KANBAN_PROMPT_FILE"]!, "utf8"));
const gate = shown["gate_result"] as { state?: string } | undefined;
await call("complete", {
  summary: again ? `fixed what the gate reported (last gate: ${gate?.state})` : "first try",
});
await client.close();
