import assert from "node:assert/strict";
import { serve, type Server } from "../../lib/runtime.ts";
import { createApp } from "../../lib/http/mod.ts";
import { type Bundle, HUMAN, setup } from "../_setup.ts";
import { AUTH, TOKEN } from "./_app.ts";

interface Frame {
  id?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

interface Live extends AsyncDisposable {
  b: Bundle;
  server: Server;
  url: string;
  streams: AbortController;
}

/** live serves a fresh board on a real port (0: any free one). */
async function live(keepAliveMs = 15_000): Promise<Live> {
  const b = setup();
  const streams = new AbortController();
  const app = createApp({
    store: b.store,
    token: TOKEN,
    signal: streams.signal,
    pollMs: 20,
    keepAliveMs,
  });
  const server = await serve(app.fetch, { hostname: "127.0.0.1", port: 0 });
  return {
    b,
    server,
    url: `http://127.0.0.1:${server.port}`,
    streams,
    [Symbol.asyncDispose]: async () => {
      streams.abort();
      await server.shutdown();
      await b[Symbol.asyncDispose]();
    },
  };
}

/** Stream reads SSE frames from a fetch response body. */
class Stream {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  readonly frames: Frame[] = [];

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** until reads frames until `done(frames)` holds, or fails after `ms`. */
  async until(done: (frames: Frame[]) => boolean, ms = 5000): Promise<Frame[]> {
    const deadline = Date.now() + ms;
    while (!done(this.frames)) {
      const left = deadline - Date.now();
      assert.ok(left > 0, `timed out; frames so far: ${JSON.stringify(this.frames)}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), left))),
      ]);
      clearTimeout(timer);
      if (chunk === null) continue;
      if (chunk.done) {
        this.frames.push({ comment: "<end>" });
        break;
      }
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
      let end;
      while ((end = this.#buffer.indexOf("\n\n")) >= 0) {
        const raw = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const frame: Frame = {};
        for (const line of raw.split("\n")) {
          if (line.startsWith(":")) frame.comment = line.slice(1).trim();
          else {
            const i = line.indexOf(":");
            frame[line.slice(0, i) as "id" | "data" | "retry"] = line.slice(i + 1).trim();
          }
        }
        this.frames.push(frame);
      }
    }
    return this.frames;
  }

  events(): { id: number; kind: string; task_id: string | null }[] {
    return this.frames.filter((f) => f.data !== undefined).map((f) => {
      const e = JSON.parse(f.data!);
      assert.equal(String(e.id), f.id, "the SSE id is the event id");
      return e;
    });
  }

  async close(): Promise<void> {
    await this.#reader.cancel();
  }
}

async function open(l: Live, query = "", headers: Record<string, string> = {}): Promise<Stream> {
  const r = await fetch(`${l.url}/api/v1/events${query}`, { headers: { ...AUTH, ...headers } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.ok(r.headers.get("content-security-policy"));
  return new Stream(r.body!);
}

const eventCount = (n: number) => (frames: Frame[]) =>
  frames.filter((f) => f.data !== undefined).length >= n;

Deno.test("the event stream starts at the head and delivers each new event with its id", async () => {
  await using l = await live();
  await l.b.store.createTask({ title: "before" }, HUMAN); // history: not replayed
  const s = await open(l);
  await s.until((f) => f.some((x) => x.retry !== undefined));
  const t = await l.b.store.createTask({ title: "after" }, HUMAN);
  await l.b.store.comment(t.task.id, "hi", HUMAN);
  await s.until(eventCount(2));
  assert.deepEqual(s.events().map((e) => [e.kind, e.task_id]), [
    ["created", t.task.id],
    ["commented", t.task.id],
  ]);
  await s.close();
});

Deno.test("a client that reconnects with Last-Event-ID resumes: nothing missed, nothing twice", async () => {
  await using l = await live();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await l.b.store.createTask({ title: `t${i}` }, HUMAN)).task.id);
  }
  const first = await open(l, "?since=0");
  await first.until(eventCount(3));
  const seen = first.events();
  await first.close();
  // While it is away, the board moves on.
  for (let i = 3; i < 6; i++) {
    ids.push((await l.b.store.createTask({ title: `t${i}` }, HUMAN)).task.id);
  }
  const last = String(seen.at(-1)!.id);
  const again = await open(l, "?since=0", { "last-event-id": last }); // the header wins
  await again.until(eventCount(3));
  await l.b.store.createTask({ title: "t6" }, HUMAN);
  await again.until(eventCount(4));
  const resumed = again.events();
  await again.close();
  const all = [...seen, ...resumed];
  assert.deepEqual(all.map((e) => e.id), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(all.slice(0, 6).map((e) => e.task_id), ids);
});

Deno.test("a quiet stream gets keep-alive comments; ?task= keeps only that task's events", async () => {
  await using l = await live(50);
  const a = await l.b.store.createTask({ title: "a" }, HUMAN);
  const b = await l.b.store.createTask({ title: "b" }, HUMAN);
  const s = await open(l, `?task=${b.task.id.slice(0, 6)}`);
  await s.until((f) => f.filter((x) => x.comment === "keep-alive").length >= 2);
  await l.b.store.comment(a.task.id, "not this one", HUMAN);
  await l.b.store.comment(b.task.id, "this one", HUMAN);
  await s.until(eventCount(1));
  assert.deepEqual(s.events().map((e) => e.task_id), [b.task.id]);
  await s.close();
});

Deno.test("shutting the server down ends open streams instead of waiting for them", async () => {
  const l = await live();
  const s = await open(l);
  await s.until((f) => f.length >= 1);
  const started = Date.now();
  l.streams.abort();
  await s.until((f) => f.some((x) => x.comment === "<end>"));
  await l.server.shutdown();
  assert.ok(Date.now() - started < 2000);
  await l.b[Symbol.asyncDispose]();
});

Deno.test("a malformed Last-Event-ID or an unknown task is refused before streaming", async () => {
  await using l = await live();
  for (
    const [query, headers, status] of [
      ["", { "last-event-id": "abc" }, 400],
      ["?since=-1", {}, 400],
      ["?task=t_00000000", {}, 404],
    ] as const
  ) {
    const r = await fetch(`${l.url}/api/v1/events${query}`, { headers: { ...AUTH, ...headers } });
    assert.equal(r.status, status);
    await r.body?.cancel();
  }
  const anonymous = await fetch(`${l.url}/api/v1/events`);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
});
