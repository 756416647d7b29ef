/**
 * The Gemini API (`generativelanguage.googleapis.com/v1beta`) as Gemini CLI calls it through
 * `GOOGLE_GEMINI_BASE_URL`: `models/{model}:streamGenerateContent?alt=sse` for the
 * conversation (server-sent GenerateContentResponse chunks), `:generateContent` for the same
 * without streaming, `:countTokens`, and the model list.
 */
import type { Api } from "./server.ts";
import { FIGURES, type Json, json, type Reply, sse, type ToolSpec, type Turn } from "./script.ts";

type Part = Json & {
  text?: string;
  functionCall?: Json;
  functionResponse?: { response?: unknown };
};
type Content = { role?: string; parts?: Part[] };

/**
 * USAGE is FIGURES in Gemini's shape: promptTokenCount counts cached tokens too and
 * candidatesTokenCount leaves out the thoughts. Gemini has no cache-write count (its implicit
 * cache costs nothing to fill), so FIGURES.cache_write is not reported.
 */
export const USAGE = {
  promptTokenCount: FIGURES.input + FIGURES.cache_read,
  cachedContentTokenCount: FIGURES.cache_read,
  candidatesTokenCount: FIGURES.output - FIGURES.reasoning,
  thoughtsTokenCount: FIGURES.reasoning,
  totalTokenCount: FIGURES.input + FIGURES.cache_read + FIGURES.output,
};

function texts(content: Content | undefined): string[] {
  return (content?.parts ?? []).flatMap((p) => typeof p.text === "string" ? [p.text] : []);
}

/** turnOf reads a GenerateContentRequest: user texts, function declarations, function responses. */
function turnOf(model: string, body: Json, stream: boolean): Turn {
  const contents = (body["contents"] ?? []) as Content[];
  const prompt = [
    ...texts(body["systemInstruction"] as Content | undefined),
    ...contents.filter((c) => c.role !== "model").flatMap(texts),
  ].join("\n");
  const tools: ToolSpec[] = ((body["tools"] ?? []) as Json[])
    .flatMap((t) => (t["functionDeclarations"] ?? []) as Json[])
    .map((f) => ({
      name: String(f["name"]),
      schema: (f["parametersJsonSchema"] ?? f["parameters"]) as Json | undefined,
    }));
  const toolResults = contents.flatMap((c) => c.parts ?? [])
    .filter((p) => p.functionResponse !== undefined)
    .map((p) => JSON.stringify(p.functionResponse?.response ?? null));
  return { model, prompt, tools, toolResults, stream };
}

/** response is one GenerateContentResponse carrying the whole reply. */
function response(reply: Reply, model: string): Json {
  const part: Json = reply.kind === "text"
    ? { text: reply.text }
    : { functionCall: { id: reply.id, name: reply.name, args: reply.args } };
  return {
    candidates: [{ content: { role: "model", parts: [part] }, finishReason: "STOP", index: 0 }],
    usageMetadata: USAGE,
    modelVersion: model,
    responseId: `resp_${crypto.randomUUID()}`,
  };
}

/**
 * filled is a value of a response schema (Gemini's upper-case types or JSON Schema's): the
 * first enum value, 1, false, an empty list, or "scripted". Gemini CLI asks for JSON on its
 * side calls (the model router's complexity score, for one); any valid answer lets it carry
 * on, where text would be retried with backoff for a minute and a half.
 */
function filled(schema: Json | undefined): unknown {
  const type = String(schema?.["type"] ?? "object").toLowerCase();
  const choices = schema?.["enum"];
  if (Array.isArray(choices) && choices.length > 0) return choices[0];
  if (type === "object") {
    const props = (schema?.["properties"] ?? {}) as Record<string, Json>;
    return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, filled(v)]));
  }
  if (type === "integer" || type === "number") return 1;
  if (type === "boolean") return false;
  if (type === "array") return [];
  return "scripted";
}

export const geminiApi: Api = {
  name: "gemini",
  match: (_method, path) => /^\/v1(beta)?\/models/.test(path),
  handle(_req, path, body, play) {
    // /v1beta/models/{model}:{method}; a path without a method lists or gets models
    const [, model = "", method = ""] = path.match(/^\/v1(?:beta)?\/models\/?([^:]*):?(\w*)$/) ??
      [];
    if (method === "countTokens") return json({ totalTokens: USAGE.promptTokenCount });
    const config = (body["generationConfig"] ?? {}) as Json;
    if (method === "generateContent" && config["responseMimeType"] === "application/json") {
      // a side call, not a turn (no step is spent on it); its usage counts like any reply's
      const schema = (config["responseJsonSchema"] ?? config["responseSchema"]) as Json;
      return json(response({ kind: "text", text: JSON.stringify(filled(schema)) }, model));
    }
    if (method === "generateContent" || method === "streamGenerateContent") {
      const stream = method === "streamGenerateContent";
      const reply = play(turnOf(model, body, stream));
      const out = response(reply, model);
      // a short reply streams as one chunk, as Gemini sends it, usage included
      return stream ? sse([[null, out]]) : json(out);
    }
    const entry = { name: `models/${model || "gemini-scripted"}`, supportedGenerationMethods: [] };
    return json(model ? entry : { models: [entry] });
  },
};
