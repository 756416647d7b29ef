/**
 * Claude Code (`@anthropic-ai/claude-code`): print mode with stream-json events. Its `result`
 * event carries the run's usage and the cost Claude Code estimates itself; `check` says when
 * the CLI will refuse to start as root.
 */
import process from "node:process";
import { emptyUsage, type Usage } from "../../store/usage.ts";
import { clip, count, field, type Json, object, objects, text } from "./_json.ts";
import type { Preset } from "./preset.ts";

/** The token counts of one model in `modelUsage`, or of the `usage` total, by field name. */
const MODEL_USAGE = {
  input: "inputTokens",
  output: "outputTokens",
  read: "cacheReadInputTokens",
  write: "cacheCreationInputTokens",
};
const API_USAGE = {
  input: "input_tokens",
  output: "output_tokens",
  read: "cache_read_input_tokens",
  write: "cache_creation_input_tokens",
};

/** add adds one set of counts (named as in `names`) to `u`; its thinking count is returned. */
function add(u: Usage, counts: unknown, names: typeof MODEL_USAGE): number | undefined {
  u.input_tokens += count(field(counts, names.input));
  u.output_tokens += count(field(counts, names.output));
  u.cache_read_tokens += count(field(counts, names.read));
  u.cache_write_tokens += count(field(counts, names.write));
  const thinking = names === MODEL_USAGE
    ? field(counts, "thinkingTokens")
    : field(counts, "output_tokens_details", "thinking_tokens");
  return typeof thinking === "number" ? count(thinking) : undefined;
}

/**
 * tokensOf reads one `result` event's figures: `modelUsage` (per model, the CLI's own "correct
 * field for token/cost accounting": it also counts subagents and compaction), or the `usage`
 * total (with the session's `model`) where a CLI writes no `modelUsage`. Null when the event
 * counts nothing: a run that failed before or at its first request has a zeroed result.
 */
function tokensOf(result: Json, model: string | null): Usage | null {
  const u = emptyUsage("output");
  const perModel = field(result, "modelUsage");
  const entries = perModel !== null && typeof perModel === "object" && !Array.isArray(perModel)
    ? Object.entries(perModel as Json).filter(([, m]) => m !== null && typeof m === "object")
    : [];
  // thinking tokens are "already counted inside outputTokens", as Usage counts reasoning
  let reasoning: number | undefined;
  const thinking = (n: number | undefined) => {
    if (n !== undefined) reasoning = (reasoning ?? 0) + n;
  };
  if (entries.length > 0) {
    for (const [name, m] of entries) {
      thinking(add(u, m, MODEL_USAGE));
      if (name.length > 0 && name.length <= 200 && u.models.length < 20) u.models.push(name);
    }
  } else {
    thinking(add(u, field(result, "usage"), API_USAGE));
    if (model !== null && model.length > 0 && model.length <= 200) u.models.push(model);
  }
  if (u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens === 0) {
    return null;
  }
  if (reasoning !== undefined) u.reasoning_tokens = Math.min(reasoning, u.output_tokens);
  const turns = field(result, "num_turns");
  if (typeof turns === "number" && Number.isSafeInteger(turns) && turns >= 0) u.turns = turns;
  // Claude Code prices each request itself at list prices; for a model it does not know (a
  // proxy's, say) it guesses with its default model's price and marks it `costBasis:
  // "unknown"`. kanban never passes a guess off as a cost: such a run's cost is unknown.
  const guessed = entries.length > 0 &&
    entries.every(([, m]) => field(m, "costBasis") === "unknown");
  const cost = field(result, "total_cost_usd");
  if (!guessed && typeof cost === "number" && Number.isFinite(cost) && cost >= 0 && cost <= 1e9) {
    u.cost_usd = cost;
  }
  return u;
}

/**
 * usage reads the run's usage from its `result` events. Their figures are running totals of
 * the whole session (each result "carries the running total so far, so read the latest
 * result rather than summing"), so the latest result that counts anything wins: a later
 * zeroed result (a crash) does not erase what was counted.
 */
function usage(lines: readonly string[]): Usage | null {
  let found: Usage | null = null;
  let model: string | null = null;
  for (const o of objects(lines)) {
    if (o["type"] === "system" && o["subtype"] === "init") model = text(o["model"]);
    if (o["type"] === "result") found = tokensOf(o, model) ?? found;
  }
  return found;
}

/** toolArgs shows a tool call's input: a shell command as is, anything else as JSON. */
function toolArgs(input: unknown): string {
  const command = text(field(input, "command"));
  if (command !== null) return command;
  try {
    return JSON.stringify(input ?? {}) ?? "";
  } catch {
    return "";
  }
}

/** blocks reads a message's content blocks (a string is one text block). */
function blocks(content: unknown): Json[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content)
    ? content.filter((b): b is Json => b !== null && typeof b === "object")
    : [];
}

/** resultText is a tool result's text (a string or text blocks). */
function resultText(content: unknown): string {
  return blocks(content).map((b) => text(b["text"]) ?? "").join(" ");
}

/** event reads one stream-json event for a person; null hides it. */
function event(o: Json): string | null {
  const type = o["type"];
  if (type === "assistant") {
    const said = blocks(field(o, "message", "content")).flatMap((b) => {
      if (b["type"] === "text") return [clip(text(b["text"]) ?? "", 500)];
      if (b["type"] === "tool_use") {
        return [`→ ${text(b["name"]) ?? "?"}: ${clip(toolArgs(b["input"]))}`];
      }
      return []; // thinking and other blocks are not shown
    }).filter((s) => s.length > 0);
    return said.length > 0 ? said.join(" ") : null;
  }
  if (type === "user") {
    // tool results are the tools' output: only the failures are worth a line
    const failed = blocks(field(o, "message", "content"))
      .filter((b) => b["type"] === "tool_result" && b["is_error"] === true)
      .map((b) => `tool error: ${clip(resultText(b["content"]))}`);
    return failed.length > 0 ? failed.join(" ") : null;
  }
  if (type === "result") {
    // an API failure is subtype "success" with is_error: the error is what a person needs
    const subtype = text(o["subtype"]) ?? "?";
    const status = o["is_error"] !== true
      ? subtype
      : subtype === "success"
      ? "error"
      : `error (${subtype})`;
    const n = o["num_turns"];
    const turns = typeof n === "number" ? `, ${n} turn${n === 1 ? "" : "s"}` : "";
    const errors = Array.isArray(o["errors"])
      ? o["errors"].filter((e) => typeof e === "string")
      : [];
    const said = text(o["result"]) ?? errors.join("; ");
    return `result: ${status}${turns}${said ? `: ${clip(said)}` : ""}`;
  }
  if (type === "system") {
    const subtype = o["subtype"];
    if (subtype === "init") {
      const servers = Array.isArray(o["mcp_servers"]) ? o["mcp_servers"] as unknown[] : [];
      const mcp = servers.map((s) =>
        `${text(field(s, "name")) ?? "?"} ${text(field(s, "status")) ?? "?"}`
      );
      return `claude-code: model ${text(o["model"]) ?? "?"}${
        mcp.length > 0 ? `, mcp: ${mcp.join(", ")}` : ""
      }`;
    }
    if (subtype === "api_retry") {
      const [attempt, max] = [field(o, "attempt") ?? "?", field(o, "max_retries") ?? "?"];
      const status = field(o, "error_status") ?? field(o, "error") ?? "?";
      return `api retry ${attempt}/${max}: ${clip(String(status))}`;
    }
  }
  return null; // other events (stream deltas, hooks, status) are noise here
}

/** readable is a stream-json line as a person reads it; plain lines (stderr) as they are. */
function readable(line: string): string | null {
  const o = object(line);
  if (o === null) return line;
  return typeof o["type"] === "string" ? event(o) : line;
}

/**
 * rootWarnings warns before Claude Code refuses to run: as root (`uid` 0) it exits 1 on
 * bypassPermissions unless the environment says the machine is a sandbox (IS_SANDBOX exactly
 * "1", or CLAUDE_CODE_BUBBLEWRAP set). kanban never sets either itself: that overrides the
 * CLI's own safety check, which only the operator may decide to do.
 */
export function rootWarnings(
  env: Readonly<Record<string, string | undefined>>,
  uid: number | undefined,
): string[] {
  if (uid !== 0 || env["IS_SANDBOX"] === "1" || env["CLAUDE_CODE_BUBBLEWRAP"]) return [];
  const set = env["IS_SANDBOX"] === undefined ? "" : ` (IS_SANDBOX is "${env["IS_SANDBOX"]}")`;
  return [
    `claude-code refuses --permission-mode bypassPermissions as root${set}: if this machine is ` +
    `a sandbox (container, VM), set env = { IS_SANDBOX = "1" } in the profile (docs/agents.md)`,
  ];
}

export const claudeCode: Preset = {
  argv: [
    "claude",
    // print mode: one prompt, headless, exits when the agent is done
    "-p",
    "{prompt}",
    // one JSON event per line as it happens: steady output the stall detector counts as
    // progress, and a final `result` event with the run's usage and cost
    "--output-format",
    "stream-json",
    // print mode refuses stream-json without --verbose
    "--verbose",
    // nobody is there to approve a tool call
    "--permission-mode",
    "bypassPermissions",
  ],
  mcp: true,
  // --mcp-config takes JSON text (or a file) and adds to the user's own servers; it is variadic,
  // so it comes last. No `env`: Claude Code starts stdio servers with its own environment,
  // which holds the worker's KANBAN_* variables. `alwaysLoad` sends the eight worker tools with
  // every request: with tool search on (the default) an MCP server's tools are otherwise
  // deferred, and the model sees only their names until it spends a turn on ToolSearch.
  launch: (ctx) => ({
    args: ctx.mcp
      ? [
        "--mcp-config",
        JSON.stringify({
          mcpServers: {
            kanban: { type: "stdio", command: ctx.kanban, args: ["mcp"], alwaysLoad: true },
          },
        }),
      ]
      : [],
  }),
  usage,
  readable,
  check: (env) => rootWarnings(env, process.getuid?.()),
};
