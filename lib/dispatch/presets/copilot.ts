/**
 * GitHub Copilot CLI (`@github/copilot`): one prompt, no questions, JSON lines of session
 * events on stdout.
 *
 * Those events carry no token counts: the CLI leaves `assistant.usage` and `session.shutdown`
 * out of its JSON output (1.0.102), and the final `result` line has premium requests and
 * durations only. So usage() records what the output does show, the models that replied and
 * how many replies there were, and no tokens.
 */
import { emptyUsage, type Usage } from "../../store/usage.ts";
import { clip, field, type Json, object, objects, text } from "./_json.ts";
import type { Preset } from "./preset.ts";

/** usage reads the models and the number of model replies from the `assistant.message` events. */
function usage(lines: readonly string[]): Usage | null {
  let replies = 0;
  const models: string[] = [];
  for (const o of objects(lines)) {
    if (o["type"] !== "assistant.message") continue;
    // a reply split into several messages (at reasoning boundaries) counts at its first one
    const chunk = field(o, "data", "chunkIndex");
    if (typeof chunk === "number" && chunk > 0) continue;
    replies++;
    const model = text(field(o, "data", "model"));
    if (model && !models.includes(model) && models.length < 20) models.push(model);
  }
  return replies === 0 ? null : { ...emptyUsage("output"), models, turns: replies };
}

/** call shows one tool request: the command of a shell tool, else its arguments as JSON. */
function call(request: unknown): string | null {
  const name = text(field(request, "name"));
  if (name === null) return null;
  const args = field(request, "arguments");
  const command = text(field(args, "command"));
  return `→ ${name}: ${clip(command ?? JSON.stringify(args ?? {}))}`;
}

/** message shows an assistant message: its text, then its tool calls. */
function message(o: Json): string | null {
  const parts: string[] = [];
  const content = text(field(o, "data", "content"));
  if (content?.trim()) parts.push(clip(content, 500));
  const requests = field(o, "data", "toolRequests");
  for (const r of Array.isArray(requests) ? requests : []) {
    const shown = call(r);
    if (shown) parts.push(shown);
  }
  return parts.length > 0 ? parts.join(" ") : null;
}

/** readable shows assistant text, tool calls, failures, notices and the result; hides the rest. */
function readable(line: string): string | null {
  const o = object(line);
  if (o === null) return line.trim() || null; // plain text: the CLI's own stderr
  const data = (k: string) => text(field(o, "data", k));
  switch (o["type"]) {
    case "assistant.message":
      return message(o);
    case "tool.execution_complete":
      return field(o, "data", "success") === false
        ? `tool failed: ${clip(text(field(o, "data", "error", "message")) ?? "(no message)")}`
        : null;
    case "session.mcp_server_status_changed":
      return data("status") === "failed"
        ? `MCP server ${data("serverName") ?? "?"} failed: ${clip(data("error") ?? "?")}`
        : null;
    case "session.error":
      return `error: ${clip(data("message") ?? data("errorType") ?? "(no message)")}`;
    case "session.warning":
      return `warning: ${clip(data("message") ?? "(no message)")}`;
    case "session.info": {
      const said = data("message");
      return said ? `info: ${clip(said)}` : null;
    }
    case "result": {
      const ms = field(o, "usage", "sessionDurationMs");
      const took = typeof ms === "number" ? ` after ${(ms / 1000).toFixed(1)}s` : "";
      return `result: exit code ${String(o["exitCode"] ?? "?")}${took}`;
    }
    default:
      return null;
  }
}

export const copilot: Preset = {
  argv: [
    "copilot",
    // -p: non-interactive, runs the one prompt and exits
    "-p",
    "{prompt}",
    // every permission (tools, paths, URLs): no approval prompt can stall an unattended run
    "--yolo",
    // no ask_user tool: nobody is there to answer
    "--no-ask-user",
    // JSON lines of session events on stdout (usage and readable lines come from them)
    "--output-format",
    "json",
  ],
  mcp: true,
  launch: (ctx) => ({
    // --additional-mcp-config (JSON text) adds servers for this session only, on top of the
    // user's ~/.copilot/mcp-config.json (a server of theirs named "kanban" yields for the
    // run). A local (stdio) server inherits the CLI's environment, the run's KANBAN_*
    // included, so no secret goes on the command line; --yolo approves its tool calls.
    args: ctx.mcp
      ? [
        "--additional-mcp-config",
        JSON.stringify({
          mcpServers: {
            // tools: every tool of the server ([] would offer none)
            kanban: { type: "local", command: ctx.kanban, args: ["mcp"], tools: ["*"] },
          },
        }),
      ]
      : [],
    // the shell tool puts the login shell's PATH (/usr/local/bin, ...) before the worker's,
    // where another kanban could shadow the run's; a setting of the user's own wins
    ...(ctx.env["COPILOT_DISABLE_LOGIN_SHELL_ENV"] === undefined
      ? { env: { COPILOT_DISABLE_LOGIN_SHELL_ENV: "1" } }
      : {}),
  }),
  usage,
  readable,
  // offline mode (exactly "true") turns GitHub's models off too: without a provider of its
  // own, every run exits 1 at once
  check: (env) =>
    env["COPILOT_OFFLINE"] === "true" && !env["COPILOT_PROVIDER_BASE_URL"]
      ? ["COPILOT_OFFLINE=true needs COPILOT_PROVIDER_BASE_URL (a model provider of its own)"]
      : [],
};
