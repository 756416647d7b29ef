/**
 * A completion gate as people read it (gates.ts, docs/gates.md), shared by the CLI and the
 * dashboard (which bundles this file, so it imports nothing): the defaults that a gate's null
 * time limit and rounds stand for, and its argv written as one command line.
 */

/** The default time limit of a completion gate (ms). */
export const GATE_TIMEOUT_DEFAULT_MS = 600_000;
/** The rounds a completion gate sends a task back before it is blocked, unless configured. */
export const GATE_ROUNDS_DEFAULT = 3;

/**
 * argvText writes an argv as one line a shell would split back into it (lib/cli/shell_words.ts
 * does, for `--gate`): a word of only safe characters as it is, any other in single quotes.
 */
export function argvText(argv: readonly string[]): string {
  return argv.map((a) =>
    /^[A-Za-z0-9_@%+=:,./{}-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`
  )
    .join(" ");
}
