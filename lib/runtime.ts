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

/** Handler is a web-standard HTTP handler (a hono app's `fetch`). */
export type Handler = (request: Request) => Response | Promise<Response>;

export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
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
}

type BunServe = (options: {
  fetch: Handler;
  hostname: string;
  port: number;
  idleTimeout: number;
}) => BunServer;

/**
 * serve runs `handler` on an HTTP server: Bun.serve in the compiled binary, Deno.serve under
 * Deno. Bun cuts a request that is idle for 10 s by default, which would end event streams
 * between keep-alives: idleTimeout 0 turns that off.
 */
export async function serve(handler: Handler, options: ServeOptions): Promise<Server> {
  const g = globalThis as { Bun?: { serve: BunServe } };
  if (g.Bun) {
    const server = g.Bun.serve({
      fetch: handler,
      hostname: options.hostname,
      port: options.port,
      idleTimeout: 0,
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
    const listening = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
      onError: () => new Response("Internal server error", { status: 500 }),
    }, handler);
    const addr = await listening.promise;
    return {
      hostname: options.hostname,
      port: addr.port,
      shutdown: async () => {
        await server.shutdown();
      },
    };
  }
  throw new Error(`serve: ${runtimeName()} is not supported (use Deno or the kanban binary)`);
}
