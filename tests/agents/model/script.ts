/**
 * The scripted conversation every API of the model server plays: each step is one model
 * reply. A request's step is the number of tool results it already carries, so the server
 * keeps no state per conversation and any number of CLIs can talk to it at once.
 */

export type Json = Record<string, unknown>;

/** One scripted model reply. */
export type Step =
  /** Call the CLI's shell tool with this command line. */
  | { shell: string }
  /** Call a tool of kanban's MCP server (`complete`, `show`, ...) with these arguments. */
  | { mcp: string; args: Json }
  /** Answer with text (the conversation ends). */
  | { text: string };

/** Token figures the server reports for every reply (each API in its own shape). */
export interface Figures {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  reasoning: number;
}

export const FIGURES: Figures = {
  input: 1200,
  output: 80,
  cache_read: 300,
  cache_write: 40,
  reasoning: 16,
};

/** A tool the CLI offered in a request. */
export interface ToolSpec {
  name: string;
  /** Its JSON schema for the arguments, as sent. */
  schema: Json | undefined;
}

/** What an API adapter reads out of one request. */
export interface Turn {
  model: string;
  /** Every text of the user's messages (and the system prompt), joined. */
  prompt: string;
  tools: ToolSpec[];
  /** The texts of the tool results in the request, in order. */
  toolResults: string[];
  stream: boolean;
}

/** The reply the script chose for a turn. */
export type Reply =
  | { kind: "tool"; id: string; name: string; args: Json }
  | { kind: "text"; text: string };

/** The names agent CLIs give their shell tool. */
export const SHELL_TOOLS = [
  "Bash",
  "bash",
  "shell",
  "shell_command",
  "exec_command",
  "run_shell_command",
  "local_shell",
];

/** shellTool finds the CLI's shell tool among those a request offers. */
export function shellTool(tools: ToolSpec[]): ToolSpec | undefined {
  for (const name of SHELL_TOOLS) {
    const t = tools.find((t) => t.name === name);
    if (t) return t;
  }
  return undefined;
}

/**
 * mcpTool finds kanban's MCP tool `name`: CLIs prefix server tools in their own ways
 * (`mcp__kanban__complete`, `kanban__complete`, `kanban_complete`, `mcp_kanban_complete`).
 */
export function mcpTool(tools: ToolSpec[], name: string): ToolSpec | undefined {
  return tools.find((t) => t.name !== name && t.name.includes("kanban") && t.name.endsWith(name));
}

/** The eight worker tools every MCP run must offer the model. */
export const WORKER_TOOLS = [
  "show",
  "complete",
  "block",
  "heartbeat",
  "comment",
  "plan",
  "create",
  "link",
];

/** shellArgs fills a shell tool's arguments from its schema: `command` as a string or argv. */
export function shellArgs(tool: ToolSpec, command: string): Json {
  const props = (tool.schema?.["properties"] ?? {}) as Record<string, Json>;
  const required = (tool.schema?.["required"] ?? []) as string[];
  const key = "command" in props ? "command" : "cmd" in props ? "cmd" : "command";
  const args: Json = {
    [key]: props[key]?.["type"] === "array" ? ["bash", "-c", command] : command,
  };
  for (const r of required) {
    if (r in args) continue;
    const type = props[r]?.["type"];
    if (type === "string") args[r] = "scripted step";
    else if (type === "number" || type === "integer") args[r] = 120_000;
    else if (type === "boolean") args[r] = false;
  }
  return args;
}

let serial = 0;

/** decide picks the reply to a turn: the step after the tool results it carries. */
export function decide(turn: Turn, steps: readonly Step[]): Reply {
  const step = steps[turn.toolResults.length];
  const id = `call_${++serial}`;
  if (step === undefined) return { kind: "text", text: "Done." };
  if ("text" in step) return { kind: "text", text: step.text };
  if ("shell" in step) {
    const tool = shellTool(turn.tools);
    if (!tool) return { kind: "text", text: "(script: no shell tool was offered)" };
    return { kind: "tool", id, name: tool.name, args: shellArgs(tool, step.shell) };
  }
  const tool = mcpTool(turn.tools, step.mcp);
  if (!tool) return { kind: "text", text: `(script: no kanban tool ${step.mcp} was offered)` };
  return { kind: "tool", id, name: tool.name, args: step.args };
}

/** sse renders server-sent events: [event name or null, data] pairs. */
export function sse(events: [string | null, unknown][]): Response {
  const body = events.map(([name, data]) =>
    `${name ? `event: ${name}\n` : ""}data: ${
      typeof data === "string" ? data : JSON.stringify(data)
    }\n\n`
  ).join("");
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

export function json(data: unknown, status = 200): Response {
  return Response.json(data, { status });
}

/**
 * openAiModels answers the OpenAI APIs' `GET .../models` (a list of model `id` alone) and
 * `GET .../models/{name}` (`id`'s entry, whichever name was asked).
 */
export function openAiModels(path: string, id: string): Response {
  const model = { id, object: "model", created: 0, owned_by: "kanban-tests" };
  return path.endsWith("/models") ? json({ object: "list", data: [model] }) : json(model);
}
