/**
 * Qwen Code (`@qwen-code/qwen-code`, a Gemini CLI fork): one-shot headless mode with
 * stream-json events (Claude Code's shapes: `system`, `assistant`, `user`, `result`). The
 * `result` event carries the session's token counts; Qwen Code reports no cost.
 */
import { existsSync } from "node:fs";
import { readCapped } from "../../readcap.ts";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { emptyUsage, type Usage } from "../../store/usage.ts";
import { WORKER_VARS } from "../../worker_env.ts";
import { clip, count, field, type Json, object, objects, text } from "./_json.ts";
import type { Launch, LaunchContext, Preset } from "./preset.ts";

/** A user's settings file is read up to this size (a bigger one is refused, named). */
const SETTINGS_MAX = 1024 ** 2;

/** The variable that moves Qwen Code's trusted-folders file (`~/.qwen/trustedFolders.json`). */
const TRUSTED_FOLDERS = "QWEN_CODE_TRUSTED_FOLDERS_PATH";

/** trustedFoldersPath is the file the run's Qwen Code would read its trusted folders from. */
function trustedFoldersPath(env: Readonly<Record<string, string>>): string {
  if (env[TRUSTED_FOLDERS]) return env[TRUSTED_FOLDERS];
  const home = env["HOME"] || homedir();
  const qwenHome = env["QWEN_HOME"]?.replace(/^~(?=$|\/)/, home);
  return join(qwenHome ? resolve(qwenHome) : join(home, ".qwen"), "trustedFolders.json");
}

/**
 * trustWorkspace is the run's trusted-folders file: the user's own rules with the run's
 * workspace trusted. A user who turned folder trust on (`security.folderTrust.enabled`) would
 * otherwise get a fresh workspace Qwen Code has never seen, where it drops --yolo to the
 * default approval mode and headless mode offers no shell tool. A rule of theirs for that very
 * folder wins; a file that is not plain JSON (Qwen Code also reads comments) is left to Qwen
 * Code as it is. Null: nothing to add.
 */
export function trustWorkspace(env: Readonly<Record<string, string>>): Json | null {
  const workspace = env[WORKER_VARS.workspace];
  if (!workspace) return null;
  const path = trustedFoldersPath(env);
  let theirs: unknown = {};
  try {
    if (existsSync(path)) theirs = JSON.parse(readCapped(path, SETTINGS_MAX, path));
  } catch {
    return null;
  }
  if (theirs === null || typeof theirs !== "object" || Array.isArray(theirs)) return null;
  return { ...theirs, [workspace]: (theirs as Json)[workspace] ?? "TRUST_FOLDER" };
}

/**
 * qwenUsage reads the last `result` event's `usage`: `input_tokens` is every prompt token,
 * cache reads (`cache_read_input_tokens`) included, and `output_tokens` every completion
 * token, reasoning included (Qwen Code keeps no separate reasoning count in it, so
 * `reasoning_tokens` stays unknown). Assistant events carry the same figures per request,
 * but a request that answers with text and tools is split into several of them, so they are
 * not summed: a run killed before its `result` has no usage.
 */
function qwenUsage(lines: readonly string[]): Usage | null {
  let result: Json | null = null;
  const models: string[] = [];
  const model = (m: unknown) => {
    const name = text(m);
    if (name && name.length <= 200 && !models.includes(name) && models.length < 20) {
      models.push(name);
    }
  };
  for (const o of objects(lines)) {
    if (o["type"] === "system" && o["subtype"] === "init") model(o["model"]);
    if (o["type"] === "assistant") model(field(o, "message", "model"));
    const usage = o["usage"];
    if (o["type"] === "result" && usage !== null && typeof usage === "object") result = o;
  }
  if (result === null) return null;
  const prompt = count(field(result, "usage", "input_tokens"));
  const read = Math.min(count(field(result, "usage", "cache_read_input_tokens")), prompt);
  // not sent by 0.24 (its session stats have no cache writes); read should a later one add it
  const write = Math.min(
    count(field(result, "usage", "cache_creation_input_tokens")),
    prompt - read,
  );
  const output = count(field(result, "usage", "output_tokens"));
  const turns = result["num_turns"];
  return {
    ...emptyUsage("output"),
    input_tokens: prompt - read - write,
    output_tokens: output,
    cache_read_tokens: read,
    cache_write_tokens: write,
    // a run whose every request failed names its model but was served nothing by it
    models: prompt + output > 0 ? models : [],
    ...(typeof turns === "number" && Number.isSafeInteger(turns) && turns >= 0 ? { turns } : {}),
  };
}

/** The text of a tool result: a string or `{type: "text", text}` parts. */
function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => text(field(p, "text")) ?? "").join(" ");
}

/** assistantLine reads an assistant event: its text, or its tool calls as `→ tool: args`. */
function assistantLine(o: Json): string | null {
  const content = field(o, "message", "content");
  if (!Array.isArray(content)) return null;
  const out: string[] = [];
  for (const block of content) {
    const type = field(block, "type");
    if (type === "text") {
      const t = text(field(block, "text"))?.trim();
      if (t) out.push(t);
    } else if (type === "tool_use") {
      const input = field(block, "input");
      const args = text(field(input, "command")) ?? JSON.stringify(input ?? {});
      out.push(clip(`→ ${text(field(block, "name")) ?? "tool"}: ${args}`));
    }
  }
  return out.length > 0 ? out.join("\n") : null;
}

/** resultLine is the `result` event's summary: outcome, turns, tokens, time. */
function resultLine(o: Json): string {
  const outcome = text(o["subtype"]) ?? (o["is_error"] === true ? "error" : "done");
  if (o["is_error"] === true) {
    const why = text(field(o, "error", "message")) ?? text(o["result"]) ?? "";
    return clip(`result: ${outcome}${why ? `: ${why}` : ""}`);
  }
  const turns = count(o["num_turns"]);
  const tokens = count(field(o, "usage", "total_tokens"));
  const secs = count(o["duration_ms"]) / 1000;
  return `result: ${outcome} (${turns} turns, ${tokens} tokens, ${secs}s)`;
}

function qwenReadable(line: string): string | null {
  const o = object(line);
  // stderr: Qwen Code's warnings and fatal errors, as they are
  if (o === null) return line.trim() || null;
  switch (o["type"]) {
    case "assistant":
      return assistantLine(o);
    case "user": {
      const content = field(o, "message", "content");
      const failed = Array.isArray(content)
        ? content.filter((b) => field(b, "type") === "tool_result" && field(b, "is_error") === true)
        : [];
      return failed.length > 0
        ? clip(`tool error: ${failed.map((b) => resultText(field(b, "content"))).join(" | ")}`)
        : null;
    }
    case "result":
      return resultLine(o);
    default:
      return null; // init, stream events and types a later version adds
  }
}

export const qwen: Preset = {
  argv: [
    "qwen",
    // approve every tool call: nobody is there to approve one
    "--yolo",
    // JSON lines: the final `result` event carries the token counts
    "--output-format",
    "stream-json",
    // the positional prompt runs one-shot (-p is deprecated)
    "{prompt}",
  ],
  mcp: true,
  /**
   * launch trusts the run's workspace (trustWorkspace) and, with mcp, hands Qwen Code kanban's
   * MCP server with --mcp-config (inline JSON, laid over the settings' servers). Qwen Code
   * starts a stdio server with its own environment (less its internal secrets), so `kanban
   * mcp` sees the run's variables without an `env` block. `alwaysLoadTools` declares the tools
   * in every request: Qwen Code otherwise hides MCP tools behind its tool_search bridge, and
   * the worker's protocol would cost a search to find; `trust` skips confirmations should the
   * profile's args choose another approval mode.
   */
  launch(ctx: LaunchContext): Launch {
    const out: Launch = {};
    const trusted = trustWorkspace(ctx.env);
    if (trusted !== null) {
      const path = ctx.runFile("qwen-trusted-folders.json");
      out.env = { [TRUSTED_FOLDERS]: path };
      out.files = { [path]: `${JSON.stringify(trusted, null, 2)}\n` };
    }
    if (ctx.mcp) {
      const server = { command: ctx.kanban, args: ["mcp"], trust: true, alwaysLoadTools: true };
      out.args = ["--mcp-config", JSON.stringify({ mcpServers: { kanban: server } })];
    }
    return out;
  },
  usage: qwenUsage,
  readable: qwenReadable,
};
