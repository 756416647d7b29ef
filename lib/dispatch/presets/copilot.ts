/**
 * GitHub Copilot CLI (`@github/copilot`): one prompt, no questions, JSON lines of session
 * events on stdout.
 *
 * Those events carry no token counts: the CLI leaves `assistant.usage` and `session.shutdown`
 * out of its JSON output (1.0.102), and the final `result` line has premium requests and
 * durations only. The counts come from the file `--usage-output-file` writes at the end.
 */
import { emptyUsage, type Usage } from "../../store/usage.ts";
import { clip, count, field, type Json, object, objects, text } from "./_json.ts";
import type { LaunchContext, Preset } from "./preset.ts";

/** replies counts the model's replies in the `assistant.message` events. */
function replies(lines: readonly string[]): number {
  let n = 0;
  for (const o of objects(lines)) {
    if (o["type"] !== "assistant.message") continue;
    // a reply split into several messages (at reasoning boundaries) counts at its first one
    const chunk = field(o, "data", "chunkIndex");
    if (typeof chunk !== "number" || chunk === 0) n++;
  }
  return n;
}

/**
 * usage reads the token counts Copilot writes to the run's usage file when the session ends
 * (`modelMetrics`, per model: `inputTokens` counts cache reads and writes too, `outputTokens`
 * include reasoning), and the turns from the replies in its output. A run that ended before
 * Copilot wrote the file has no usage: its JSON output has no token counts to fall back on.
 */
function usage(lines: readonly string[], file?: (name: string) => string | null): Usage | null {
  const metrics = field(object(file?.(USAGE_FILE) ?? ""), "modelMetrics");
  if (metrics === null || typeof metrics !== "object" || Array.isArray(metrics)) return null;
  const u = emptyUsage("output");
  let reasoning = 0;
  let requests = 0;
  for (const [model, m] of Object.entries(metrics as Json)) {
    const t = field(m, "usage");
    const read = count(field(t, "cacheReadTokens"));
    const write = count(field(t, "cacheWriteTokens"));
    u.input_tokens += Math.max(0, count(field(t, "inputTokens")) - read - write);
    u.cache_read_tokens += read;
    u.cache_write_tokens += write;
    u.output_tokens += count(field(t, "outputTokens"));
    reasoning += count(field(t, "reasoningTokens"));
    requests += count(field(m, "requests", "count"));
    if (model.length > 0 && model.length <= 200 && u.models.length < 20) u.models.push(model);
  }
  if (u.models.length === 0) return null;
  if (reasoning > 0) u.reasoning_tokens = Math.min(reasoning, u.output_tokens);
  u.turns = replies(lines) || requests;
  return u;
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

/** The run's own file Copilot writes its token counts to (`--usage-output-file`). */
const USAGE_FILE = "copilot-usage.json";

/**
 * mcpArgs hands over kanban's server: --additional-mcp-config (JSON text) adds servers for
 * this session only, on top of the user's ~/.copilot/mcp-config.json (a server of theirs named
 * "kanban" yields for the run). A local (stdio) server inherits the CLI's environment, the
 * run's KANBAN_* included, so no secret goes on the command line; --yolo approves its calls.
 */
function mcpArgs(ctx: LaunchContext): string[] {
  if (!ctx.mcp) return [];
  // tools: every tool of the server ([] would offer none)
  const kanban = { type: "local", command: ctx.kanban, args: ["mcp"], tools: ["*"] };
  return ["--additional-mcp-config", JSON.stringify({ mcpServers: { kanban } })];
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
    args: [
      // exact token counts per model, written when the session ends (its JSON output has
      // none): a file of the run's own, which usage() reads
      "--usage-output-file",
      ctx.runFile(USAGE_FILE),
      ...mcpArgs(ctx),
    ],
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
