/** Durations and sizes as people write them in flags and config: `90s`, `1h30m`, `10MB`. */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * The longest duration parseDuration accepts: 100 years, so that any time a duration is
 * added to (a deadline, a lease) is still a valid date and its milliseconds a safe integer.
 * Settings have tighter limits of their own (lib/config/config.ts).
 */
export const MAX_DURATION_SECONDS = 100 * 365 * 86400;

/**
 * The longest timer JavaScript runs (2^31-1 ms, about 24.8 days): a longer setTimeout fires
 * at once. A duration that feeds a timer must stay at or under it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * parseDuration reads `90`, `90s`, `30m`, `1h30m`, `2d` as whole seconds (> 0, at most
 * MAX_DURATION_SECONDS).
 */
export function parseDuration(text: string): number {
  const s = text.trim().toLowerCase();
  let seconds = Number.NaN;
  if (/^\d+$/.test(s)) seconds = Number(s);
  else {
    const parts = [...s.matchAll(/(\d+)([smhdw])/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join("") === s) {
      seconds = parts.reduce((n, p) => n + Number(p[1]) * UNIT_SECONDS[p[2]!]!, 0);
    }
  }
  if (Number.isNaN(seconds)) {
    throw new RangeError(`"${text}" is not a duration (like 90s, 30m, 1h30m, 2d)`);
  }
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new RangeError(`"${text}" is not a positive duration`);
  }
  if (seconds > MAX_DURATION_SECONDS) {
    throw new RangeError(
      `"${text}" is longer than the maximum ${formatDuration(MAX_DURATION_SECONDS)}`,
    );
  }
  return seconds;
}

/**
 * formatDuration writes whole seconds the way parseDuration reads them, largest units first:
 * 90 -> `1m30s`, 86400 -> `1d`, 0 -> `0s`.
 */
export function formatDuration(seconds: number): string {
  let rest = Math.floor(seconds);
  let out = "";
  for (const [unit, n] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${unit}`;
      rest %= n;
    }
  }
  return out || "0s";
}

/**
 * parseTime reads an ISO 8601 date or date-time, or `+DURATION` / `in DURATION` relative to
 * `now`, as epoch milliseconds.
 */
export function parseTime(text: string, now: number): number {
  const s = text.trim();
  const rel = /^(?:\+|in\s+)(.+)$/i.exec(s);
  if (rel) return now + parseDuration(rel[1]!) * 1000;
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.test(s)) {
    const ms = Date.parse(s);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new RangeError(`"${text}" is not a time (use ISO 8601 like 2026-12-01T09:00Z, or +2h)`);
}

/**
 * parseSince reads the start of a window that ends now: a duration (`24h`, `7d`) means that
 * long ago, anything else is a time as parseTime reads it. Returns epoch ms.
 */
export function parseSince(text: string, now: number): number {
  let seconds: number | null = null;
  try {
    seconds = parseDuration(text);
  } catch {
    // not a duration: a time
  }
  if (seconds !== null) {
    const ms = now - seconds * 1000;
    if (Number.isNaN(new Date(ms).getTime())) {
      throw new RangeError(`"${text}" reaches back further than any date`);
    }
    return ms;
  }
  try {
    return parseTime(text, now);
  } catch {
    throw new RangeError(
      `"${text}" is not a duration or a time (use 24h, 7d, or ISO 8601 like 2026-12-01T09:00Z)`,
    );
  }
}

const UNIT_BYTES: Record<string, number> = { "": 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** formatSize writes bytes the way parseSize reads them, when exact: 1024 -> `1KB`. */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes}B`;
}

/** parseSize reads `4096`, `512KB`, `10MB`, `1GB` (powers of 1024) as bytes (> 0). */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([kmg]?b?)$/i.exec(text.trim());
  const n = m ? Number(m[1]) * UNIT_BYTES[m[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`"${text}" is not a size (like 512KB, 10MB)`);
  }
  return n;
}
