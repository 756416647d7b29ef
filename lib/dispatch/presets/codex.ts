/**
 * Codex (`@openai/codex`): `codex exec --json`, non-interactive, its shell commands confined
 * by Codex's workspace-write sandbox. The JSONL events on stdout carry usage
 * (`turn.completed`) and read as a log; Codex reports no cost and names no model in them.
 */
import { dirname } from "node:path";
import { emptyUsage, type Usage } from "../../store/usage.ts";
import { clip, count, field, type Json, object, objects, text } from "./_json.ts";
import { type Preset, WORKER_ENV } from "./preset.ts";

/** message reads an error's message; an API error body quoted whole is read for its own. */
function message(v: unknown): string {
  const m = text(v) ?? "";
  const inner = text(field(object(m), "error", "message"));
  return clip(inner ?? m);
}

/**
 * usage reads the last `turn.completed` event. Its figures are the thread's running total
 * (Codex fills them from the thread's cumulative usage, not the turn's), so a second turn
 * would repeat the first one's tokens: the last reading is the run's usage, never the sum.
 * `input_tokens` counts every input token, cache reads (`cached_input_tokens`) and writes
 * (`cache_write_input_tokens`) included; `output_tokens` include `reasoning_output_tokens`.
 */
function usage(lines: readonly string[]): Usage | null {
  let last: Json | null = null;
  for (const o of objects(lines)) {
    const u = field(o, "usage");
    if (
      o["type"] === "turn.completed" && u !== null && typeof u === "object" && !Array.isArray(u)
    ) {
      last = u as Json;
    }
  }
  if (last === null) return null;
  const out = emptyUsage("output");
  out.cache_read_tokens = count(last["cached_input_tokens"]);
  out.cache_write_tokens = count(last["cache_write_input_tokens"]);
  out.input_tokens = Math.max(
    0,
    count(last["input_tokens"]) - out.cache_read_tokens - out.cache_write_tokens,
  );
  out.output_tokens = count(last["output_tokens"]);
  if (typeof last["reasoning_output_tokens"] === "number") {
    out.reasoning_tokens = count(last["reasoning_output_tokens"]);
  }
  return out;
}

/** item reads one thread item (`item.started` / `item.completed`) for a person, or null. */
function item(started: boolean, it: Json): string | null {
  switch (it["type"]) {
    case "command_execution": {
      if (started) return `→ shell: ${clip(text(it["command"]) ?? "")}`;
      // a command that worked says nothing more; one that failed (or was declined) says why
      const exit = it["exit_code"];
      if (it["status"] === "completed" && exit === 0) return null;
      const output = (text(it["aggregated_output"]) ?? "").trim().split("\n").at(-1) ?? "";
      const how = typeof exit === "number" ? `exited ${exit}` : String(it["status"] ?? "failed");
      return `shell ${how}: ${clip(output)}`;
    }
    case "mcp_tool_call": {
      const name = `${text(it["server"]) ?? "?"}.${text(it["tool"]) ?? "?"}`;
      if (started) return `→ ${name}: ${clip(JSON.stringify(it["arguments"] ?? {}))}`;
      const error = field(it, "error", "message");
      return typeof error === "string" ? `${name} failed: ${message(error)}` : null;
    }
    case "agent_message":
      return started ? null : clip(text(it["text"]) ?? "");
    case "file_change": {
      if (started || !Array.isArray(it["changes"])) return null;
      const paths = (it["changes"] as Json[]).map((c) => text(c?.["path"]) ?? "?");
      return `edited ${clip(paths.join(", "))}`;
    }
    case "web_search":
      return started ? `→ web search: ${clip(text(it["query"]) ?? "")}` : null;
    case "error":
      return `error: ${message(it["message"])}`;
    default:
      // reasoning, to-do lists, sub-agent calls: detail a person does not need in a log
      return null;
  }
}

/** readable turns one JSONL event into a short line; plain lines are shown as they are. */
function readable(line: string): string | null {
  const o = object(line);
  if (o === null) {
    // codex says so on stderr whenever stdin is not a terminal (the dispatcher closes it)
    return /^Reading (additional input|prompt) from stdin/.test(line.trim()) ? null : line;
  }
  switch (o["type"]) {
    case "item.started":
    case "item.completed": {
      const it = field(o, "item");
      return it !== null && typeof it === "object"
        ? item(o["type"] === "item.started", it as Json)
        : null;
    }
    case "turn.completed": {
      const u = usage([line]);
      return u === null ? "result: done" : `result: done (${u.input_tokens} input, ` +
        `${u.cache_read_tokens} cache read, ${u.output_tokens} output tokens)`;
    }
    case "turn.failed":
      return `result: failed: ${message(field(o, "error", "message"))}`;
    case "error":
      return `error: ${message(o["message"])}`;
    default:
      // thread.started, turn.started, item.updated: progress, not news
      return null;
  }
}

export const codex: Preset = {
  argv: [
    "codex",
    "exec",
    // JSONL events on stdout: the only output that carries usage (turn.completed)
    "--json",
    // shell commands may write only the workspace (and what launch adds); set as config, not
    // as --sandbox, so that a profile's own --sandbox or -c sandbox_mode wins (a second
    // --sandbox flag is an error, and of two -c for one key the last one wins)
    "-c",
    'sandbox_mode="workspace-write"',
    // the workspace is a fresh folder, not a git repository
    "--skip-git-repo-check",
    // the shell tool runs `bash -c`, not `bash -lc`: a login shell reads /etc/profile, which
    // on Debian resets PATH and loses kanban's folder (`kanban: command not found`)
    "-c",
    "allow_login_shell=false",
    "{prompt}",
  ],
  mcp: true,
  launch: (ctx) => ({
    args: [
      // the board's folder is writable in the sandbox (SQLite writes -wal and -shm beside the
      // file); --add-dir adds it to the writable roots a user set in config.toml or with -c,
      // where a -c sandbox_workspace_write.writable_roots would replace them
      "--add-dir",
      dirname(ctx.board),
      ...(ctx.mcp
        ? [
          // -c key=value sets config.toml keys for this run (values are TOML)
          "-c",
          `mcp_servers.kanban.command=${JSON.stringify(ctx.kanban)}`,
          "-c",
          'mcp_servers.kanban.args=["mcp"]',
          // Codex gives an MCP server only a few variables (HOME, PATH, ...) unless named here
          "-c",
          `mcp_servers.kanban.env_vars=${JSON.stringify(WORKER_ENV)}`,
          // exec never asks for approval, so an MCP tool that needs one is refused: approved
          "-c",
          'mcp_servers.kanban.default_tools_approval_mode="approve"',
        ]
        : []),
    ],
  }),
  usage,
  readable,
};
