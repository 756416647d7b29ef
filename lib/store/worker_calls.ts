/**
 * The calls a worker may make through its dispatcher's socket (lib/dispatch/worker_socket.ts,
 * client lib/store/remote.ts), and how a call, its answer and its error travel as JSON. A
 * worker on a board it must not open itself (a PostgreSQL board: the URL carries the database
 * password) reaches the board only this way, with its run's lease token.
 *
 * WORKER_METHODS is derived from what a worker runs: the MCP worker tools (lib/tools) and the
 * CLI verbs lib/cli/confine.ts allows inside a worker (their reads, and the task verbs whose
 * writes the store confines to the worker's task and follow-ups). Left out on purpose:
 * board-wide maintenance (doctor, backup, gc, export), the dispatcher's own bookkeeping, and
 * notification subscriptions (a webhook URL often embeds a credential), so `kanban doctor`,
 * `kanban status` and `kanban notify list` are refused over the socket.
 */
import { Buffer } from "node:buffer";
import * as errors from "../errors.ts";
import type { Store } from "./store.ts";
import { transientReason } from "./transient.ts";

export const WORKER_METHODS = [
  // reads: the tools show/list/stats, the verbs show, list, runs, context, stats, assignees,
  // log, tail, diff, watch (the change feed runs on eventsSince and changeMark)
  "resolveId",
  "getTask",
  "listTasks",
  "showTask",
  "listRuns",
  "context",
  "planState",
  "reviewState",
  "budgets",
  "stats",
  "usageStats",
  "assignees",
  "eventHead",
  "eventsSince",
  "changeMark",
  // task writes, confined and audited by the store (lib/store/confine.ts)
  "createTask",
  "createGraph",
  "editTask",
  "assignTask",
  "link",
  "unlink",
  "claim",
  "heartbeat",
  "comment",
  "attach",
  "attachments",
  "attachment",
  "detach",
  "complete",
  "block",
  "plan",
  "requestReview",
  "unblock",
  "promote",
  "review",
  "cancel",
  "archive",
  "unarchive",
  "reopen",
] as const satisfies readonly (keyof Store)[];

export type WorkerMethod = typeof WORKER_METHODS[number];

/** WorkerStore is the part of the Store a worker reaches through the socket. */
export type WorkerStore = Pick<Store, WorkerMethod>;

const METHOD_SET: ReadonlySet<string> = new Set(WORKER_METHODS);

/** isWorkerMethod tells whether the socket serves `name`. */
export function isWorkerMethod(name: string): name is WorkerMethod {
  return METHOD_SET.has(name);
}

/** The path the socket serves calls on, and the header carrying the run's lease token. */
export const CALL_PATH = "/v1/call";
export const TOKEN_HEADER = "x-kanban-token";

/**
 * The largest call body the socket reads: an attachment at the largest cap a board may set
 * (48 MiB), in base64, with room to spare.
 */
export const MAX_CALL_BYTES = 72 * 1024 * 1024;
/** How long the socket lets a call run before answering `timeout` (ms). */
export const CALL_TIMEOUT_MS = 60_000;

/**
 * A call: the method and its arguments. JSON has no `undefined` in an array, so the positions
 * of undefined arguments travel on their own (a default parameter must see undefined, not null).
 */
export interface WireCall {
  method: string;
  args: unknown[];
  undefined?: number[];
}

/**
 * Bytes (an attachment's content) travel as `{"$bytes": base64}`: wireJson writes them so,
 * parseWire reads them back as a Uint8Array. Every call and answer goes through these two.
 */
export function wireJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v instanceof Uint8Array
        ? { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") }
        : v,
  );
}

/** parseWire is JSON.parse that turns each `{"$bytes": base64}` back into its bytes. */
export function parseWire(text: string): unknown {
  return JSON.parse(text, (_key, v) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "$bytes" && typeof v.$bytes === "string") {
        return new Uint8Array(Buffer.from(v.$bytes, "base64"));
      }
    }
    return v;
  });
}

/** encodeCall turns a Store call into its body. */
export function encodeCall(method: string, args: readonly unknown[]): string {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  const kept = args.slice(0, end);
  const holes = kept.flatMap((a, i) => (a === undefined ? [i] : []));
  const call: WireCall = {
    method,
    args: kept.map((a) => (a === undefined ? null : a)),
    ...(holes.length > 0 ? { undefined: holes } : {}),
  };
  return wireJson(call);
}

/** decodeCall reads a call body; a ValidationError when it is not one. */
export function decodeCall(text: string): { method: string; args: unknown[] } {
  let value: unknown;
  try {
    value = parseWire(text);
  } catch {
    throw new errors.ValidationError("The call is not JSON");
  }
  const c = value as Partial<WireCall> | null;
  if (
    typeof c !== "object" || c === null || typeof c.method !== "string" ||
    !Array.isArray(c.args) ||
    (c.undefined !== undefined &&
      (!Array.isArray(c.undefined) || !c.undefined.every((i) => Number.isInteger(i))))
  ) {
    throw new errors.ValidationError(
      'A call is {"method": string, "args": array, "undefined"?: [index, ...]}',
    );
  }
  const args = [...c.args];
  for (const i of c.undefined ?? []) if (i >= 0 && i < args.length) args[i] = undefined;
  return { method: c.method, args };
}

/** How an error travels: its code and message, the class to rebuild, and its own fields. */
export interface WireError {
  code: string;
  message: string;
  class: string;
  fields?: Record<string, unknown>;
}

/** The error classes a call may throw, rebuilt by name on the worker's side. */
const CLASSES: Readonly<Record<string, { prototype: errors.KanbanError }>> = {
  KanbanError: errors.KanbanError,
  NotFoundError: errors.NotFoundError,
  AmbiguousIdError: errors.AmbiguousIdError,
  IllegalTransitionError: errors.IllegalTransitionError,
  StaleLeaseError: errors.StaleLeaseError,
  ValidationError: errors.ValidationError,
  ConflictError: errors.ConflictError,
  BoardTooNewError: errors.BoardTooNewError,
  ReadOnlyBoardError: errors.ReadOnlyBoardError,
  BusyError: errors.BusyError,
  CorruptBoardError: errors.CorruptBoardError,
  DiskFullError: errors.DiskFullError,
  NotABoardError: errors.NotABoardError,
  BoardIoError: errors.BoardIoError,
};

/** errorToWire describes a thrown value; anything but a KanbanError is `internal`. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof errors.KanbanError) {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(err)) {
      if (k !== "code" && k !== "message" && k !== "name" && k !== "stack") fields[k] = v;
    }
    const name = CLASSES[err.name] ? err.name : "KanbanError";
    return {
      code: err.code,
      message: err.message,
      class: name,
      ...(Object.keys(fields).length > 0 ? { fields } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  // A database that did not answer is told as such, so that the worker tries again.
  const passing = transientReason(err);
  if (passing !== null) {
    return {
      code: "board_unavailable",
      message: `The board's database cannot be reached just now (${passing})`,
      class: "KanbanError",
    };
  }
  return { code: "internal", message, class: "Error" };
}

/**
 * errorFromWire rebuilds the error a call threw, as the same class with the same code,
 * message and fields, so that a worker's exit code and message are those of a direct call.
 * An `internal` error becomes a plain Error (the CLI prints "internal error: ...").
 */
export function errorFromWire(w: WireError): Error {
  if (w.class === "Error" && w.code === "internal") return new Error(w.message);
  const cls = CLASSES[w.class] ?? errors.KanbanError;
  const err = new errors.KanbanError(w.code, w.message);
  Object.setPrototypeOf(err, cls.prototype);
  err.name = CLASSES[w.class] ? w.class : "KanbanError";
  Object.assign(err, w.fields ?? {});
  return err;
}

/** isWireError tells whether a parsed answer's `error` has the WireError shape. */
export function isWireError(v: unknown): v is WireError {
  const e = v as Partial<WireError> | null;
  return typeof e === "object" && e !== null && typeof e.code === "string" &&
    typeof e.message === "string" && typeof e.class === "string";
}
