/**
 * Live board events as Server-Sent Events. Each event's SSE id is its task_events id, so a
 * client that reconnects with `Last-Event-ID` (EventSource does so by itself) resumes exactly
 * after the last event it saw: nothing missed, nothing twice. A comment line every
 * `keepAliveMs` keeps proxies and idle timeouts from closing a quiet stream.
 */
import { ApiError } from "./errors.ts";
import { type ApiContext, type Routes } from "./route.ts";
import { EventsQuery } from "./schemas.ts";

export interface StreamOptions {
  /** How often the change feed looks for a commit (ms). */
  pollMs: number;
  /** How long a stream may stay silent before a keep-alive comment (ms). */
  keepAliveMs: number;
  /** Ends every open stream (server shutdown). */
  signal?: AbortSignal | undefined;
}

/** A client this many chunks behind is cut off; it resumes from its Last-Event-ID. */
const MAX_BACKLOG = 1000;

export function eventRoutes(r: Routes, api: ApiContext, o: StreamOptions): void {
  r.add({
    method: "get",
    path: "/api/v1/events",
    tag: "events",
    summary: "Live board events (Server-Sent Events)",
    description: "Each message is one task event as JSON; its SSE `id` is the event id. " +
      "Reconnect with `Last-Event-ID` (or `?since=`) to resume after that event; without " +
      "either the stream starts at the current head. A `: keep-alive` comment comes every 15 s.",
    query: EventsQuery,
    ok: { status: 200, mediaType: "text/event-stream", description: "the event stream" },
    errors: [404],
    handler: async (c, { query }) => {
      const header = c.req.header("last-event-id");
      if (header !== undefined && !/^\s*\d{1,15}\s*$/.test(header)) {
        throw new ApiError(400, "invalid_input", `Last-Event-ID "${header}" is not an event id`);
      }
      const taskId = query.task !== undefined ? await api.store.resolveId(query.task) : null;
      const cursor = header !== undefined
        ? Number(header)
        : query.since ?? await api.store.eventHead();
      const stop = new AbortController();
      const end = () => stop.abort();
      o.signal?.addEventListener("abort", end, { once: true });
      const enc = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          let lastWrite = Date.now();
          const send = (text: string) => {
            if (stop.signal.aborted) return;
            if ((controller.desiredSize ?? 0) < -MAX_BACKLOG) return stop.abort();
            controller.enqueue(enc.encode(text));
            lastWrite = Date.now();
          };
          send(`retry: 2000\n: after event ${cursor}\n\n`);
          // a quiet stream is looked at a few times per keep-alive period
          const keepAlive = setInterval(() => {
            if (Date.now() - lastWrite >= o.keepAliveMs) send(": keep-alive\n\n");
          }, Math.max(10, o.keepAliveMs / 4));
          (async () => {
            const feed = api.store.follow(cursor, { signal: stop.signal, pollMs: o.pollMs });
            for await (const events of feed) {
              for (const e of events) {
                if (taskId === null || e.task_id === taskId) {
                  send(`id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`);
                }
              }
            }
          })().catch(() => stop.abort()).finally(() => {
            clearInterval(keepAlive);
            o.signal?.removeEventListener("abort", end);
            try {
              controller.close();
            } catch { /* the client went away first */ }
          });
        },
        cancel() {
          stop.abort();
        },
      });
      return new Response(stream, {
        headers: {
          "Content-Type": "text/event-stream; charset=utf-8",
          "Cache-Control": "no-store",
          "X-Accel-Buffering": "no",
        },
      });
    },
  });
}
