/**
 * opencode (`opencode-ai`): `opencode run`, one prompt and exit, with JSON events on stdout
 * (usage is only printed in that format) and opencode's own log on stderr (the only place that
 * names the model).
 */
import { emptyUsage, type Usage } from "../../store/usage.ts";
import { clip, count, field, object, objects, text } from "./_json.ts";
import type { LaunchContext, Preset } from "./preset.ts";

/** The variable opencode merges, as inline JSON, over its config files. */
const CONFIG_CONTENT = "OPENCODE_CONFIG_CONTENT";

/** parseObject reads a JSON object, or null (not JSON, or JSONC opencode reads but we cannot). */
function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? v as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}

/**
 * configWithMcp is OPENCODE_CONFIG_CONTENT with kanban's MCP server added: the user's own
 * value (if any) keeps every key, and their own `mcp.kanban` wins over ours. Null when their
 * value is not a JSON object (or its `mcp` is not one): it is then left exactly as it is and
 * check() says so, rather than replaced.
 */
export function configWithMcp(theirs: string | undefined, kanban: string): string | null {
  const ours = { type: "local", command: [kanban, "mcp"], enabled: true };
  if (theirs === undefined || theirs.trim() === "") {
    return JSON.stringify({ mcp: { kanban: ours } });
  }
  const config = parseObject(theirs);
  const mcp = config?.["mcp"] ?? {};
  if (config === null || mcp === null || typeof mcp !== "object" || Array.isArray(mcp)) {
    return null;
  }
  return JSON.stringify({ ...config, mcp: { kanban: ours, ...mcp } });
}

/** A line of opencode's own log (`--print-logs`): `timestamp=... level=INFO ... message=...`. */
const LOG_LINE = /^timestamp=\S+ level=(\w+) .*?message=("[^"]*"|\S+)/;

/** The error a log line carries (`error=...` or `error.error=...`, quoted or not). */
const LOG_ERROR = /\berror(?:\.error)?=("(?:[^"\\]|\\.)*"|\S+)/;

/** unquote reads a log value: `"a \"b\""` is `a "b"`. */
function unquote(v: string): string {
  return v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v;
}

/**
 * The log line opencode writes before each model request; `small=true` marks its own side
 * requests (titles), which never reach the JSON events' usage either.
 */
const STREAM_LINE = /message=stream providerID=\S+ modelID=(\S+) .*\bsmall=false\b/;

function opencodeUsage(lines: readonly string[]): Usage | null {
  const usage = emptyUsage("output");
  let steps = 0;
  let reasoning = 0;
  let cost = 0;
  for (const o of objects(lines)) {
    const tokens = field(o, "part", "tokens");
    if (o["type"] !== "step_finish" || tokens === null || typeof tokens !== "object") continue;
    steps++;
    // opencode's `input` excludes cache reads and writes, and its `output` excludes reasoning
    const r = count(field(tokens, "reasoning"));
    usage.input_tokens += count(field(tokens, "input"));
    usage.output_tokens += count(field(tokens, "output")) + r;
    usage.cache_read_tokens += count(field(tokens, "cache", "read"));
    usage.cache_write_tokens += count(field(tokens, "cache", "write"));
    reasoning += r;
    const c = field(o, "part", "cost");
    // opencode prices tokens from its model table and says 0 for a model it has no price for:
    // a 0 is "unknown", so only a positive cost is recorded
    if (typeof c === "number" && Number.isFinite(c) && c > 0) cost += c;
  }
  if (steps === 0) return null;
  for (const line of lines) {
    const model = STREAM_LINE.exec(line)?.[1];
    if (model && !usage.models.includes(model) && usage.models.length < 20) {
      usage.models.push(model);
    }
  }
  usage.turns = steps;
  if (reasoning > 0) usage.reasoning_tokens = reasoning;
  if (cost > 0) usage.cost_usd = cost;
  return usage;
}

function opencodeReadable(line: string): string | null {
  const log = LOG_LINE.exec(line);
  if (log) {
    // opencode's INFO and DEBUG lines are bookkeeping; its warnings and errors are worth reading
    if (log[1] !== "WARN" && log[1] !== "ERROR") return null;
    const error = LOG_ERROR.exec(line)?.[1];
    return clip(
      `opencode ${log[1]!.toLowerCase()}: ${unquote(log[2]!)}${error ? `: ${unquote(error)}` : ""}`,
    );
  }
  const o = object(line);
  if (o === null) return line.trim() === "" ? null : line;
  const part = o["part"];
  switch (o["type"]) {
    case "text":
      return text(field(part, "text"));
    case "reasoning":
      return null;
    case "tool_use": {
      const tool = text(field(part, "tool")) ?? "tool";
      const state = field(part, "state");
      if (field(state, "status") === "error") {
        return clip(`→ ${tool} failed: ${text(field(state, "error")) ?? ""}`);
      }
      const input = field(state, "input");
      const args = text(field(input, "command")) ?? JSON.stringify(input ?? {});
      return clip(`→ ${tool}: ${args}`);
    }
    case "step_finish": {
      // a step that ends in tool calls is followed by another; the last one is the result
      const reason = text(field(part, "reason"));
      if (reason === null || reason === "tool-calls") return null;
      const total = count(field(part, "tokens", "total"));
      return `result: ${reason}${total > 0 ? `, ${total} tokens` : ""}`;
    }
    case "error": {
      const err = field(o, "error");
      const message = text(field(err, "data", "message")) ?? text(field(err, "message")) ??
        text(field(err, "name")) ?? "unknown error";
      return clip(`error: ${message}`);
    }
    default:
      return null;
  }
}

export const opencode: Preset = {
  argv: [
    "opencode",
    "run",
    // JSON events: the only output that carries usage (step_finish tokens and cost)
    "--format",
    "json",
    // opencode's log on stderr: the only place that names the model of each request
    "--print-logs",
    "--log-level",
    "INFO",
    // approve permission asks (outside the workspace, doom loops) that run would reject
    "--auto",
    // a title of our own: otherwise opencode asks the model for one, a request per run
    "--title",
    "kanban {task}",
  ],
  // the prompt on stdin: `run` quotes a message argument that holds a space and escapes the
  // double quotes inside it, so the protocol's `--metadata '{"key": "value"}'` reached the
  // model as `'{\"key\": \"value\"}'`; text read from stdin reaches it as written
  stdin: "prompt",
  mcp: true,
  // opencode merges OPENCODE_CONFIG_CONTENT over its config files; local MCP servers inherit
  // opencode's environment, so `kanban mcp` sees the run's KANBAN_* variables
  launch: (ctx: LaunchContext) => {
    if (!ctx.mcp) return {};
    const content = configWithMcp(ctx.env[CONFIG_CONTENT], ctx.kanban);
    return content === null ? {} : { env: { [CONFIG_CONTENT]: content } };
  },
  usage: opencodeUsage,
  readable: opencodeReadable,
  check: (env) => {
    const theirs = env[CONFIG_CONTENT];
    if (theirs === undefined || configWithMcp(theirs, "kanban") !== null) return [];
    return [
      `${CONFIG_CONTENT} is not a JSON object (kanban does not read JSONC): it is passed on ` +
      "as is, and profiles with mcp = true run without kanban's MCP server",
    ];
  },
};
