/**
 * Series: the board's work and cost over time, in buckets of an hour or a day (UTC), for the
 * dashboard's plots. Per bucket: the tasks that finished (entered done), the runs that ended
 * by profile with their outcomes and usage, and how long the runs that started had waited in
 * ready. Every bucket of the window is present, empty ones as zeros, so a plot's x axis is
 * continuous; a window holds at most MAX_BUCKETS buckets.
 *
 * A few grouped queries over indexes that exist: finished tasks through `tasks_board` (or
 * `tasks_tenant`), ended runs through `task_runs_ended`, open runs through
 * `task_runs_one_open`, and each run's wait through its task's events (`task_events_task`).
 */
import type { Kernel } from "./_kernel.ts";
import { iso } from "./_rows.ts";
import { ValidationError } from "./errors.ts";
import {
  addUsage,
  USAGE_SUMS,
  type UsageSumsRow,
  type UsageTotals,
  zeroUsage,
} from "./usage_stats.ts";

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

interface Layout {
  origin: number;
  size: number;
  count: number;
  now: number;
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
  return { origin: first * size, size, count, now };
}

/** The bucket a time column falls in (times before `origin` never get here). */
const BUCKET_OF = (col: string) => `CAST((${col} - ?) / ? AS INTEGER)`;

interface RunRow extends UsageSumsRow {
  b: number;
  profile: string | null;
  outcome: string;
}

function emptyProfile(profile: string | null): ProfileBucket {
  return { profile, ...zeroUsage(), outcomes: {} };
}

/** addRuns adds one (bucket, profile, outcome) group to the profile's totals. */
function addRuns(p: ProfileBucket, r: RunRow): void {
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

/**
 * When a task last entered ready before its run `r` was claimed: the newest event that moved
 * it to ready ahead of the run's `claimed` event (null when those events were pruned).
 */
const READY_BEFORE_CLAIM = `(SELECT e.at FROM task_events e
  WHERE e.task_id = r.task_id AND e.data ->> '$.to' = 'ready' AND e.id < (
    SELECT c.id FROM task_events c
    WHERE c.task_id = r.task_id AND c.run_id = r.id AND c.kind = 'claimed')
  ORDER BY e.id DESC LIMIT 1)`;

/** The query parts that narrow runs or tasks to the filter's tenant (nothing without one). */
interface Scope {
  join: string;
  and: string;
  params: string[];
}

function scope(f: SeriesFilter, alias: string): Scope {
  if (f.tenant === undefined) return { join: "", and: "", params: [] };
  return {
    join: alias === "t" ? "" : "JOIN tasks t ON t.id = r.task_id",
    and: "AND t.tenant = ?",
    params: [f.tenant],
  };
}

/** finished counts the tasks that entered done in each bucket (and are done or archived). */
function finished(k: Kernel, w: Layout, s: Scope): Map<number, number> {
  const rows = k.db.all<{ b: number; n: number }>(
    `SELECT ${BUCKET_OF("t.completed_at")} AS b, count(*) AS n FROM tasks t
     WHERE t.status IN ('done', 'archived') AND t.completed_at >= ? AND t.completed_at <= ?
     ${s.and} GROUP BY b`,
    w.origin,
    w.size,
    w.origin,
    w.now,
    ...s.params,
  );
  return new Map(rows.map((r) => [r.b, r.n]));
}

/**
 * endedRuns groups the runs that ended in each bucket by profile, with their outcomes and
 * usage, and lists the profiles busiest first.
 */
function endedRuns(
  k: Kernel,
  w: Layout,
  s: Scope,
): { order: (string | null)[]; perBucket: ProfileBucket[][] } {
  const perBucket = Array.from({ length: w.count }, () => new Map<string | null, ProfileBucket>());
  const totals = new Map<string | null, number>();
  for (
    const r of k.db.all<RunRow>(
      `SELECT ${
        BUCKET_OF("r.ended_at")
      } AS b, r.profile AS profile, r.outcome AS outcome, ${USAGE_SUMS}
       FROM task_runs r ${s.join} WHERE r.ended_at >= ? AND r.ended_at <= ? ${s.and}
       GROUP BY b, r.profile, r.outcome`,
      w.origin,
      w.size,
      w.origin,
      w.now,
      ...s.params,
    )
  ) {
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

/**
 * queueAges lists, per bucket, how long each run that started in it had waited in ready (ms).
 * Those runs ended in the window or are still open (a run ends after it starts): the two
 * indexes find them without reading older runs.
 */
function queueAges(k: Kernel, w: Layout, s: Scope): number[][] {
  const started = Array.from({ length: w.count }, (): number[] => []);
  for (
    const r of k.db.all<{ started: number; ready: number | null }>(
      `SELECT r.started_at AS started, ${READY_BEFORE_CLAIM} AS ready FROM task_runs r ${s.join}
       WHERE r.ended_at >= ? AND r.started_at >= ? AND r.started_at <= ? ${s.and}
       UNION ALL
       SELECT r.started_at, ${READY_BEFORE_CLAIM} FROM task_runs r ${s.join}
       WHERE r.ended_at IS NULL AND r.started_at >= ? AND r.started_at <= ? ${s.and}`,
      w.origin,
      w.origin,
      w.now,
      ...s.params,
      w.origin,
      w.now,
      ...s.params,
    )
  ) {
    if (r.ready === null) continue; // its events were pruned: the wait is unknown
    started[Math.floor((r.started - w.origin) / w.size)]!.push(r.started - r.ready);
  }
  return started;
}

/** readyNow is how long each task ready now has waited since it last entered ready (ms). */
function readyNow(k: Kernel, w: Layout, s: Scope): number[] {
  return k.db.all<{ since: number }>(
    `SELECT coalesce((SELECT e.at FROM task_events e
       WHERE e.task_id = t.id AND e.data ->> '$.to' = 'ready' ORDER BY e.id DESC LIMIT 1),
       t.updated_at) AS since
     FROM tasks t WHERE t.status = 'ready' ${s.and}`,
    ...s.params,
  ).map((r) => w.now - r.since);
}

/**
 * series reads the window's buckets (see the module doc); `ValidationError` names a bad
 * bucket, a `since` in the future, or a window of more than MAX_BUCKETS buckets.
 */
export function series(k: Kernel, f: SeriesFilter): Series {
  const w = layout(k, f);
  const done = finished(k, w, scope(f, "t"));
  const runs = endedRuns(k, w, scope(f, "r"));
  const ages = queueAges(k, w, scope(f, "r"));
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
    ready_now: waits(readyNow(k, w, scope(f, "t"))),
  };
}
