/** The PostgreSQL driver's read models (lib/store/driver/reads.ts says what each returns). */
import type { RunRow } from "../_rows.ts";
import type { TaskRef } from "../driver/core.ts";
import type {
  BucketRunsRow,
  BucketWindow,
  InboxRow,
  InboxStatus,
  ReadQueries,
  StatusCount,
  UsageGroupRow,
  UsageWindow,
} from "../driver/reads.ts";
import type { Status } from "../transitions.ts";
import { count, first, type Fragment, type Tx } from "./_sql.ts";

const INBOX = ["blocked", "review", "triage"];

/**
 * The page of waiting tasks in one query (the SQLite driver's PAGE_SQL says how it reads):
 * the time a task entered its status is the newest of its events that moved it there.
 * NULLS FIRST: SQLite sorts a missing entering event first, PostgreSQL last by default.
 */
function inboxPage(t: Tx, tenant: string | null, limit: number): Promise<InboxRow[]> {
  const scope = tenant === null ? t`` : t`AND tk.tenant = ${tenant}`;
  return t<InboxRow[]>`
    WITH waiting AS (
      SELECT tk.id, tk.updated_at, (
        SELECT e.id FROM task_events e
        WHERE e.task_id = tk.id AND e.data::json ->> 'to' = tk.status
        ORDER BY e.id DESC LIMIT 1
      ) AS entered
      FROM tasks tk
      WHERE tk.status = ANY(${INBOX}::text[]) ${scope}
    ), page AS (
      SELECT w.id, w.entered, coalesce(e.at, w.updated_at) AS since
      FROM waiting w LEFT JOIN task_events e ON e.id = w.entered
      ORDER BY since, w.entered NULLS FIRST, w.id
      LIMIT ${count(limit)}
    )
    SELECT tk.id, tk.title, tk.status, tk.assignee, tk.tenant, tk.priority, tk.blocked_reason,
      tk.result, tk.updated_at, p.since,
      CASE WHEN tk.status = 'review' THEN e.data::json ->> 'summary' END AS summary,
      c.id AS c_id, c.run_id AS c_run_id, c.author AS c_author, c.body AS c_body,
      c.created_at AS c_created_at
    FROM page p
    JOIN tasks tk ON tk.id = p.id
    LEFT JOIN task_events e ON e.id = p.entered
    LEFT JOIN task_comments c ON c.id = (
      SELECT max(id) FROM task_comments WHERE task_id = tk.id
    )
    ORDER BY p.since, p.entered NULLS FIRST, p.id`;
}

/**
 * The sums of a group of runs (`r`): cost only over the runs that reported one. numeric, not
 * float: an exact sum (as close to SQLite's compensated sum as it gets), read back as a number.
 */
export const USAGE_SUMS = `count(*) AS runs, count(r.usage) AS with_usage,
  sum((r.usage::json ->> 'input_tokens')::numeric) AS input,
  sum((r.usage::json ->> 'output_tokens')::numeric) AS output,
  sum((r.usage::json ->> 'cache_read_tokens')::numeric) AS cache_read,
  sum((r.usage::json ->> 'cache_write_tokens')::numeric) AS cache_write,
  sum((r.usage::json ->> 'reasoning_tokens')::numeric) AS reasoning,
  sum((r.usage::json ->> 'cost_usd')::numeric) AS cost,
  count(r.usage::json ->> 'cost_usd') AS with_cost,
  sum(r.ended_at - r.started_at) AS wall`;

/** The bucket a time column falls in (times before `origin` never get here). */
function bucketOf(t: Tx, col: string, w: BucketWindow): Fragment {
  return t`((${t.unsafe(col)} - ${w.origin}::bigint) / ${w.size}::bigint)`;
}

/**
 * When a task last entered ready before its run `r` was claimed: the newest event that moved
 * it to ready ahead of the run's `claimed` event (null when those events were pruned).
 */
const READY_BEFORE_CLAIM = `(SELECT e.at FROM task_events e
  WHERE e.task_id = r.task_id AND e.data::json ->> 'to' = 'ready' AND e.id < (
    SELECT c.id FROM task_events c
    WHERE c.task_id = r.task_id AND c.run_id = r.id AND c.kind = 'claimed')
  ORDER BY e.id DESC LIMIT 1)`;

/** A tenant filter on tasks `tk` (nothing for the whole board). */
function tenantOf(t: Tx, tenant: string | null): Fragment {
  return tenant === null ? t`` : t`AND tk.tenant = ${tenant}`;
}

/** Runs `r` joined to their tasks `tk` when a tenant filter needs them. */
function runJoin(t: Tx, tenant: string | null): Fragment {
  return tenant === null ? t`` : t`JOIN tasks tk ON tk.id = r.task_id`;
}

function usageByProfileAndTenant(t: Tx, w: UsageWindow): Promise<UsageGroupRow[]> {
  const since = w.since === undefined ? t`` : t`AND r.ended_at >= ${w.since}`;
  return t<UsageGroupRow[]>`SELECT r.profile AS profile, tk.tenant AS tenant,
      ${t.unsafe(USAGE_SUMS)}
    FROM task_runs r JOIN tasks tk ON tk.id = r.task_id
    WHERE r.ended_at IS NOT NULL AND r.ended_at <= ${w.until} ${since} ${tenantOf(t, w.tenant)}
    GROUP BY r.profile, tk.tenant`;
}

function finishedPerBucket(t: Tx, w: BucketWindow): Promise<{ b: number; n: number }[]> {
  return t<{ b: number; n: number }[]>`SELECT ${bucketOf(t, "tk.completed_at", w)} AS b,
      count(*) AS n
    FROM tasks tk
    WHERE tk.status IN ('done', 'archived') AND tk.completed_at >= ${w.origin}
      AND tk.completed_at <= ${w.now} ${tenantOf(t, w.tenant)}
    GROUP BY 1`;
}

function endedRunsPerBucket(t: Tx, w: BucketWindow): Promise<BucketRunsRow[]> {
  return t<BucketRunsRow[]>`SELECT ${bucketOf(t, "r.ended_at", w)} AS b, r.profile AS profile,
      r.outcome AS outcome, ${t.unsafe(USAGE_SUMS)}
    FROM task_runs r ${runJoin(t, w.tenant)}
    WHERE r.ended_at >= ${w.origin} AND r.ended_at <= ${w.now} ${tenantOf(t, w.tenant)}
    GROUP BY 1, r.profile, r.outcome`;
}

/**
 * runStartsInWindow: the runs that started in the window ended in it or are still open (a run
 * ends after it starts): the two indexes find them without reading older runs.
 */
function runStartsInWindow(
  t: Tx,
  w: BucketWindow,
): Promise<{ started: number; ready: number | null }[]> {
  const ready = t.unsafe(READY_BEFORE_CLAIM);
  return t<{ started: number; ready: number | null }[]>`
    SELECT r.started_at AS started, ${ready} AS ready FROM task_runs r ${runJoin(t, w.tenant)}
    WHERE r.ended_at >= ${w.origin} AND r.started_at >= ${w.origin}
      AND r.started_at <= ${w.now} ${tenantOf(t, w.tenant)}
    UNION ALL
    SELECT r.started_at, ${ready} FROM task_runs r ${runJoin(t, w.tenant)}
    WHERE r.ended_at IS NULL AND r.started_at >= ${w.origin} AND r.started_at <= ${w.now}
      ${tenantOf(t, w.tenant)}`;
}

export function readQueries(t: Tx): ReadQueries {
  const scope = (tenant: string | null) => tenant === null ? t`` : t`AND tenant = ${tenant}`;
  const where = (tenant: string | null) => tenant === null ? t`` : t`WHERE tenant = ${tenant}`;
  return {
    runsEndedOf: (taskId) =>
      t<RunRow[]>`SELECT * FROM task_runs WHERE task_id = ${taskId} AND ended_at IS NOT NULL
        ORDER BY id DESC`,
    parentsByCompletion: (child) =>
      t<{ id: string; title: string; status: Status }[]>`SELECT p.id, p.title, p.status
        FROM task_links l JOIN tasks p ON p.id = l.parent_id
        WHERE l.child_id = ${child} ORDER BY p.completed_at NULLS FIRST, p.id`,
    completionData: async (taskId) =>
      (await first(t<{ data: string }[]>`SELECT data FROM task_events
        WHERE task_id = ${taskId} AND kind IN ('completed', 'review_requested') ORDER BY id DESC LIMIT 1`))
        ?.data,
    creationData: (ids) => {
      if (ids.length === 0) return Promise.resolve([]);
      // the created event is a task's first: each lookup stops there, on (task_id, id)
      return t<{ id: string; data: string }[]>`SELECT id, data FROM (
          SELECT j.id, (SELECT e.data FROM task_events e
            WHERE e.task_id = j.id AND e.kind = 'created' ORDER BY e.id LIMIT 1) AS data
          FROM unnest(${ids as string[]}::text[]) AS j(id)
        ) c WHERE data IS NOT NULL`;
    },
    commentCount: async (taskId) =>
      (await first(t<{ n: number }[]>`SELECT count(*) AS n FROM task_comments
        WHERE task_id = ${taskId}`))!.n,

    inboxPage: (tenant, limit) => inboxPage(t, tenant, limit),
    inboxCounts: (tenant) =>
      t<StatusCount<InboxStatus>[]>`SELECT status, count(*) AS n FROM tasks
        WHERE status = ANY(${INBOX}::text[]) ${scope(tenant)} GROUP BY status`,

    taskCreatedByRun: async (taskId, runId) =>
      (await t`SELECT 1 AS found FROM task_events
        WHERE task_id = ${taskId} AND kind = 'created'
          AND data::json ->> 'origin_run' = ${String(runId)}`).length > 0,
    runEventSpan: async (taskId, runId) =>
      (await first(t<{ lo: number | null; hi: number | null }[]>`
        SELECT min(id) AS lo, max(id) AS hi FROM task_events
        WHERE task_id = ${taskId} AND run_id = ${runId}`)) ?? { lo: null, hi: null },
    tasksCreatedByRun: async (runId, after, upTo) =>
      (await t<TaskRef[]>`SELECT tk.id, tk.title, tk.status, tk.assignee
        FROM task_events e JOIN tasks tk ON tk.id = e.task_id
        WHERE e.id > ${after} AND e.id <= ${upTo} AND e.kind = 'created'
          AND e.data::json ->> 'origin_run' = ${String(runId)}
        ORDER BY e.id`).map((r) => ({ ...r })),

    taskCountsByStatus: (tenant) =>
      t<StatusCount[]>`SELECT status, count(*) AS n FROM tasks ${where(tenant)} GROUP BY status`,
    runCountsByOutcome: (tenant) =>
      t<{ outcome: string | null; n: number }[]>`SELECT outcome, count(*) AS n FROM task_runs
        ${
        tenant === null ? t`` : t`WHERE task_id IN (SELECT id FROM tasks WHERE tenant = ${tenant})`
      } GROUP BY outcome`,
    oldestReadyAt: async (tenant) =>
      (await first(t<{ at: number | null }[]>`SELECT min(updated_at) AS at FROM tasks
        WHERE status = 'ready' ${scope(tenant)}`))?.at ?? null,
    completedCountSince: async (since, tenant) =>
      (await first(t<{ n: number }[]>`SELECT count(*) AS n FROM tasks
        WHERE completed_at >= ${since} ${scope(tenant)}`))!.n,
    taskCountsByAssignee: () =>
      t<{ assignee: string | null; status: Status; n: number }[]>`
        SELECT assignee, status, count(*) AS n FROM tasks GROUP BY assignee, status`,

    usageByProfileAndTenant: (w) => usageByProfileAndTenant(t, w),
    finishedPerBucket: (w) => finishedPerBucket(t, w),
    endedRunsPerBucket: (w) => endedRunsPerBucket(t, w),
    runStartsInWindow: (w) => runStartsInWindow(t, w),
    readySince: async (tenant) =>
      (await t<{ since: number }[]>`SELECT coalesce((SELECT e.at FROM task_events e
          WHERE e.task_id = tk.id AND e.data::json ->> 'to' = 'ready'
          ORDER BY e.id DESC LIMIT 1), tk.updated_at) AS since
        FROM tasks tk WHERE tk.status = 'ready' ${tenantOf(t, tenant)}`).map((r) => r.since),
  };
}
