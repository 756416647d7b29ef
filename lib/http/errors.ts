/**
 * The API's one error shape, `{error: {code, message}}`, and the HTTP status for each kind of
 * failure. Store errors keep their stable `code`; the status says what kind of refusal it is.
 */
import { KanbanError } from "../store/mod.ts";
import { transientReason } from "../store/transient.ts";

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 500 | 503 | 507;

export interface ErrorBody {
  error: { code: string; message: string };
}

/** ApiError is a refusal made by the HTTP layer itself (auth, host, origin, input shape). */
export class ApiError extends Error {
  readonly status: ErrorStatus;
  readonly code: string;
  constructor(status: ErrorStatus, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * The API's one table from error codes to statuses; a code not listed is a rule that refused a
 * well-formed request (409). Malformed input is 400; the codes after it say the server's board
 * cannot serve the request.
 */
const STATUS_OF_CODE: Readonly<Record<string, ErrorStatus>> = {
  not_found: 404,
  invalid_input: 400,
  usage: 400,
  config: 400,
  ambiguous_id: 400,
  too_large: 413, // an attachment over the board's caps
  busy: 503, // locked by other writers: retry
  board_unavailable: 503, // the board's database did not answer: retry
  read_only: 503, // the server may not write the board's folder: reads still work
  disk_full: 507, // Insufficient Storage
  io_error: 500,
  corrupt: 500,
  not_a_board: 500,
  board_too_new: 500,
};

/**
 * statusOf maps a store error to its HTTP status: unknown ids 404, malformed input 400,
 * a board the server cannot use as asked (SERVER_SIDE: locked, read-only, disk full, damaged)
 * 5xx with the store's specific code, and every rule that refused a well-formed request (an
 * illegal transition, a stale lease, a cycle, an idempotency clash) 409.
 */
export function statusOf(err: KanbanError): ErrorStatus {
  return STATUS_OF_CODE[err.code] ?? 409;
}

/** toError turns anything thrown by a handler into a status and the error body. */
export function toError(err: unknown): { status: ErrorStatus; body: ErrorBody } {
  if (err instanceof ApiError) {
    return { status: err.status, body: errorBody(err.code, err.message) };
  }
  if (err instanceof KanbanError) {
    return { status: statusOf(err), body: errorBody(err.code, err.message) };
  }
  const passing = transientReason(err);
  if (passing !== null) {
    return {
      status: 503,
      body: errorBody(
        "board_unavailable",
        "The board's database cannot be reached just now; try again shortly",
      ),
    };
  }
  // Internal details (stack, SQL) stay in the server's log, not in the response.
  return { status: 500, body: errorBody("internal", "Internal server error") };
}
