/** Codex (`@openai/codex`): `codex exec`, non-interactive. */
import { type Preset, WORKER_ENV } from "./preset.ts";

export const codex: Preset = {
  // non-interactive exec; may edit files in its workspace
  argv: ["codex", "exec", "--sandbox", "workspace-write", "--skip-git-repo-check", "{prompt}"],
  mcp: true,
  // -c key=value overrides config.toml with TOML values; Codex gives an MCP server only a few
  // variables (HOME, PATH, ...) unless env_vars names more
  launch: (ctx) => ({
    args: ctx.mcp
      ? [
        "-c",
        `mcp_servers.kanban.command=${JSON.stringify(ctx.kanban)}`,
        "-c",
        'mcp_servers.kanban.args=["mcp"]',
        "-c",
        `mcp_servers.kanban.env_vars=${JSON.stringify(WORKER_ENV)}`,
      ]
      : [],
  }),
};
