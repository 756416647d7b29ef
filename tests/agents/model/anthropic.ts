/**
 * The Anthropic Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`) as the
 * model server plays it, for Claude Code through `ANTHROPIC_BASE_URL`. Streaming answers are
 * the SSE events the real API sends: `message_start` (the message, empty, with its input
 * usage), per content block `content_block_start`, its deltas (`text_delta`, or
 * `input_json_delta` fragments of a tool call's input) and `content_block_stop`, then
 * `message_delta` (stop reason, usage) and `message_stop`; non-streaming answers are the
 * whole message as one JSON object. `GET /v1/models` lists the scripted model; anything else
 * under the base URL (a start-up look-up) is answered with an empty object.
 */
import type { Api } from "./server.ts";
import { FIGURES, type Json, json, type Reply, sse, type ToolSpec, type Turn } from "./script.ts";

/** The model id the tier configures Claude Code with (any other id is answered too). */
export const ANTHROPIC_MODEL = "claude-sonnet-4-5";

/**
 * ANTHROPIC_USAGE is the `usage` of every reply, FIGURES in this API's shape: the three input
 * counts do not overlap (`input_tokens` leaves out cache reads and writes), and
 * `output_tokens` include thinking, which `output_tokens_details.thinking_tokens` counts (the
 * `thinking-token-count` beta Claude Code asks for).
 */
export const ANTHROPIC_USAGE = {
  input_tokens: FIGURES.input,
  cache_creation_input_tokens: FIGURES.cache_write,
  cache_read_input_tokens: FIGURES.cache_read,
  output_tokens: FIGURES.output,
  output_tokens_details: { thinking_tokens: FIGURES.reasoning },
};

/** The input part of ANTHROPIC_USAGE: what `message_start` knows. */
const { output_tokens: _, output_tokens_details: __, ...INPUT_USAGE } = ANTHROPIC_USAGE;

type Block = Json & { type?: string; text?: unknown; content?: unknown };
type Message = { role?: string; content?: unknown };

/** blocks reads a message's content: a string is one text block. */
function blocks(content: unknown): Block[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? content.filter((b) => b && typeof b === "object") : [];
}

function texts(content: unknown): string[] {
  return blocks(content).flatMap((b) =>
    b.type === "text" && typeof b.text === "string" ? [b.text] : []
  );
}

/** turnOf reads the script's view of one request. */
export function turnOf(body: Json): Turn {
  const messages = (Array.isArray(body["messages"]) ? body["messages"] : []) as Message[];
  const user = messages.filter((m) => m?.role === "user");
  const tools: ToolSpec[] = (Array.isArray(body["tools"]) ? body["tools"] as Json[] : [])
    .filter((t) => typeof t?.["name"] === "string")
    .map((t) => ({ name: String(t["name"]), schema: t["input_schema"] as Json | undefined }));
  return {
    model: String(body["model"] ?? ""),
    prompt: [...texts(body["system"]), ...user.flatMap((m) => texts(m.content))].join("\n"),
    tools,
    toolResults: user.flatMap((m) => blocks(m.content))
      .filter((b) => b.type === "tool_result")
      .map((b) => typeof b.content === "string" ? b.content : texts(b.content).join("\n")),
    stream: body["stream"] === true,
  };
}

/** block is a reply's one content block, whole. */
function block(reply: Reply): Json {
  return reply.kind === "text"
    ? { type: "text", text: reply.text }
    : { type: "tool_use", id: `toolu_${reply.id}`, name: reply.name, input: reply.args };
}

/** message is the whole message: empty (as `message_start` carries it) or complete. */
function message(id: string, model: string, reply: Reply, done: boolean): Json {
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: done ? [block(reply)] : [],
    stop_reason: done ? (reply.kind === "tool" ? "tool_use" : "end_turn") : null,
    stop_sequence: null,
    // message_start reports the input and the first output token, as the API does
    usage: done ? ANTHROPIC_USAGE : { ...INPUT_USAGE, output_tokens: 1 },
  };
}

/**
 * events streams a reply the way the API does. Text arrives in two deltas and a tool call's
 * input in two JSON fragments, so the client must join them; `message_delta` carries the
 * stop reason and the final usage.
 */
function events(model: string, reply: Reply): [string, Json][] {
  const id = `msg_${crypto.randomUUID()}`;
  const whole = block(reply);
  const halves = (s: string) => [s.slice(0, s.length >> 1), s.slice(s.length >> 1)];
  const deltas = reply.kind === "text"
    ? halves(reply.text).map((text) => ({ type: "text_delta", text }))
    : halves(JSON.stringify(reply.args)).map((partial_json) => ({
      type: "input_json_delta",
      partial_json,
    }));
  const start = reply.kind === "text" ? { ...whole, text: "" } : { ...whole, input: {} };
  const done = message(id, model, reply, true);
  return [
    ["message_start", { message: message(id, model, reply, false) }],
    ["content_block_start", { index: 0, content_block: start }],
    ["ping", {}],
    ...deltas.map((delta): [string, Json] => ["content_block_delta", { index: 0, delta }]),
    ["content_block_stop", { index: 0 }],
    ["message_delta", {
      delta: { stop_reason: done["stop_reason"], stop_sequence: null },
      usage: ANTHROPIC_USAGE,
    }],
    ["message_stop", {}],
  ].map(([name, data]) => [name as string, { type: name, ...data as Json }]);
}

/** anthropic is the Messages API adapter for startModelServer. */
export const anthropic: Api = {
  name: "anthropic",
  match: () => true,
  handle(_req, path, body, play) {
    if (path.endsWith("/messages/count_tokens")) {
      return json({ input_tokens: FIGURES.input });
    }
    if (path.endsWith("/models")) {
      const model = {
        type: "model",
        id: ANTHROPIC_MODEL,
        display_name: "Scripted",
        created_at: "2025-01-01T00:00:00Z",
      };
      return json({ data: [model], has_more: false, first_id: model.id, last_id: model.id });
    }
    if (!path.endsWith("/messages")) return json({});
    const turn = turnOf(body);
    const reply = play(turn);
    const model = turn.model || ANTHROPIC_MODEL;
    const id = `msg_${crypto.randomUUID()}`;
    return turn.stream ? sse(events(model, reply)) : json(message(id, model, reply, true));
  },
};
