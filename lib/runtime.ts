/**
 * The one runtime-specific module: which JavaScript runtime runs us, and the SQLite library
 * it carries. Everything else uses node: modules only, so one source tree runs under Deno
 * (development, tests) and Bun (the compiled binary).
 */
import { DatabaseSync } from "node:sqlite";
import process from "node:process";

export function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** sqliteVersion asks the linked SQLite library for its version. */
export function sqliteVersion(): string {
  const db = new DatabaseSync(":memory:");
  try {
    return String((db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v);
  } finally {
    db.close();
  }
}

/**
 * selfBinary is the path of the compiled kanban binary running this code, or null when the
 * sources run under a development runtime (deno run / bun run).
 */
export function selfBinary(): string | null {
  const g = globalThis as { Bun?: { main: string } };
  if (g.Bun && g.Bun.main.startsWith("/$bunfs/")) return process.execPath;
  return null;
}

/**
 * Handler is a web-standard HTTP handler (a hono app's `fetch`). serve() passes SERVED as its
 * second argument (hono's `c.env`), which tells a request that came over a network connection
 * from one made in-process (`app.request()` in tests): only the first must carry a Host header.
 */
export type Handler = (request: Request, env: Served) => Response | Promise<Response>;

/** Served marks a request that serve() received from a client over TCP. */
export interface Served {
  readonly served: true;
}

export const SERVED: Served = Object.freeze({ served: true });

/** isServed tells whether a handler's `env` (hono's `c.env`) is serve()'s SERVED. */
export function isServed(env: unknown): boolean {
  return (env as Partial<Served> | undefined)?.served === true;
}

/** How long a client may take, in seconds: see serve(). */
export interface Timeouts {
  /** To send a request's headers (slowloris). Default 10. */
  headersS: number;
  /** To send its next request on a keep-alive connection, or more of a request body. Default 30. */
  idleS: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { headersS: 10, idleS: 30 };

export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Default DEFAULT_TIMEOUTS. */
  timeouts?: Partial<Timeouts>;
}

export interface Server {
  hostname: string;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting connections and waits for open requests (end streams first). */
  shutdown(): Promise<void>;
}

interface BunServer {
  port: number;
  hostname: string;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
  timeout(request: Request, seconds: number): void;
}

type BunServe = (options: {
  fetch: (request: Request, server: BunServer) => Promise<Response>;
  hostname: string;
  port: number;
  idleTimeout: number;
}) => BunServer;

/** isEventStream tells whether a response is a Server-Sent Events stream (never idle-cut). */
function isEventStream(response: Response): boolean {
  return /^text\/event-stream\b/i.test(response.headers.get("content-type") ?? "");
}

/**
 * serve runs `handler` on an HTTP server: Bun.serve in the compiled binary, node:http under
 * Deno (lib/serve_node.ts: Deno.serve has no timeouts). Idle clients are cut off in both:
 *
 * - a connection whose request headers are not complete in time (slowloris): node:http after
 *   `headersS` (408); Bun after its own fixed 10 s, whatever `headersS` says;
 * - a keep-alive connection with no next request, or a stalled request body, after `idleS`
 *   (Bun's `idleTimeout`, at most 255 s; node's `keepAliveTimeout` and `requestTimeout`).
 *
 * An event stream is exempt: Bun's idle timer does not count what the server sends, so each
 * event-stream response is given `server.timeout(request, 0)`; node:http's timeouts only
 * concern what the client sends.
 */
export async function serve(handler: Handler, options: ServeOptions): Promise<Server> {
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const g = globalThis as { Bun?: { serve: BunServe } };
  if (g.Bun) {
    const server = g.Bun.serve({
      fetch: async (request, bun) => {
        const response = await handler(request, SERVED);
        if (isEventStream(response)) bun.timeout(request, 0);
        return response;
      },
      hostname: options.hostname,
      port: options.port,
      idleTimeout: Math.min(255, Math.max(1, Math.round(t.idleS))),
    });
    return {
      hostname: options.hostname,
      port: server.port,
      shutdown: async () => {
        await server.stop(true);
      },
    };
  }
  if (typeof Deno !== "undefined") {
    const { serveNode } = await import("./serve_node.ts");
    const server = await serveNode(handler, SERVED, {
      hostname: options.hostname,
      port: options.port,
      timeouts: {
        headersMs: t.headersS * 1000,
        idleMs: t.idleS * 1000,
        // The whole request, body included: a 2 MiB body at a slow pace, then idle.
        requestMs: (t.headersS + t.idleS) * 1000,
      },
    });
    return { hostname: options.hostname, port: server.port, shutdown: () => server.close() };
  }
  throw new Error(`serve: ${runtimeName()} is not supported (use Deno or the kanban binary)`);
}
