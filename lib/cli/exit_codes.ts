/**
 * The CLI's one table from error codes to process exit codes. Errors carry only a `code`
 * (lib/errors.ts); how a failure ends the process is the CLI's business, so it is decided here
 * and nowhere else: 2 for a mistake in how kanban was called (bad input, a bad config file, a
 * wrong option), 1 for everything refused or failed.
 */

/** The codes that mean "you called it wrong": exit code 2, as usage errors conventionally do. */
const USAGE_CODES: ReadonlySet<string> = new Set(["usage", "invalid_input", "config"]);

/** exitCodeOf is the exit code for a failure with error code `code`. */
export function exitCodeOf(code: string): 1 | 2 {
  return USAGE_CODES.has(code) ? 2 : 1;
}
