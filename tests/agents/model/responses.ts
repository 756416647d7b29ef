/**
 * The OpenAI Responses API (`POST /v1/responses`, `GET /v1/models`) as the model server plays
 * it, for Codex (and any CLI that speaks Responses). Streaming answers are the SSE events the
 * real API sends: `response.created`, `response.in_progress`, each output item `added`, its
 * deltas and `done`, then `response.completed` carrying the whole response with its `usage`;
 * non-streaming answers are that response as one JSON object.
 */
import type { Api } from "./server.ts";
import { FIGURES, json, openAiModels, sse } from "./script.ts";
import type { Json, Reply, ToolSpec, Turn } from "./script.ts";

/** The model id `GET /v1/models` lists (any other id a CLI asks for is answered too). */
export const RESPONSES_MODEL = "scripted-responses";

/**
 * RESPONSES_USAGE is the `usage` of every reply, FIGURES in this API's shape: `input_tokens`
 * counts all the input the model saw, cache reads (`cached_tokens`) and cache writes
 * (`cache_write_tokens`, a newer detail of the API, which Codex reads) included;
 * `output_tokens` include `reasoning_tokens`.
 */
export const RESPONSES_USAGE = {
  input_tokens: FIGURES.input + FIGURES.cache_read + FIGURES.cache_write,
  input_tokens_details: {
    cached_tokens: FIGURES.cache_read,
    cache_write_tokens: FIGURES.cache_write,
  },
  output_tokens: FIGURES.output,
  output_tokens_details: { reasoning_tokens: FIGURES.reasoning },
  total_tokens: FIGURES.input + FIGURES.cache_read + FIGURES.cache_write + FIGURES.output,
};

/** texts reads an item's content: a string or an array of `{type: "input_text", text}` parts. */
function texts(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => typeof p?.text === "string" ? p.text : "").join("\n");
}

/** A tool a request offers, with the namespace it is grouped under (if any). */
interface Offered extends ToolSpec {
  /** The function's own name and its namespace, as a call of it must give them. */
  call: { name: string; namespace?: string };
}

/**
 * toolsOf lists the tools a request offers: `function` tools by name, and the functions
 * grouped under a `namespace` tool (how Codex offers each MCP server's tools) as
 * `namespace__name`. Built-in tools (`web_search`, ...) are listed by type, with no schema.
 */
function toolsOf(tools: unknown): Offered[] {
  if (!Array.isArray(tools)) return [];
  const out: Offered[] = [];
  for (const t of tools as Json[]) {
    if (t?.["type"] === "namespace" && Array.isArray(t["tools"])) {
      const namespace = String(t["name"]);
      for (const f of toolsOf(t["tools"])) {
        out.push({ ...f, name: `${namespace}__${f.name}`, call: { name: f.name, namespace } });
      }
    } else if (typeof t?.["name"] === "string") {
      const name = t["name"];
      out.push({ name, schema: t["parameters"] as Json | undefined, call: { name } });
    } else if (typeof t?.["type"] === "string") {
      out.push({ name: t["type"], schema: undefined, call: { name: t["type"] } });
    }
  }
  return out;
}

/** The types of the input items that carry a tool's result back to the model. */
const RESULTS = ["function_call_output", "custom_tool_call_output", "local_shell_call_output"];

/** turnOf reads the script's view of one request. */
export function turnOf(body: Json): Turn {
  const input = Array.isArray(body["input"])
    ? body["input"] as Json[]
    : typeof body["input"] === "string"
    ? [{ type: "message", role: "user", content: body["input"] }]
    : [];
  const said = input.filter((i) =>
    (i?.["type"] ?? "message") === "message" &&
    (i["role"] === "user" || i["role"] === "developer" || i["role"] === "system")
  ).map((i) => texts(i["content"]));
  const instructions = typeof body["instructions"] === "string" ? [body["instructions"]] : [];
  return {
    model: String(body["model"] ?? ""),
    prompt: [...instructions, ...said].join("\n"),
    tools: toolsOf(body["tools"]).map(({ name, schema }) => ({ name, schema })),
    toolResults: input.filter((i) => RESULTS.includes(String(i?.["type"])))
      .map((i) => texts(i["output"])),
    stream: body["stream"] === true,
  };
}

/** item is a reply's one output item, whole; a call names its tool as the request offered it. */
function item(reply: Reply, offered: Offered[]): Json {
  if (reply.kind === "text") {
    return {
      id: `msg_${crypto.randomUUID()}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: reply.text, annotations: [] }],
    };
  }
  return {
    id: `fc_${crypto.randomUUID()}`,
    type: "function_call",
    status: "completed",
    ...(offered.find((t) => t.name === reply.name)?.call ?? { name: reply.name }),
    call_id: reply.id,
    arguments: JSON.stringify(reply.args),
  };
}

/** response is the whole response object: in progress (no output yet) or completed. */
function response(id: string, model: string, output: Json[] | null): Json {
  return {
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status: output === null ? "in_progress" : "completed",
    model,
    output: output ?? [],
    usage: output === null ? null : RESPONSES_USAGE,
  };
}

/**
 * events streams a reply the way the API does. Text arrives in two deltas and a function
 * call's arguments in two fragments, so a client must join them; the item's `done` event
 * and `response.completed` carry the whole of it as well.
 */
function events(model: string, reply: Reply, offered: Offered[]): [string, Json][] {
  const id = `resp_${crypto.randomUUID()}`;
  const whole = item(reply, offered);
  const started = reply.kind === "text"
    ? { ...whole, status: "in_progress", content: [] }
    : { ...whole, status: "in_progress", arguments: "" };
  const at = { output_index: 0, item_id: whole["id"] };
  const out: [string, Json][] = [
    ["response.created", { response: response(id, model, null) }],
    ["response.in_progress", { response: response(id, model, null) }],
    ["response.output_item.added", { output_index: 0, item: started }],
  ];
  const halves = (s: string) => [s.slice(0, s.length >> 1), s.slice(s.length >> 1)];
  if (reply.kind === "text") {
    const part = { type: "output_text", text: "", annotations: [] };
    const done = { ...part, text: reply.text };
    out.push(["response.content_part.added", { ...at, content_index: 0, part }]);
    for (const delta of halves(reply.text)) {
      out.push(["response.output_text.delta", { ...at, content_index: 0, delta }]);
    }
    out.push(
      ["response.output_text.done", { ...at, content_index: 0, text: reply.text }],
      ["response.content_part.done", { ...at, content_index: 0, part: done }],
    );
  } else {
    const args = String(whole["arguments"]);
    for (const delta of halves(args)) {
      out.push(["response.function_call_arguments.delta", { ...at, delta }]);
    }
    out.push(["response.function_call_arguments.done", { ...at, arguments: args }]);
  }
  out.push(
    ["response.output_item.done", { output_index: 0, item: whole }],
    ["response.completed", { response: response(id, model, [whole]) }],
  );
  // every event also names its own type and a sequence number, as the API's do
  return out.map(([name, data], i) => [name, { type: name, sequence_number: i, ...data }]);
}

/** responses is the Responses API adapter for startModelServer. */
export const responses: Api = {
  name: "responses",
  match: (method, path) =>
    (method === "POST" && path.endsWith("/responses")) ||
    (method === "GET" && /\/models(\/[^/]+)?$/.test(path)),
  handle(_req, path, body, play) {
    if (!path.endsWith("/responses")) return openAiModels(path, RESPONSES_MODEL);
    const turn = turnOf(body);
    const reply = play(turn);
    const model = turn.model || RESPONSES_MODEL;
    const offered = toolsOf(body["tools"]);
    return turn.stream
      ? sse(events(model, reply, offered))
      : json(response(`resp_${crypto.randomUUID()}`, model, [item(reply, offered)]));
  },
};
