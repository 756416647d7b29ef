/**
 * Which failures to reach the board pass by themselves. A worker's report that meets one of
 * these is sent again (lib/tools/deliver.ts); every other failure is an answer (a refusal, a
 * bad input, a damaged board) and sending the same thing again would get the same answer.
 */
import { KanbanError } from "./errors.ts";

/**
 * TRANSIENT_CODES are kanban's own error codes for a board that is there but could not be
 * reached just now: `busy` (SQLite: the lock stayed held past the busy timeout), `io_error`
 * (a disk or network file system that failed a read or write), `board_unavailable` (a server
 * database that did not answer, as told through a dispatcher's socket) and
 * `dispatcher_unavailable` (a worker's dispatcher, its way to the board, is restarting).
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "busy",
  "io_error",
  "board_unavailable",
  "dispatcher_unavailable",
]);

/** SQLite's own words for a lock held by another connection, when no code was attached. */
const SQLITE_LOCKED = /database is locked|database table is locked|SQLITE_BUSY|SQLITE_LOCKED/i;

/**
 * SOCKET_CODES: a server database (PostgreSQL) that is restarting, unreachable or cut off by
 * the network: the connection was refused, reset, timed out, or its name did not resolve.
 */
export const SOCKET_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/**
 * SQLSTATE_TRANSIENT: PostgreSQL's answers that say "not now" rather than "no": class 08
 * (connection exceptions) by prefix, a server shutting down or starting (57P01-57P03), too
 * many connections (53300), and a transaction that lost a serialization or deadlock race
 * (40001, 40P01), which did nothing and may run again.
 */
const SQLSTATE_TRANSIENT = /^(08...|57P0[123]|53300|40001|40P01)$/;

/**
 * transientReason says why `err` is a passing failure to reach the board (worth retrying),
 * or null when it is an answer. Follows `cause` chains, since drivers wrap what they meet.
 */
export function transientReason(err: unknown): string | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof KanbanError) {
      if (TRANSIENT_CODES.has(e.code)) return e.message;
      if (e.cause === undefined) return null; // an answer: refused, not found, invalid, ...
      continue;
    }
    if (!(e instanceof Error)) return null;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && SOCKET_CODES.has(code)) return `${code}: ${e.message}`;
    if (typeof code === "string" && SQLSTATE_TRANSIENT.test(code)) {
      return `${code}: ${e.message}`;
    }
    if (SQLITE_LOCKED.test(e.message)) return e.message;
  }
  return null;
}
