/**
 * Cron expressions for routines (lib/store/routines.ts): the five fields (minute, hour, day of
 * month, month, day of week) and the `@hourly`-style shorthands, read in an IANA time zone.
 *
 * Occurrences are wall-clock times in the routine's zone, found by walking real instants (UTC
 * minutes) and reading each one's local fields, so a daylight-saving change is handled by the
 * zone's own rules: a local time the change skips (02:30 when clocks go from 02:00 to 03:00)
 * does not occur that day; a local time the change repeats (01:30 when clocks go back) occurs
 * once, the first time. As in classic cron, when both day of month and day of week are
 * restricted (neither is `*`), a day matching either one matches.
 */
import { ValidationError } from "./errors.ts";

/** A parsed cron expression: the values each field allows. */
export interface Cron {
  /** The expression as given (trimmed). */
  source: string;
  minute: ReadonlySet<number>;
  hour: ReadonlySet<number>;
  dom: ReadonlySet<number>;
  month: ReadonlySet<number>;
  /** Days of week, 0 (Sunday) to 6. */
  dow: ReadonlySet<number>;
  /** Whether day of month and day of week were `*` (classic cron's either-day rule). */
  domAny: boolean;
  dowAny: boolean;
}

const FIELDS = [
  { name: "minute", min: 0, max: 59, names: [] as string[] },
  { name: "hour", min: 0, max: 23, names: [] as string[] },
  { name: "day of month", min: 1, max: 31, names: [] as string[] },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
] as const;

const SHORTHANDS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** How far ahead an occurrence is looked for before a cron is said never to occur. */
const HORIZON_MS = 5 * 366 * 86_400_000;

/** parseCron reads a cron expression; a ValidationError names the field that is wrong. */
export function parseCron(expression: string): Cron {
  const source = expression.trim();
  const expanded = SHORTHANDS[source.toLowerCase()] ?? source;
  const parts = expanded.split(/\s+/).filter((p) => p !== "");
  const bad = (detail: string) => new ValidationError(`Invalid cron "${source}": ${detail}`);
  if (source.startsWith("@") && SHORTHANDS[source.toLowerCase()] === undefined) {
    throw bad(`unknown shorthand (known: ${Object.keys(SHORTHANDS).join(", ")})`);
  }
  if (parts.length !== 5) {
    throw bad(
      `${parts.length} fields; a cron has 5: minute hour day-of-month month day-of-week ` +
        '(e.g. "0 9 * * 1-5")',
    );
  }
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]!, bad));
  const dow = new Set([...sets[4]!].map((d) => d % 7));
  return {
    source,
    minute: sets[0]!,
    hour: sets[1]!,
    dom: sets[2]!,
    month: sets[3]!,
    dow,
    domAny: parts[2] === "*" || parts[2] === "?",
    dowAny: parts[4] === "*" || parts[4] === "?",
  };
}

function parseField(
  text: string,
  f: typeof FIELDS[number],
  bad: (detail: string) => ValidationError,
): Set<number> {
  const out = new Set<number>();
  const where = `field ${FIELDS.indexOf(f) + 1} (${f.name}) "${text}"`;
  const value = (s: string): number => {
    const named = (f.names as readonly string[]).indexOf(s.toLowerCase());
    if (named >= 0) return named + (f.name === "month" ? 1 : 0);
    if (!/^\d+$/.test(s)) {
      throw bad(`${where}: "${s}" is not a number${f.names.length > 0 ? " or a name" : ""}`);
    }
    const n = Number(s);
    if (n < f.min || n > f.max) throw bad(`${where}: ${n} is out of range ${f.min}-${f.max}`);
    return n;
  };
  for (const item of text.split(",")) {
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined || range === undefined || range === "") {
      throw bad(`${where}: malformed`);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw bad(`${where}: step "${stepText}" is not a positive number`);
      }
      step = Number(stepText);
    }
    let lo: number, hi: number;
    if (range === "*" || range === "?") {
      lo = f.min;
      hi = f.name === "day of week" ? 6 : f.max;
    } else if (range.includes("-")) {
      const [a, b, more] = range.split("-");
      if (more !== undefined || !a || !b) throw bad(`${where}: malformed range "${range}"`);
      lo = value(a);
      hi = value(b);
      if (lo > hi) throw bad(`${where}: range ${range} runs backwards`);
    } else {
      lo = value(range);
      hi = stepText !== undefined ? (f.name === "day of week" ? 6 : f.max) : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * checkTimeZone returns the zone's canonical IANA name, or throws a ValidationError naming it
 * when the runtime does not know it.
 */
export function checkTimeZone(tz: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new ValidationError(
      `Unknown time zone "${tz}": give an IANA name such as "Europe/Paris", ` +
        '"America/New_York" or "UTC"',
    );
  }
}

/** hostTimeZone is this host's IANA time zone (UTC when the runtime cannot tell). */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

interface Local {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  dow: number;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function local(tz: string, at: number): Local {
  let f = formats.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
    formats.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(at)) p[part.type] = part.value;
  return {
    y: Number(p["year"]),
    mo: Number(p["month"]),
    d: Number(p["day"]),
    h: Number(p["hour"]) % 24,
    mi: Number(p["minute"]),
    dow: WEEKDAYS.indexOf(p["weekday"] ?? ""),
  };
}

function dayMatches(c: Cron, l: Local): boolean {
  if (!c.month.has(l.mo)) return false;
  const dom = c.dom.has(l.d);
  const dow = c.dow.has(l.dow);
  if (!c.domAny && !c.dowAny) return dom || dow;
  return dom && dow;
}

const same = (a: Local, b: Local) =>
  a.y === b.y && a.mo === b.mo && a.d === b.d && a.h === b.h && a.mi === b.mi;

const MINUTE = 60_000;

/**
 * nextOccurrence is the first occurrence of `cron` in zone `tz` strictly after `after` (ms),
 * or null when there is none within five years (e.g. "0 0 30 2 *").
 */
export function nextOccurrence(cron: Cron, tz: string, after: number): number | null {
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const end = after + HORIZON_MS;
  // Bounded: each step moves at least a minute, and at most a few per hour, day and month.
  for (let steps = 0; t <= end && steps < 1_000_000; steps++) {
    const l = local(tz, t);
    if (!dayMatches(cron, l)) {
      // to the next local midnight, an hour early in case a DST change shortens the day
      const toMidnight = ((23 - l.h) * 60 + (60 - l.mi)) * MINUTE;
      t += toMidnight > 60 * MINUTE ? toMidnight - 60 * MINUTE : toMidnight;
      continue;
    }
    if (!cron.hour.has(l.h)) {
      t += (60 - l.mi) * MINUTE;
      continue;
    }
    if (!cron.minute.has(l.mi)) {
      let m = l.mi + 1;
      while (m < 60 && !cron.minute.has(m)) m++;
      t += (m - l.mi) * MINUTE;
      continue;
    }
    // a wall time a DST change repeats occurs once: skip its second instant
    if (same(local(tz, t - 60 * MINUTE), l) || same(local(tz, t - 30 * MINUTE), l)) {
      t += MINUTE;
      continue;
    }
    return t;
  }
  return null;
}

/** localText shows an instant as a wall-clock time in `tz`: "2026-03-29 09:00 Europe/Paris". */
export function localText(tz: string, at: number): string {
  const l = local(tz, at);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${l.y}-${p(l.mo)}-${p(l.d)} ${p(l.h)}:${p(l.mi)} ${tz}`;
}
