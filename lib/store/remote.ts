/**
 * RemoteStore: the board as a worker reaches it through its dispatcher's unix socket
 * (KANBAN_SOCKET; the server is lib/dispatch/worker_socket.ts). Each Store call of
 * WORKER_METHODS is one HTTP request over the socket carrying the run's lease token; the
 * dispatcher runs it on a Store confined to that run and answers with its result, or with its
 * error, which is thrown here again as the same class (same code, same message, same exit
 * code). The worker holds no database location or password.
 *
 * HTTP over a unix socket is node:http's `request({socketPath})`, which Deno and Bun (the
 * compiled binary included) both implement, so there is nothing runtime-specific here.
 */
import { Buffer } from "node:buffer";
import { request } from "node:http";
import { KanbanError } from "../errors.ts";
import { follow, type FollowOptions } from "./feed.ts";
import type { Store } from "./store.ts";
import type { Confinement, TaskEvent } from "./types.ts";
import {
  CALL_PATH,
  CALL_TIMEOUT_MS,
  encodeCall,
  errorFromWire,
  isWireError,
  parseWire,
  TOKEN_HEADER,
  WORKER_METHODS,
  type WorkerStore,
} from "./worker_calls.ts";

export interface RemoteOptions {
  /** The dispatcher's socket (KANBAN_SOCKET). */
  socket: string;
  /** The run's lease token (KANBAN_TOKEN): the socket serves nothing without a live one. */
  token: string;
  /** The task the worker was started for (KANBAN_TASK), when it says. */
  task: string | null;
  /** How long to wait for an answer (ms); a little over the socket's own limit by default. */
  timeoutMs?: number;
}

/** RemoteStore is the worker's part of the Store, plus what a session needs of a store. */
export type RemoteStore = WorkerStore & {
  /** The socket, as `unix:PATH` (where a worker's board lives, for its messages). */
  readonly path: string;
  readonly confinement: Confinement;
  follow(cursor: number, options: FollowOptions): AsyncIterable<TaskEvent[]>;
  close(): void;
  [Symbol.dispose](): void;
};

/** unreachable is the error of a call no dispatcher answered. */
function unreachable(socket: string, why: string): KanbanError {
  return new KanbanError(
    "dispatcher_unavailable",
    `Cannot reach the board: no dispatcher answers on its socket "${socket}" (${why}); ` +
      "a worker reaches the board through the dispatcher that started it, which may have " +
      "stopped (a dispatcher of this host started again serves the same socket)",
  );
}

/** post sends one call and resolves with its result, or rejects with its error rebuilt. */
function post(o: RemoteOptions, method: string, args: readonly unknown[]): Promise<unknown> {
  const body = Buffer.from(encodeCall(method, args));
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath: o.socket,
      path: CALL_PATH,
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(body.length),
        [TOKEN_HEADER]: o.token,
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (err) => reject(unreachable(o.socket, err.message)));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let answer: { result?: unknown; error?: unknown };
        try {
          answer = parseWire(text) as { result?: unknown; error?: unknown };
        } catch {
          reject(
            new KanbanError(
              "internal",
              `The dispatcher's socket answered ${res.statusCode} with something other than JSON`,
            ),
          );
          return;
        }
        if (isWireError(answer.error)) reject(errorFromWire(answer.error));
        else if (res.statusCode === 200) resolve(answer.result);
        else reject(new Error(`the dispatcher's socket answered ${res.statusCode}`));
      });
    });
    req.setTimeout(o.timeoutMs ?? CALL_TIMEOUT_MS + 5_000, () => {
      req.destroy(new Error("no answer in time"));
    });
    req.on("error", (err: Error & { code?: string }) => {
      reject(unreachable(o.socket, err.code ?? err.message));
    });
    req.end(body);
  });
}

/** remoteStore is the board through the dispatcher's socket, for one worker's run. */
export function remoteStore(o: RemoteOptions): RemoteStore {
  const calls = Object.fromEntries(
    WORKER_METHODS.map((m) => [m, (...args: unknown[]) => post(o, m, args)]),
  ) as unknown as WorkerStore;
  const store: RemoteStore = {
    ...calls,
    path: `unix:${o.socket}`,
    confinement: { task: o.task, token: o.token },
    follow: (cursor, options) => follow(store, cursor, options),
    close: () => {},
    [Symbol.dispose]: () => {},
  };
  return store;
}

/**
 * remoteAsStore hands a RemoteStore to code written for a Store (the CLI's verbs): a method
 * the socket does not serve rejects with `worker_forbidden`, naming the method, before any
 * request is made (the socket would refuse it too).
 */
export function remoteAsStore(remote: RemoteStore): Store {
  return new Proxy(remote, {
    get(target, name, receiver) {
      if (typeof name === "symbol" || name in target) return Reflect.get(target, name, receiver);
      return () => Promise.reject(notServed(name));
    },
  }) as unknown as Store;
}

/** notServed is the refusal of a Store method the worker's socket does not serve. */
export function notServed(method: string): KanbanError {
  return new KanbanError(
    "worker_forbidden",
    `Cannot call ${method} inside a worker that reaches the board through its dispatcher's ` +
      "socket (KANBAN_SOCKET): the socket serves a worker's own task verbs and board reads only",
  );
}
