/**
 * The OpenAI Chat Completions API (`POST /v1/chat/completions`, `GET /v1/models`) as the
 * model server plays it, for CLIs with an OpenAI-compatible provider (opencode, Qwen Code,
 * ...). Streaming answers are SSE `chat.completion.chunk`s ending with a usage chunk and
 * `[DONE]`; non-streaming answers are one `chat.completion`.
 */
import type { Api } from "./server.ts";
import { FIGURES, json, openAiModels, sse } from "./script.ts";
import type { Json, Reply, ToolSpec, Turn } from "./script.ts";

/** The model id `GET /v1/models` lists (any other id a CLI asks for is answered too). */
export const CHAT_MODEL = "scripted-chat";

/**
 * CHAT_USAGE is the `usage` of every reply, FIGURES in this API's shape: `prompt_tokens`
 * counts all the input the model saw, cached reads included (`cached_tokens`); the API has no
 * cache writes, so those tokens are plain prompt tokens; `completion_tokens` include the
 * `reasoning_tokens`.
 */
export const CHAT_USAGE = {
  prompt_tokens: FIGURES.input + FIGURES.cache_read + FIGURES.cache_write,
  completion_tokens: FIGURES.output,
  total_tokens: FIGURES.input + FIGURES.cache_read + FIGURES.cache_write + FIGURES.output,
  prompt_tokens_details: { cached_tokens: FIGURES.cache_read },
  completion_tokens_details: { reasoning_tokens: FIGURES.reasoning },
};

/** texts reads a message's content: a string or an array of `{type: "text", text}` parts. */
function texts(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => typeof p?.text === "string" ? p.text : "").join("\n");
}

/** turnOf reads the script's view of one request. */
export function turnOf(body: Json): Turn {
  const messages = Array.isArray(body["messages"]) ? body["messages"] as Json[] : [];
  const tools: ToolSpec[] = (Array.isArray(body["tools"]) ? body["tools"] as Json[] : [])
    .map((t) => (t?.["function"] ?? {}) as Json)
    .filter((f) => typeof f["name"] === "string")
    .map((f) => ({ name: f["name"] as string, schema: f["parameters"] as Json | undefined }));
  return {
    model: String(body["model"] ?? ""),
    prompt: messages.filter((m) => m?.["role"] === "user" || m?.["role"] === "system")
      .map((m) => texts(m["content"])).join("\n"),
    tools,
    toolResults: messages.filter((m) => m?.["role"] === "tool").map((m) => texts(m["content"])),
    stream: body["stream"] === true,
  };
}

/** The assistant message of a reply, as a whole (non-streaming) or as deltas (streaming). */
function toolCall(reply: Extract<Reply, { kind: "tool" }>, args: string): Json {
  return { id: reply.id, type: "function", function: { name: reply.name, arguments: args } };
}

function completion(model: string, reply: Reply): Json {
  const message = reply.kind === "text" ? { role: "assistant", content: reply.text } : {
    role: "assistant",
    content: null,
    tool_calls: [toolCall(reply, JSON.stringify(reply.args))],
  };
  return {
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{
      index: 0,
      message,
      finish_reason: reply.kind === "text" ? "stop" : "tool_calls",
    }],
    usage: CHAT_USAGE,
  };
}

/**
 * chunks streams a reply the way OpenAI does: the role, then content or a tool call whose
 * arguments arrive in two fragments (so a client must join them), the finish reason, and a
 * usage chunk with no choices. The usage chunk is sent even when `stream_options.include_usage`
 * was not asked: clients that did not ask ignore it, and some read it anyway.
 */
function chunks(model: string, reply: Reply): [string | null, unknown][] {
  const base = {
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model,
  };
  const chunk = (delta: Json, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const out: Json[] = [chunk({ role: "assistant", content: "" })];
  if (reply.kind === "text") {
    out.push(chunk({ content: reply.text }), chunk({}, "stop"));
  } else {
    const args = JSON.stringify(reply.args);
    const half = Math.floor(args.length / 2);
    out.push(
      chunk({ tool_calls: [{ index: 0, ...toolCall(reply, args.slice(0, half)) }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] }),
      chunk({}, "tool_calls"),
    );
  }
  out.push({ ...base, choices: [], usage: CHAT_USAGE });
  return [...out.map((c): [null, Json] => [null, c]), [null, "[DONE]"]];
}

/** chat is the Chat Completions adapter for startModelServer. */
export const chat: Api = {
  name: "chat",
  match: (method, path) =>
    (method === "POST" && path.endsWith("/chat/completions")) ||
    (method === "GET" && /\/models(\/[^/]+)?$/.test(path)),
  handle(_req, path, body, play) {
    if (!path.endsWith("/chat/completions")) return openAiModels(path, CHAT_MODEL);
    const turn = turnOf(body);
    const reply = play(turn);
    const model = turn.model || CHAT_MODEL;
    return turn.stream ? sse(chunks(model, reply)) : json(completion(model, reply));
  },
};
