/**
 * The stats view's figures: the API's series (GET /api/v1/stats/series) turned into what each
 * plot draws and what each table lists. Pure functions, no DOM: the plots and the tables read
 * the same numbers, so the table is the plot's exact figures.
 */
import { COUNTED_FAILURES } from "../store/outcomes.ts";
import { compactCount, dollars } from "../store/usage_text.ts";
import type { SeriesData } from "./api.ts";

export type Bucket = SeriesData["buckets"][number];
export type ProfileRow = Bucket["profiles"][number];

/** The windows a person can pick, with the bucket each is read by. */
export const WINDOWS = [
  { since: "24h", bucket: "hour", text: "24 h" },
  { since: "7d", bucket: "day", text: "7 d" },
  { since: "30d", bucket: "day", text: "30 d" },
] as const;
export type WindowSince = (typeof WINDOWS)[number]["since"];

/**
 * Colours of the plots: custom properties of styles.css, so both themes have their own. Profiles
 * take the status colours in turn (distinct hues, readable on either background).
 */
export const PROFILE_COLORS = [
  "--s-ready",
  "--s-running",
  "--s-review",
  "--s-done",
  "--s-blocked",
  "--s-scheduled",
  "--s-archived",
  "--s-todo",
];

/** Outcomes drawn together: what a run came to, in four colours (the table keeps each one). */
export const OUTCOME_GROUPS = [
  { label: "completed", color: "--ok", outcomes: ["completed", "completed_by_human"] },
  { label: "blocked", color: "--warn", outcomes: ["blocked", "blocked_by_human"] },
  { label: "failed", color: "--danger", outcomes: [...COUNTED_FAILURES] as string[] },
  {
    label: "stopped",
    color: "--muted",
    outcomes: ["cancelled", "archived", "transient", "stopped"],
  },
] as const;

/** A series of one plot: its label, colour (a custom property) and one value per x. */
export interface PlotSeries {
  label: string;
  color: string;
  /** null: nothing known there (a gap, "–" in the legend). */
  values: (number | null)[];
}

/** profileName is how a profile reads on the page (runs claimed without one have none). */
export function profileName(p: string | null): string {
  return p ?? "(no profile)";
}

/** seconds is a bucket's start as uPlot's x (seconds since the epoch). */
export function xs(data: SeriesData): number[] {
  return data.buckets.map((b) => Date.parse(b.start) / 1000);
}

/** bucketText writes a bucket's start in UTC, as the table lists it: 2026-01-01 13:00. */
export function bucketText(start: string, bucket: SeriesData["bucket"]): string {
  return bucket === "day" ? start.slice(0, 10) : start.slice(0, 16).replace("T", " ");
}

/** exact writes a count with its every digit: 1,234,567. */
export function exact(n: number): string {
  return n.toLocaleString("en-US");
}

/** exactDollars writes a summed cost to the millionth it is kept to: $0.012345, $3.10. */
export function exactDollars(usd: number): string {
  const [whole, frac = ""] = usd.toFixed(6).split(".");
  return `$${whole}.${frac.replace(/0+$/, "").padEnd(2, "0")}`;
}

const UNITS: [string, number][] = [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]];

/**
 * waitText writes a wait in seconds the way people read it: 45s, 12m 5s, 3h 2m, 2d 4h (the
 * two largest units). With `exact`, every unit down to the millisecond: 3h 2m 5.25s.
 */
export function waitText(s: number | null, exact = false): string {
  if (s === null) return "–";
  const ms = Math.round(s * 1000);
  let rest = exact ? Math.floor(ms / 1000) : Math.round(s);
  const frac = exact ? (ms % 1000) / 1000 : 0;
  const parts: string[] = [];
  let first = -1;
  UNITS.forEach(([unit, size], i) => {
    // without `exact`: the largest unit and the one after it only ("3h", not "3h 5s")
    if (!exact && first >= 0 && i > first + 1) return;
    const n = Math.floor(rest / size);
    rest %= size;
    const value = unit === "s" ? (n * 1000 + frac * 1000) / 1000 : n;
    if (value === 0) return;
    parts.push(`${value}${unit}`);
    if (first < 0) first = i;
  });
  return parts.length === 0 ? "0s" : parts.join(" ");
}

/** tokensOf is a profile's in / cached / out (as usage.tsx splits them) and their sum. */
export function tokensOf(p: ProfileRow): { input: number; cached: number; output: number } {
  return {
    input: p.input_tokens + p.cache_write_tokens,
    cached: p.cache_read_tokens,
    output: p.output_tokens,
  };
}

export function totalOf(p: ProfileRow): number {
  const t = tokensOf(p);
  return t.input + t.cached + t.output;
}

/** perProfile makes one series per profile of the window from `value` (null: not known). */
export function perProfile(
  data: SeriesData,
  value: (p: ProfileRow) => number | null,
): PlotSeries[] {
  return data.profiles.map((name, i) => ({
    label: profileName(name),
    color: PROFILE_COLORS[i % PROFILE_COLORS.length]!,
    values: data.buckets.map((b) => {
      const row = b.profiles.find((p) => p.profile === name);
      return row === undefined ? null : value(row);
    }),
  }));
}

/** Totals of the whole window, for the view's summary line. */
export interface WindowTotals {
  finished: number;
  runs: number;
  runsWithUsage: number;
  tokens: number;
  /** null: no run reported a cost. */
  cost: number | null;
  runsWithCost: number;
}

export function windowTotals(data: SeriesData): WindowTotals {
  const t: WindowTotals = {
    finished: 0,
    runs: 0,
    runsWithUsage: 0,
    tokens: 0,
    cost: null,
    runsWithCost: 0,
  };
  for (const b of data.buckets) {
    t.finished += b.finished;
    for (const p of b.profiles) {
      t.runs += p.runs;
      t.runsWithUsage += p.runs_with_usage;
      t.tokens += totalOf(p);
      if (p.cost_usd !== null) t.cost = (t.cost ?? 0) + p.cost_usd;
      t.runsWithCost += p.runs_with_cost;
    }
  }
  if (t.cost !== null) t.cost = Math.round(t.cost * 1e6) / 1e6;
  return t;
}

/** One profile's runs of the whole window by outcome. */
export interface OutcomeRow {
  profile: string | null;
  runs: number;
  outcomes: Record<string, number>;
}

/** outcomeRows sums each profile's outcomes over the window, in the window's profile order. */
export function outcomeRows(data: SeriesData): OutcomeRow[] {
  return data.profiles.map((profile) => {
    const row: OutcomeRow = { profile, runs: 0, outcomes: {} };
    for (const b of data.buckets) {
      const p = b.profiles.find((x) => x.profile === profile);
      if (p === undefined) continue;
      row.runs += p.runs;
      for (const [o, n] of Object.entries(p.outcomes)) {
        row.outcomes[o] = (row.outcomes[o] ?? 0) + (n ?? 0);
      }
    }
    return row;
  });
}

/** outcomeSeries is one series per group of outcomes, one value per profile. */
export function outcomeSeries(rows: OutcomeRow[]): PlotSeries[] {
  return OUTCOME_GROUPS.map((g) => ({
    label: g.label,
    color: g.color,
    values: rows.map((r) => g.outcomes.reduce((n, o) => n + (r.outcomes[o] ?? 0), 0)),
  }));
}

/** outcomesSeen lists the outcomes that occurred, in the groups' order (the table's columns). */
export function outcomesSeen(rows: OutcomeRow[]): string[] {
  const seen = new Set(rows.flatMap((r) => Object.keys(r.outcomes)));
  const order: string[] = OUTCOME_GROUPS.flatMap((g) => g.outcomes);
  return [...order.filter((o) => seen.has(o)), ...[...seen].filter((o) => !order.includes(o))];
}

/** The (bucket, profile) pairs that had runs, oldest first: the usage tables' rows. */
export function usageRows(data: SeriesData): { start: string; row: ProfileRow }[] {
  return data.buckets.flatMap((b) => b.profiles.map((row) => ({ start: b.start, row })));
}

/** Steps of a y axis of counts: never half a task. */
export const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6];
/** Steps of a y axis of waits (seconds): 30s, 1m, 5m, 15m, 1h, 6h, 1d, ... */
export const WAIT_STEPS = [
  1,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
  900,
  1800,
  3600,
  7200,
  10_800,
  21_600,
  43_200,
  86_400,
  172_800,
  604_800,
  2_592_000,
];

/** axisDollars writes a cost on an axis, short: $0.25, $0.0025, $12. */
export function axisDollars(usd: number): string {
  if (usd === 0) return "$0";
  const digits = usd >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(usd)) + 1);
  return `$${Number(usd.toFixed(digits))}`;
}

/** compact writes a plotted value for the axis and the legend. */
export const compact = (v: number) => compactCount(Math.round(v));
export const cost = (v: number) => dollars(v);
