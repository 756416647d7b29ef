/**
 * Reading a failed run's output for the account trouble behind it: a rate limit, an exhausted
 * quota or an authentication failure, with the reset time the CLI reported when it reported one.
 * These are the generic patterns, used for custom `command` profiles and by any preset that has
 * no classifier of its own; they look only at the tail of the output of a run that exited
 * non-zero, so a task whose work merely mentions "quota" is not mistaken for one.
 */

import type { HoldKind } from "../store/mod.ts";

/** What kind of account trouble ended a run (the kinds of a profile's hold). */
export type FailureKind = HoldKind;

/** A run's failure read as account trouble. */
export interface FailureClass {
  kind: FailureKind;
  /** When the CLI said the limit resets (ms since the epoch); absent when it said nothing. */
  reset_at?: number;
  /** The line that showed it, trimmed, for a person to read. */
  message: string;
}

/** How many of the output's last lines are read. */
export const TAIL_LINES = 30;

const AUTH =
  /\b401\b|unauthori[sz]ed|invalid[ _-]?(?:x-)?api[ _-]?key|incorrect api key|authentication[ _-]?(?:failed|error)|not logged in|invalid[ _]credentials/i;
const QUOTA =
  /quota (?:exceeded|exhausted|reached)|exceeded (?:your |the )?(?:current |daily |monthly )?quota|insufficient_quota|check quota|out of quota|usage limit|(?<!rate[ _-]?)limit reached|resource[ _]exhausted|credit balance is too low|out of credits/i;
const RATE = /\b429\b|rate[ _-]?limit|too many requests/i;

/** The kinds in the order they are tried: a 401 beside a 429 is still an auth failure. */
const PATTERNS: readonly [FailureKind, RegExp][] = [["auth", AUTH], ["quota", QUOTA], [
  "rate_limit",
  RATE,
]];

/**
 * classifyFailure reads the tail of a run's output (stdout and stderr, line by line) and its exit
 * code; null when the run exited 0 or its output shows no rate limit, quota or auth failure.
 */
export function classifyFailure(
  lines: readonly string[],
  exitCode: number | null,
  now: number,
): FailureClass | null {
  if (exitCode === 0) return null;
  const tail = lines.slice(-TAIL_LINES);
  for (const [kind, pattern] of PATTERNS) {
    const line = tail.findLast((l) => pattern.test(l));
    if (line === undefined) continue;
    const found: FailureClass = { kind, message: excerpt(line, pattern) };
    if (kind !== "auth") {
      const reset = resetAt(tail.join("\n"), now);
      if (reset !== undefined) found.reset_at = reset;
    }
    return found;
  }
  return null;
}

/**
 * excerpt shortens a line to what a person reads in a reason: at most 200 characters, starting a
 * little before the match when the line is longer (a JSON event's error sits deep in it).
 */
function excerpt(line: string, pattern: RegExp): string {
  const one = line.trim().replace(/\s+/g, " ");
  if (one.length <= 200) return one;
  const start = Math.max(0, one.search(pattern) - 60);
  const cut = one.slice(start, start + 199) + "…";
  return start > 0 ? "…" + cut.slice(1) : cut;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** unitMs maps "seconds", "min", "h" and the like to milliseconds (none: seconds). */
function unitMs(unit: string | undefined): number {
  if (!unit) return 1000;
  const u = unit.toLowerCase();
  if (u === "ms" || u.startsWith("milli")) return UNIT_MS.ms!;
  return UNIT_MS[u[0]!] ?? 1000;
}

/**
 * resetAt finds the reset time in text: a delay ("retry-after: 30", "try again in 5 minutes",
 * "resets_in_seconds": 90), an ISO time, epoch seconds ("reset_at": 1765000000) or a time of day
 * ("resets 3pm", "resets at 15:30", the next such time after now, in local time).
 */
export function resetAt(text: string, now: number): number | undefined {
  const delay = text.match(
    /(?:retry[- ]after|try again in|retry in|resets? in|resets?_in_seconds"?)\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)?\b/i,
  );
  if (delay) return now + Math.round(Number(delay[1]) * unitMs(delay[2]));
  const iso = text.match(
    /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/,
  );
  if (iso) {
    const at = Date.parse(iso[0]);
    if (Number.isFinite(at) && at > now) return at;
  }
  const epoch = text.match(/resets?_?at"?\s*[:=]\s*(\d{10})\b/i);
  if (epoch) return Number(epoch[1]) * 1000;
  const clock = text.match(/resets?(?: at)?\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b/i);
  if (clock && (clock[2] !== undefined || clock[3] !== undefined)) return nextClock(clock, now);
  return undefined;
}

/** nextClock is the next local time after now at the matched hour, minute and am/pm. */
function nextClock(m: RegExpMatchArray, now: number): number | undefined {
  let hour = Number(m[1]);
  const minute = m[2] === undefined ? 0 : Number(m[2]);
  const half = m[3]?.toLowerCase();
  if (half && (hour < 1 || hour > 12)) return undefined;
  if (half === "pm" && hour !== 12) hour += 12;
  if (half === "am" && hour === 12) hour = 0;
  if (hour > 23 || minute > 59) return undefined;
  const at = new Date(now);
  at.setHours(hour, minute, 0, 0);
  if (at.getTime() <= now) at.setDate(at.getDate() + 1);
  return at.getTime();
}

export { HOLD_BACKOFF, holdBackoffMs } from "../store/mod.ts";

/** Anything that may read a CLI's failures its own way (a preset). */
export interface Classifier {
  classifyFailure?(
    lines: readonly string[],
    exitCode: number | null,
    now: number,
  ): FailureClass | null;
}

/**
 * classifyRun reads a failed run with its preset's classifier, then with the generic patterns
 * when the preset has none or found nothing; `preset` is undefined for a `command` profile.
 */
export function classifyRun(
  preset: Classifier | undefined,
  lines: readonly string[],
  exitCode: number | null,
  now: number,
): FailureClass | null {
  return preset?.classifyFailure?.(lines, exitCode, now) ?? classifyFailure(lines, exitCode, now);
}

/** A CLI's notice that it retries (or reconnects, or makes another attempt). */
const RETRY_NOTICE = /\bretr(?:y|ying|ies)\b|\bretry_|\battempt\b|\breconnecting\b/i;

/** Lines longer than this are a tool's output or a model's text, never a retry notice. */
const NOTICE_MAX_CHARS = 2_000;

/**
 * classifyLive reads the end of a running worker's output for a CLI stuck retrying a rate limit,
 * an exhausted quota or a failed sign-in: its last lines are retry notices, at least `retries`
 * of them naming the trouble (the dispatch key quota_retries), with nothing else after them
 * (blank lines aside). Several CLIs retry a 429 or a 401 for many minutes rather than exit
 * (Claude Code, Gemini CLI and Qwen Code back off up to ten times); the worker is stopped then
 * and its profile held, as if it had exited on it. Both conditions keep a worker that merely
 * prints about quotas, once or in its work, running.
 */
export function classifyLive(
  lines: readonly string[],
  retries: number,
  now: number,
): FailureClass | null {
  const block: string[] = [];
  let seen = 0;
  for (let i = lines.length - 1; i >= 0 && block.length < TAIL_LINES; i--) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    if (line.length > NOTICE_MAX_CHARS || !RETRY_NOTICE.test(line)) break;
    block.unshift(line);
    if (PATTERNS.some(([, p]) => p.test(line))) seen++;
  }
  return seen >= retries ? classifyFailure(block, null, now) : null;
}

/** describeFailure says what a run met, as a run's error and a task's history read it. */
export function describeFailure(f: FailureClass): string {
  const what = f.kind === "auth"
    ? "authentication failed"
    : f.kind === "quota"
    ? "quota exhausted"
    : "rate limited";
  return `${what}: ${f.message}`;
}
