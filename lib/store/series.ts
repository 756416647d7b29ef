/**
 * Series: the board's work and cost over time, in buckets of an hour or a day (UTC), for the
 * dashboard's plots. Per bucket: the tasks that finished (entered done), the runs that ended
 * by profile with their outcomes and usage, and how long the runs that started had waited in
 * ready. Every bucket of the window is present, empty ones as zeros, so a plot's x axis is
 * continuous; a window holds at most MAX_BUCKETS buckets.
 */
import type { Kernel } from "./_kernel.ts";
import { iso } from "./_rows.ts";
import { ValidationError } from "./errors.ts";
import type { BucketRunsRow, BucketWindow } from "./driver/reads.ts";
import { addUsage, type UsageTotals, zeroUsage } from "./usage_stats.ts";

export const BUCKETS = ["hour", "day"] as const;
export type Bucket = (typeof BUCKETS)[number];
const BUCKET_MS: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000 };

/** The most buckets one series holds (30 days by the hour is 721). */
export const MAX_BUCKETS = 1000;

export interface SeriesFilter {
  /** Epoch ms: the window starts at the start of the bucket this falls in. */
  since: number;
  bucket: Bucket;
  tenant?: string | undefined;
}

/** Waits in ready, in seconds: the median (nearest rank) and the longest, null with none. */
export interface Waits {
  /** How many waits the figures cover. */
  count: number;
  p50_s: number | null;
  max_s: number | null;
}

/** What one profile's runs that ended in a bucket did and used. */
export interface ProfileBucket extends UsageTotals {
  profile: string | null;
  /** Those runs by outcome (only the outcomes that occurred). */
  outcomes: Record<string, number>;
}

export interface SeriesBucket {
  /** The bucket's start (UTC, on the hour or at midnight). */
  start: string;
  /** Tasks whose completion (entering done) falls in the bucket. */
  finished: number;
  /** How long the runs that started in the bucket had waited in ready. */
  queue_age: Waits;
  /** The runs that ended in the bucket, per profile, busiest first (none: empty). */
  profiles: ProfileBucket[];
}

export interface Series {
  /** The start of the first bucket; `until` is now, inside the last one. */
  since: string;
  until: string;
  bucket: Bucket;
  /** Every profile with a run that ended in the window, most runs first (null: no profile). */
  profiles: (string | null)[];
  buckets: SeriesBucket[];
  /** How long the tasks ready now have waited so far. */
  ready_now: Waits;
}

/** The window the driver reads (with its tenant), and how many buckets it holds. */
interface Layout extends BucketWindow {
  count: number;
}

/** layout checks the filter and lays out the buckets; the error names what was wrong. */
function layout(k: Kernel, f: SeriesFilter): Layout {
  if (!(BUCKETS as readonly string[]).includes(f.bucket)) {
    throw new ValidationError(`Unknown bucket "${f.bucket}" (use ${BUCKETS.join(" or ")})`);
  }
  if (!Number.isSafeInteger(f.since) || Number.isNaN(new Date(f.since).getTime())) {
    throw new ValidationError(`since ${f.since} is not a time (epoch milliseconds)`);
  }
  const now = k.now();
  if (f.since > now) throw new ValidationError(`since ${iso(f.since)} is in the future`);
  const size = BUCKET_MS[f.bucket];
  const first = Math.floor(f.since / size);
  const count = Math.floor(now / size) - first + 1;
  if (count > MAX_BUCKETS) {
    throw new ValidationError(
      `since ${iso(f.since)} by the ${f.bucket} makes ${count} buckets (at most ` +
        `${MAX_BUCKETS}): choose a later since${f.bucket === "hour" ? " or bucket=day" : ""}`,
    );
  }
  return { origin: first * size, size, count, now, tenant: f.tenant ?? null };
}

function emptyProfile(profile: string | null): ProfileBucket {
  return { profile, ...zeroUsage(), outcomes: {} };
}

/** addRuns adds one (bucket, profile, outcome) group to the profile's totals. */
function addRuns(p: ProfileBucket, r: BucketRunsRow): void {
  p.outcomes[r.outcome] = (p.outcomes[r.outcome] ?? 0) + r.runs;
  addUsage(p, r);
}

/** waits sums up waits in ms as seconds (to the millisecond). */
function waits(ms: number[]): Waits {
  if (ms.length === 0) return { count: 0, p50_s: null, max_s: null };
  const sorted = [...ms].sort((a, b) => a - b);
  const s = (v: number) => Math.round(Math.max(0, v)) / 1000;
  return {
    count: sorted.length,
    p50_s: s(sorted[Math.ceil(sorted.length / 2) - 1]!),
    max_s: s(sorted[sorted.length - 1]!),
  };
}

/** finished counts the tasks that entered done in each bucket (and are done or archived). */
async function finished(k: Kernel, w: Layout): Promise<Map<number, number>> {
  return new Map((await k.q.finishedPerBucket(w)).map((r) => [r.b, r.n]));
}

/**
 * endedRuns groups the runs that ended in each bucket by profile, with their outcomes and
 * usage, and lists the profiles busiest first.
 */
async function endedRuns(
  k: Kernel,
  w: Layout,
): Promise<{ order: (string | null)[]; perBucket: ProfileBucket[][] }> {
  const perBucket = Array.from({ length: w.count }, () => new Map<string | null, ProfileBucket>());
  const totals = new Map<string | null, number>();
  for (const r of await k.q.endedRunsPerBucket(w)) {
    const m = perBucket[r.b]!;
    const p = m.get(r.profile) ?? emptyProfile(r.profile);
    addRuns(p, r);
    m.set(r.profile, p);
    totals.set(r.profile, (totals.get(r.profile) ?? 0) + r.runs);
  }
  const order = [...totals].sort(([a, x], [b, y]) =>
    y - x || (a ?? "\uffff").localeCompare(b ?? "\uffff")
  ).map(([p]) => p);
  return {
    order,
    perBucket: perBucket.map((m) =>
      order.filter((p) => m.has(p)).map((p) => {
        const v = m.get(p)!;
        // sums of binary fractions: to a millionth of a dollar, as usage_stats.ts does
        return v.cost_usd === null ? v : { ...v, cost_usd: Math.round(v.cost_usd * 1e6) / 1e6 };
      })
    ),
  };
}

/** queueAges lists, per bucket, how long each run that started in it had waited in ready (ms). */
async function queueAges(k: Kernel, w: Layout): Promise<number[][]> {
  const started = Array.from({ length: w.count }, (): number[] => []);
  for (const r of await k.q.runStartsInWindow(w)) {
    if (r.ready === null) continue; // its events were pruned: the wait is unknown
    started[Math.floor((r.started - w.origin) / w.size)]!.push(r.started - r.ready);
  }
  return started;
}

/** readyNow is how long each task ready now has waited since it last entered ready (ms). */
async function readyNow(k: Kernel, w: Layout): Promise<number[]> {
  return (await k.q.readySince(w.tenant)).map((since) => w.now - since);
}

/**
 * series reads the window's buckets (see the module doc); `ValidationError` names a bad
 * bucket, a `since` in the future, or a window of more than MAX_BUCKETS buckets.
 */
export async function series(k: Kernel, f: SeriesFilter): Promise<Series> {
  const w = layout(k, f);
  const done = await finished(k, w);
  const runs = await endedRuns(k, w);
  const ages = await queueAges(k, w);
  const ready = await readyNow(k, w);
  return {
    since: iso(w.origin),
    until: iso(w.now),
    bucket: f.bucket,
    profiles: runs.order,
    buckets: Array.from({ length: w.count }, (_, i) => ({
      start: iso(w.origin + i * w.size),
      finished: done.get(i) ?? 0,
      queue_age: waits(ages[i]!),
      profiles: runs.perBucket[i]!,
    })),
    ready_now: waits(ready),
  };
}
