/**
 * Gemini CLI (`@google/gemini-cli`): headless mode (`-p`) with stream-json events. Its `result`
 * event carries the run's token counts, per model; Gemini CLI reports no cost.
 */
import { existsSync } from "node:fs";
import { readCapped } from "../../readcap.ts";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { clip, count, field, type Json, object, objects, text } from "./_json.ts";
import { type Launch, type LaunchContext, type Preset, WORKER_ENV } from "./preset.ts";
import { emptyUsage, type Usage } from "../../store/usage.ts";

/** A user's settings file is read up to this size (a bigger one is refused, named). */
const SETTINGS_MAX = 1024 ** 2;

/** The variable that moves Gemini CLI's system settings file (read after user and workspace). */
const SYSTEM_SETTINGS = "GEMINI_CLI_SYSTEM_SETTINGS_PATH";

/** defaultSystemSettings is where Gemini CLI reads system settings when the variable is unset. */
function defaultSystemSettings(): string {
  if (process.platform === "darwin") return "/Library/Application Support/GeminiCli/settings.json";
  if (process.platform === "win32") return "C:\\ProgramData\\gemini-cli\\settings.json";
  return "/etc/gemini-cli/settings.json";
}

/** stripComments drops `//` and `/* *\/` comments outside strings (settings files are JSONC). */
function stripComments(s: string): string {
  return s.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_, str) => str ?? "");
}

/** readSettings reads a settings file (JSONC): none when it is missing; throws when it is bad. */
function readSettings(path: string): Json {
  if (!existsSync(path)) return {};
  const v: unknown = JSON.parse(stripComments(readCapped(path, SETTINGS_MAX, path)));
  if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Json;
  throw new Error("not a JSON object");
}

/**
 * systemSettings reads the system settings the run would have had, to carry them over. A file
 * that cannot be read or parsed throws: Gemini CLI would refuse to start on it too, and
 * kanban must not quietly replace it.
 */
function systemSettings(env: Readonly<Record<string, string>>): Json {
  const path = env[SYSTEM_SETTINGS] || defaultSystemSettings();
  try {
    return readSettings(path);
  } catch (err) {
    throw new Error(
      `gemini: cannot add kanban's MCP server to the system settings "${path}": ${
        (err as Error).message
      }`,
    );
  }
}

/** settingsFiles reads the user's and the system settings for a check (a bad file is none). */
function settingsFiles(env: Readonly<Record<string, string | undefined>>): Json[] {
  const home = env["GEMINI_CLI_HOME"] || env["HOME"] || homedir();
  return [join(home, ".gemini", "settings.json"), env[SYSTEM_SETTINGS] || defaultSystemSettings()]
    .map((path) => {
      try {
        return readSettings(path);
      } catch {
        return {};
      }
    });
}

/**
 * mcpSettings is `base` (the user's own system settings, or nothing) with kanban's server
 * added. Gemini CLI starts a stdio server with a filtered environment (no KANBAN_TOKEN,
 * whose name says TOKEN; under GitHub Actions no KANBAN_* at all), so the server's `env` names
 * each worker variable that is set as a `${NAME}` reference, which Gemini CLI expands from its
 * own environment when it loads the file: the lease token is never written down.
 */
function mcpSettings(ctx: LaunchContext, base: Json): Json {
  const env = Object.fromEntries(
    WORKER_ENV.filter((name) => ctx.env[name] !== undefined).map((name) => [name, `\${${name}}`]),
  );
  const servers = field(base, "mcpServers");
  return {
    ...base,
    mcpServers: {
      ...(servers !== null && typeof servers === "object" ? servers : {}),
      // trust: the run's own tools need no confirmation even where YOLO mode is off
      kanban: { command: ctx.kanban, args: ["mcp"], env, trust: true },
    },
  };
}

/**
 * geminiLaunch hands Gemini CLI kanban's MCP server for one run (it has no flag for a server).
 * As root: a run's own system settings file (`GEMINI_CLI_SYSTEM_SETTINGS_PATH`), which
 * overrides user and workspace settings and keeps the user's own system settings; Gemini CLI
 * reads it only when it and every folder above it belong to root and no group or other user
 * can write to them. Otherwise: the workspace's `.gemini/settings.json`, written only in a
 * scratch workspace, which is kanban's (never in a `dir:` or worktree workspace, the user's
 * files); there the worker has the `kanban` command only, and `check` says so.
 */
export function geminiLaunch(ctx: LaunchContext, uid: number | undefined): Launch {
  if (!ctx.mcp) return {};
  if (uid === 0) {
    const path = ctx.runFile("gemini.json");
    return {
      env: { [SYSTEM_SETTINGS]: path },
      files: { [path]: settingsFile(mcpSettings(ctx, systemSettings(ctx.env))) },
    };
  }
  if (!ctx.workspace.own) return {};
  const path = join(ctx.workspace.path, ".gemini", "settings.json");
  return {
    // workspace settings load before --skip-trust takes effect: only a folder trusted from the
    // start has its settings read (as --skip-trust, the scratch folder is kanban's own)
    env: { GEMINI_CLI_TRUST_WORKSPACE: "true" },
    files: { [path]: settingsFile(mcpSettings(ctx, {})) },
  };
}

const settingsFile = (settings: Json) => `${JSON.stringify(settings, null, 2)}\n`;

/** What Gemini CLI prints to stderr on every start in a worker (no terminal, no ripgrep). */
const NOTICES = /^(YOLO mode is enabled|Warning: 256-color support|Ripgrep is not available)/;

/** result is the `result` event's summary line: status, tokens, tool calls, time. */
function result(o: Json): string {
  const error = text(field(o, "error", "message"));
  if (error !== null) return `result: ${text(o["status"]) ?? "error"}: ${clip(error)}`;
  const stats = field(o, "stats");
  const tokens = count(field(stats, "total_tokens"));
  const tools = count(field(stats, "tool_calls"));
  const secs = count(field(stats, "duration_ms")) / 1000;
  return `result: ${text(o["status"]) ?? "?"} (${tokens} tokens, ${tools} tool calls, ${secs}s)`;
}

export const gemini: Preset = {
  argv: [
    "gemini",
    // accept every tool call: nobody is there to approve one
    "--yolo",
    // a scratch workspace is a folder Gemini CLI has never seen: headless mode exits 55 in one
    "--skip-trust",
    // a JSON line per event (steady output for the stall detector); `result` has the tokens
    "--output-format",
    "stream-json",
    // headless mode with the pushed prompt
    "-p",
    "{prompt}",
  ],
  mcp: true,
  launch: (ctx) => geminiLaunch(ctx, process.getuid?.()),
  /**
   * usage reads the last `result` event's stats: `input_tokens` (prompt, cache reads
   * included), `cached`, `output_tokens` (candidates, thoughts left out) and `total_tokens`
   * (all of them). The stats leave out the thoughts, so they are what the total has beyond
   * prompt and candidates (with the tool-use prompt tokens of Google's built-in search, which
   * the stats do not tell apart).
   */
  usage(lines: readonly string[]): Usage | null {
    let stats: Json | null = null;
    for (const o of objects(lines)) {
      const s = o["type"] === "result" ? o["stats"] : undefined;
      if (s !== null && typeof s === "object" && !Array.isArray(s)) stats = s as Json;
    }
    if (stats === null) return null;
    const prompt = count(stats["input_tokens"]);
    const cached = Math.min(count(stats["cached"]), prompt);
    const candidates = count(stats["output_tokens"]);
    const thoughts = Math.max(0, count(stats["total_tokens"]) - prompt - candidates);
    const models = stats["models"];
    return {
      ...emptyUsage("output"),
      input_tokens: prompt - cached,
      cache_read_tokens: cached,
      output_tokens: candidates + thoughts,
      reasoning_tokens: thoughts,
      // a model whose every request failed is listed with no tokens: it served nothing
      models: models !== null && typeof models === "object" && !Array.isArray(models)
        ? Object.keys(models).filter((m) =>
          m.length <= 200 && count(field(models, m, "total_tokens")) > 0
        ).slice(0, 20)
        : [],
    };
  },
  readable(line: string): string | null {
    const o = object(line);
    // stderr: warnings and fatal errors as they are, but not the notices of every start
    if (o === null) return NOTICES.test(line) ? null : line.trim() || null;
    switch (o["type"]) {
      case "message": {
        const content = text(o["content"]);
        return o["role"] === "assistant" && content?.trim() ? content.trim() : null;
      }
      case "tool_use": {
        const params = o["parameters"];
        const command = text(field(params, "command"));
        return `→ ${text(o["tool_name"]) ?? "tool"}: ${
          clip(command ?? JSON.stringify(params ?? {}))
        }`;
      }
      case "tool_result":
        return o["status"] === "error"
          ? `tool error: ${clip(text(field(o, "error", "message")) ?? text(o["output"]) ?? "")}`
          : null;
      case "error":
        return `${text(o["severity"]) ?? "error"}: ${clip(text(o["message"]) ?? "")}`;
      case "result":
        return result(o);
      default:
        return null; // init and events a later version adds
    }
  },
  check(env, profile) {
    const out: string[] = [];
    // Gemini CLI reads a system settings file only when it and every folder above it belong
    // to root: another user's dispatcher cannot hand it kanban's server
    if (profile?.mcp && process.getuid?.() !== 0) {
      out.push(
        "mcp = true reaches Gemini CLI only in scratch workspaces when the dispatcher is not root (a settings file in the workspace; Gemini CLI ignores the run's own system settings file then): tasks in dir: or worktree workspaces use the kanban command",
      );
    }
    const settings = settingsFiles(env);
    const all = (...path: string[]) => settings.map((s) => field(s, ...path));
    // with a base URL and no auth type set, Gemini CLI 0.61 picks "gateway" and rejects it
    if (env["GOOGLE_GEMINI_BASE_URL"] && !all("security", "auth", "selectedType").some(text)) {
      out.push(
        'GOOGLE_GEMINI_BASE_URL is set but no settings.json sets security.auth.selectedType: headless Gemini CLI exits "Invalid auth method selected." (set it to "gemini-api-key")',
      );
    }
    // Gemini CLI's shell tool drops variables named like secrets when redaction is on, and all
    // but a few under GitHub Actions, unless security.environmentVariableRedaction.allowed
    // lists them
    const strict = Boolean(env["GITHUB_SHA"]) || env["SURFACE"] === "Github";
    const redaction = ["security", "environmentVariableRedaction"];
    if (strict || all(...redaction, "enabled").includes(true)) {
      const allowed = all(...redaction, "allowed")
        .flatMap((a) => Array.isArray(a) ? a.map((n) => String(n).toUpperCase()) : []);
      const hidden = WORKER_ENV.filter((n) => !allowed.includes(n) && (strict || /TOKEN/.test(n)));
      if (hidden.length > 0) {
        out.push(
          `Gemini CLI hides ${hidden.join(", ")} from its shell commands (${
            strict ? "GITHUB_SHA is set" : "its environment variable redaction is on"
          }), so \`kanban complete\` there cannot reach the task: list them in security.environmentVariableRedaction.allowed`,
        );
      }
    }
    return out;
  },
};
