/**
 * A scripted model server on 127.0.0.1 for the real-CLI test tier. It speaks the APIs the
 * agent CLIs call (each in its own file: anthropic.ts, responses.ts, chat.ts, gemini.ts),
 * answers every conversation from one script of tool calls and text with known usage
 * figures, and logs each request so a test can see what the CLI sent.
 */
import { errorReply } from "./errors.ts";
import { decide, type Json, type Reply, type Step, type Turn } from "./script.ts";

/** An API adapter: which requests it takes, how it reads them and how it answers. */
export interface Api {
  name: string;
  /** Takes this request (method and path)? */
  match(method: string, path: string): boolean;
  /** Answers it. `play` reads the turn and returns the script's reply (and logs both). */
  handle(req: Request, path: string, body: Json, play: (turn: Turn) => Reply): Response;
}

export interface Logged {
  api: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Json;
  turn: Turn | null;
  reply: Reply | null;
}

/**
 * An account trouble the server answers every scripted turn with, in the API's own dialect
 * (errors.ts): a rate limit, an exhausted quota, or a rejected API key.
 */
export interface Failure {
  kind: "rate_limit" | "quota" | "auth";
  /** The retry delay the answer suggests, in seconds (Retry-After, RetryInfo, the message). */
  retryAfterS?: number;
}

export interface ModelServer extends AsyncDisposable {
  /** http://127.0.0.1:PORT */
  url: string;
  requests: Logged[];
  /** Requests that got a scripted turn (not side requests like token counts or model lists). */
  turns(): Logged[];
  /** Replace the script (for the next requests). */
  script(steps: Step[]): void;
  /** Answer every scripted turn with this error from now on (null: play the script again). */
  fail(f: Failure | null): void;
}

/** Thrown by `play` while the server fails turns: the handler answers with the error. */
class Failing {
  constructor(readonly failure: Failure) {}
}

export function startModelServer(
  apis: Api[],
  steps: Step[],
  failure: Failure | null = null,
): Promise<ModelServer> {
  let current = steps;
  let failing = failure;
  const requests: Logged[] = [];
  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
  }, async (req) => {
    const path = new URL(req.url).pathname;
    const text = req.method === "GET" ? "" : await req.text();
    let body: Json = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { unparsed: text.slice(0, 2000) };
    }
    const entry: Logged = {
      api: "none",
      method: req.method,
      path,
      headers: Object.fromEntries(req.headers),
      body,
      turn: null,
      reply: null,
    };
    requests.push(entry);
    const api = apis.find((a) => a.match(req.method, path));
    if (!api) {
      return Response.json({ error: { message: `no scripted API at ${path}` } }, { status: 404 });
    }
    entry.api = api.name;
    try {
      return api.handle(req, path, body, (turn) => {
        entry.turn = turn;
        if (failing !== null) throw new Failing(failing);
        entry.reply = decide(turn, current);
        return entry.reply;
      });
    } catch (err) {
      if (err instanceof Failing) return errorReply(api.name, err.failure);
      return Response.json({ error: { message: String(err) } }, { status: 500 });
    }
  });
  return ready.promise.then((addr) => ({
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    turns: () => requests.filter((r) => r.turn !== null),
    script: (s) => {
      current = s;
    },
    fail: (f) => {
      failing = f;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  }));
}
