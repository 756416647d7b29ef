/**
 * The CLI's one table from error codes to process exit codes. Errors carry only a `code`
 * (lib/errors.ts); how a failure ends the process is the CLI's business, so it is decided here
 * and nowhere else: 2 for a mistake in how kanban was called (bad input, a bad config file, a
 * wrong option), 3 for a worker's report that could not reach the board within its lease (it
 * was saved for the dispatcher: the worker should stop), 1 for everything else refused or failed.
 */

/** The codes that mean "you called it wrong": exit code 2, as usage errors conventionally do. */
const USAGE_CODES: ReadonlySet<string> = new Set(["usage", "invalid_input", "config"]);

/** The exit code of a report that could not be delivered (`undelivered`), distinct from 1. */
export const UNDELIVERED_EXIT = 3;

/** exitCodeOf is the exit code for a failure with error code `code`. */
export function exitCodeOf(code: string): 1 | 2 | 3 {
  if (code === "undelivered") return UNDELIVERED_EXIT;
  return USAGE_CODES.has(code) ? 2 : 1;
}
