/** Claude Code (`@anthropic-ai/claude-code`): print mode with stream-json events. */
import type { Preset } from "./preset.ts";

export const claudeCode: Preset = {
  // print mode; stream-json makes steady output, which the stall detector counts as progress
  argv: [
    "claude",
    "-p",
    "{prompt}",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "bypassPermissions",
  ],
  mcp: true,
  // --mcp-config takes JSON text (or a file); Claude Code passes its environment to the server
  launch: (ctx) => ({
    args: ctx.mcp
      ? [
        "--mcp-config",
        JSON.stringify({
          mcpServers: { kanban: { type: "stdio", command: ctx.kanban, args: ["mcp"] } },
        }),
      ]
      : [],
  }),
};
