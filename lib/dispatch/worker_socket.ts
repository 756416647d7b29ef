/**
 * The worker socket: how the workers of a dispatcher reach a board they must not open
 * themselves (a PostgreSQL board, whose URL carries the database password; a SQLite board
 * with `dispatch.worker_access = "socket"`). The dispatcher serves HTTP on a unix socket, mode
 * 0600 in a private (0700) folder; each request is one Store call of a worker (lib/store/
 * worker_calls.ts) with its run's lease token in a header. The call runs on a Store view
 * confined to that run (Store.confinedTo: the same audit as a worker's own connection) sharing
 * the dispatcher's driver, only when the token's run is open, and only for WORKER_METHODS.
 * The client is lib/store/remote.ts.
 *
 * node:http serves the socket under Deno and in the Bun binary alike; a socket file is only
 * reachable by its owner, so the HTTP server's own timeouts matter less than on TCP, but a
 * call's body and time are bounded all the same.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { Buffer } from "node:buffer";
import { KanbanError, StaleLeaseError, type Store } from "../store/mod.ts";
import { boardLocation } from "../store/location.ts";
import { shownLocation } from "../store/shown.ts";
import { ConfigError } from "../config/config.ts";
import { notServed } from "../store/remote.ts";
import {
  CALL_PATH,
  CALL_TIMEOUT_MS,
  decodeCall,
  errorToWire,
  isWorkerMethod,
  MAX_CALL_BYTES,
  TOKEN_HEADER,
  wireJson,
} from "../store/worker_calls.ts";

/**
 * workerAccess is how the workers of the board at `location` reach it: `configured` when set,
 * else "socket" for a server database and "direct" for a board file. A server database's
 * workers never open it themselves (its URL holds the password): "direct" is refused there.
 */
export function workerAccess(
  location: string,
  configured: "direct" | "socket" | undefined,
): "direct" | "socket" {
  const server = boardLocation(location).driver !== "sqlite";
  if (server && configured === "direct") {
    throw new ConfigError(
      'dispatch.worker_access = "direct" would put the database\'s URL, and its password, in ' +
        'every worker\'s environment: the workers of a PostgreSQL board use "socket"',
    );
  }
  return configured ?? (server ? "socket" : "direct");
}

/** A unix socket's path is at most 107 bytes on Linux (sun_path is 108, with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * socketPathFor is where the dispatcher of `host` serves the workers of a board: in the board's
 * log folder (`<logs>/<key>/sockets/`), named for the host identity, so a dispatcher that
 * starts again on this host serves its adopted workers at the same path. When that path is too
 * long for a unix socket, a private folder in the temporary directory named for it is used.
 */
export function socketPathFor(logsDir: string, host: string): string {
  const name = `${createHash("sha256").update(host).digest("hex").slice(0, 12)}.sock`;
  const near = join(logsDir, "sockets", name);
  if (Buffer.byteLength(near) <= MAX_SOCKET_PATH) return near;
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const key = createHash("sha256").update(near).digest("hex").slice(0, 16);
  return join(tmpdir(), `kanban-${uid}-${key}`, "worker.sock");
}

/** privateFolder makes (or checks) a folder only its owner may enter: mode 0700, ours. */
function privateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
  if (!st.isDirectory() || st.uid !== uid) {
    throw new KanbanError(
      "worker_socket",
      `Cannot serve workers in "${dir}": it is not a folder of this user`,
    );
  }
  chmodSync(dir, 0o700);
}

/**
 * boardSecrets are the strings of a board's location a worker must never see: a server
 * database's URL and its password (as written and decoded); none for a board file.
 */
export function boardSecrets(location: string): string[] {
  const where = boardLocation(location);
  if (where.driver === "sqlite") return [];
  let password = "";
  try {
    password = new URL(where.url).password;
  } catch {
    // not parsed as a URL: the location itself is the secret
  }
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // a malformed escape: the password as written
  }
  return [...new Set([location, password, decoded])].filter((s) => s.length >= 4);
}

/**
 * scrubber returns a function that takes a board's secrets out of a message: its URL becomes
 * the URL without the password, the password itself "***".
 */
function scrubber(location: string): (text: string) => string {
  const secrets = boardSecrets(location);
  if (secrets.length === 0) return (t) => t;
  const shown = shownLocation(location);
  return (text) => secrets.reduce((t, s) => t.replaceAll(s, s === location ? shown : "***"), text);
}

/** An answer: its HTTP status and JSON body. */
export interface Answer {
  status: number;
  body: string;
}

function json(status: number, value: unknown): Answer {
  return { status, body: wireJson(value) };
}

export interface WorkerSocketOptions {
  /** The dispatcher's store: calls run on views of it confined to each worker's run. */
  store: Store;
  /** Where to serve (socketPathFor). */
  path: string;
  /** How long a call may run (ms); default CALL_TIMEOUT_MS. */
  callTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * WorkerSocket serves one dispatcher's workers. `answer()` is the whole protocol (tested in
 * process); `listen()` and `close()` bind and remove the socket, each safe to repeat.
 */
export class WorkerSocket {
  readonly path: string;
  readonly #store: Store;
  readonly #timeoutMs: number;
  readonly #scrub: (text: string) => string;
  readonly #log: (line: string) => void;
  #server: Server | null = null;

  constructor(o: WorkerSocketOptions) {
    this.path = o.path;
    this.#store = o.store;
    this.#timeoutMs = o.callTimeoutMs ?? CALL_TIMEOUT_MS;
    this.#scrub = scrubber(o.store.path);
    this.#log = o.log ?? (() => {});
  }

  /** listening tells whether the socket is bound now. */
  get listening(): boolean {
    return this.#server !== null;
  }

  /**
   * answer runs one call of the worker holding `token` and says what to send back: the result,
   * or the error as {code, message, class} (with the board's secrets scrubbed from messages).
   */
  async answer(token: string | null, body: string): Promise<Answer> {
    try {
      return json(200, { result: await this.#call(token, body) });
    } catch (err) {
      const wire = errorToWire(err);
      wire.message = this.#scrub(wire.message);
      if (wire.code === "internal") this.#log(`worker socket: ${wire.message}`);
      return json(wire.code === "internal" ? 500 : 400, { error: wire });
    }
  }

  async #call(token: string | null, body: string): Promise<unknown> {
    if (!token) {
      throw new KanbanError(
        "worker_forbidden",
        `The dispatcher's socket serves workers only: a call carries its run's lease token (${TOKEN_HEADER})`,
      );
    }
    const { method, args } = decodeCall(body);
    if (!isWorkerMethod(method)) throw notServed(method);
    const run = await this.#store.runOfToken(token);
    if (run === null) {
      throw new StaleLeaseError(
        "Cannot use the board: the worker's lease token belongs to no run of this board (a worker reaches only the board of its run)",
      );
    }
    if (run.ended_at !== null) {
      throw new StaleLeaseError(
        `Cannot use the board: run ${run.id} of task "${run.task_id}" has ended (${run.outcome}); the dispatcher's socket serves open runs only`,
      );
    }
    // The token travels in the header; an actor argument naming another is not this worker's.
    for (const a of args) {
      const t = (a as { token?: unknown } | null)?.token;
      if (typeof a === "object" && t !== undefined && t !== token) {
        throw new KanbanError(
          "worker_forbidden",
          "A call through the dispatcher's socket writes with its own run's lease token only",
        );
      }
    }
    const view = this.#store.confinedTo({ task: run.task_id, token });
    const fn = view[method] as (...a: unknown[]) => Promise<unknown>;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new KanbanError(
            "timeout",
            `The call ${method} took longer than ${this.#timeoutMs / 1000} s at the dispatcher`,
          ),
        );
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([fn.apply(view, args), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** listen binds the socket (0600, in a 0700 folder), replacing a stale socket file. */
  async listen(): Promise<void> {
    if (this.#server !== null) return;
    privateFolder(dirname(this.path));
    // A socket file left by a dispatcher of this host that died: only the dispatcher holding
    // the board's lease for this host listens, so whatever is there is stale.
    if (existsSync(this.path)) rmSync(this.path, { force: true });
    const server = createServer({
      headersTimeout: 10_000,
      requestTimeout: this.#timeoutMs + 10_000,
      keepAliveTimeout: 5_000,
    }, (req, res) => void this.#serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    this.#server = server;
    this.#log(`serving workers on ${this.path}`);
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (a: Answer) => {
      res.writeHead(a.status, { "content-type": "application/json" }).end(a.body);
    };
    try {
      if (req.method !== "POST" || req.url !== CALL_PATH) {
        req.resume();
        send(json(404, {
          error: { code: "not_found", message: `POST ${CALL_PATH} only`, class: "NotFoundError" },
        }));
        return;
      }
      const body = await readBody(req, MAX_CALL_BYTES);
      if (body === null) {
        send(json(413, {
          error: {
            code: "too_large",
            message: `A call through the dispatcher's socket is at most ${MAX_CALL_BYTES} bytes`,
            class: "KanbanError",
          },
        }));
        return;
      }
      const token = req.headers[TOKEN_HEADER];
      send(await this.answer(typeof token === "string" ? token : null, body));
    } catch {
      res.destroy();
    }
  }

  /** close stops serving and removes the socket file. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    rmSync(this.path, { force: true });
  }
}

/** readBody reads a request body of at most `max` bytes; null when it is larger. */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on("end", () => resolve(over ? null : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
