/** Parsers for CLI values (durations, times, priorities, JSON). Errors are usage errors. */
import { priorityFromText } from "../store/priority.ts";
import { InvalidArgumentError } from "@commander-js/extra-typings";
import * as duration from "../config/duration.ts";
import { shellWords } from "./shell_words.ts";

/** usage runs a parser of lib/config/duration.ts, its errors becoming usage errors. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/**
 * parseGate reads a completion gate's command line (`--gate "make check"`) into its argv, split
 * as a shell would split it, with no shell to run it (shell_words.ts).
 */
export function parseGate(text: string): string[] {
  const argv = usage(() => shellWords(text));
  if (argv.length === 0) throw new InvalidArgumentError("the gate's command is empty");
  return argv;
}

/** parseDuration reads `90`, `90s`, `30m`, `1h30m`, `2d` as seconds (a usage error if not). */
export function parseDuration(text: string): number {
  return usage(() => duration.parseDuration(text));
}

/** parseTime reads an ISO 8601 time, or `+DURATION` / `in DURATION` from `now`, as epoch ms. */
export function parseTime(text: string, now: number): number {
  return usage(() => duration.parseTime(text, now));
}

/** parseSince reads `24h` (that long ago) or a time, as epoch ms: the start of a window. */
export function parseSince(text: string, now: number): number {
  return usage(() => duration.parseSince(text, now));
}

/** parsePriority reads an integer (higher runs first) or low|normal|high|urgent. */
export function parsePriority(text: string): number {
  const p = priorityFromText(text);
  if (p !== null) return p;
  throw new InvalidArgumentError(
    `"${text}" is not a priority (an integer, or low, normal, high, urgent)`,
  );
}

/** parseJsonObject reads a JSON object (metadata); anything else is a usage error. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} must be a JSON object, like {"key": "value"}`);
  }
  return value as Record<string, unknown>;
}

/**
 * collect makes a repeatable option accumulate its values. An option with a `--no-` twin starts
 * again after it (`--no-needs --needs gpu` is just gpu): Commander then passes `false`.
 */
export function collect(value: string, previous: string[] | boolean = []): string[] {
  return [...(Array.isArray(previous) ? previous : []), value];
}

/** parseCount reads a whole number (a count: rounds, limits); anything else is a usage error. */
export function parseCount(text: string): number {
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  throw new InvalidArgumentError(`"${text}" is not a whole number`);
}
