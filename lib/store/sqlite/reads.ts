/** The SQLite driver's read models (lib/store/driver/reads.ts says what each returns). */
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
import type { Db, Param } from "./db.ts";
import { answered } from "./answered.ts";

// Inbox ---------------------------------------------------------------------------------------

const STATUSES_SQL = "('blocked', 'review', 'triage')";

/**
 * The page of waiting tasks in one query. The time a task entered its status is the newest of
 * its events that moved it there (`data.to`): every move and every create records one, read
 * backwards through task_events(task_id, id), so a task costs a few index rows. Only the page
 * then reads its entering event's summary and its newest comment. Ties (one clock tick) keep
 * the order the events were written in.
 */
const PAGE_SQL = (tenant: boolean) => `
WITH waiting AS (
  SELECT t.id, t.updated_at, (
    SELECT e.id FROM task_events e
    WHERE e.task_id = t.id AND e.data ->> '$.to' = t.status
    ORDER BY e.id DESC LIMIT 1
  ) AS entered
  FROM tasks t
  WHERE t.status IN ${STATUSES_SQL}${tenant ? " AND t.tenant = ?" : ""}
), page AS (
  SELECT w.id, w.entered, coalesce(e.at, w.updated_at) AS since
  FROM waiting w LEFT JOIN task_events e ON e.id = w.entered
  ORDER BY since, w.entered, w.id
  LIMIT ?
)
SELECT t.id, t.title, t.status, t.assignee, t.tenant, t.priority, t.blocked_reason, t.result,
  t.updated_at, p.since,
  CASE WHEN t.status = 'review' THEN e.data ->> '$.summary' END AS summary,
  c.id AS c_id, c.run_id AS c_run_id, c.author AS c_author, c.body AS c_body,
  c.created_at AS c_created_at
FROM page p
JOIN tasks t ON t.id = p.id
LEFT JOIN task_events e ON e.id = p.entered
LEFT JOIN task_comments c ON c.id = (
  SELECT max(id) FROM task_comments WHERE task_id = t.id
)
ORDER BY p.since, p.entered, p.id`;

// Usage and series ----------------------------------------------------------------------------

/** The sums of a group of runs (`r`): cost only over the runs that reported one. */
export const USAGE_SUMS = `count(*) AS runs, count(r.usage) AS with_usage,
  sum(r.usage ->> '$.input_tokens') AS input, sum(r.usage ->> '$.output_tokens') AS output,
  sum(r.usage ->> '$.cache_read_tokens') AS cache_read,
  sum(r.usage ->> '$.cache_write_tokens') AS cache_write,
  sum(r.usage ->> '$.reasoning_tokens') AS reasoning,
  sum(r.usage ->> '$.cost_usd') AS cost, count(r.usage ->> '$.cost_usd') AS with_cost,
  sum(r.ended_at - r.started_at) AS wall`;

/*
 * The series are a few grouped queries over indexes that exist: finished tasks through
 * `tasks_board` (or `tasks_tenant`), ended runs through `task_runs_ended`, open runs through
 * `task_runs_one_open`, and each run's wait through its task's events (`task_events_task`).
 */

/** The bucket a time column falls in (times before `origin` never get here). */
const BUCKET_OF = (col: string) => `CAST((${col} - ?) / ? AS INTEGER)`;

/**
 * When a task last entered ready before its run `r` was claimed: the newest event that moved
 * it to ready ahead of the run's `claimed` event (null when those events were pruned).
 */
const READY_BEFORE_CLAIM = `(SELECT e.at FROM task_events e
  WHERE e.task_id = r.task_id AND e.data ->> '$.to' = 'ready' AND e.id < (
    SELECT c.id FROM task_events c
    WHERE c.task_id = r.task_id AND c.run_id = r.id AND c.kind = 'claimed')
  ORDER BY e.id DESC LIMIT 1)`;

/** The query parts that narrow runs or tasks to a tenant (nothing without one). */
interface Scope {
  join: string;
  and: string;
  params: string[];
}

/** scope narrows a query over tasks (`t`) or runs (`r`, joined to their tasks) to a tenant. */
function scope(tenant: string | null, alias: "t" | "r"): Scope {
  if (tenant === null) return { join: "", and: "", params: [] };
  return {
    join: alias === "t" ? "" : "JOIN tasks t ON t.id = r.task_id",
    and: "AND t.tenant = ?",
    params: [tenant],
  };
}

/** The parameters of a tenant filter: none for the whole board. */
function tenantParams(tenant: string | null): Param[] {
  return tenant === null ? [] : [tenant];
}

function usageByProfileAndTenant(db: Db, w: UsageWindow): UsageGroupRow[] {
  const where = ["r.ended_at IS NOT NULL", "r.ended_at <= ?"];
  const params: Param[] = [w.until];
  if (w.since !== undefined) {
    where.push("r.ended_at >= ?");
    params.push(w.since);
  }
  if (w.tenant !== null) {
    where.push("t.tenant = ?");
    params.push(w.tenant);
  }
  return db.all<UsageGroupRow>(
    `SELECT r.profile AS profile, t.tenant AS tenant, ${USAGE_SUMS}
     FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE ${where.join(" AND ")}
     GROUP BY r.profile, t.tenant`,
    ...params,
  );
}

function finishedPerBucket(db: Db, w: BucketWindow): { b: number; n: number }[] {
  const s = scope(w.tenant, "t");
  return db.all(
    `SELECT ${BUCKET_OF("t.completed_at")} AS b, count(*) AS n FROM tasks t
     WHERE t.status IN ('done', 'archived') AND t.completed_at >= ? AND t.completed_at <= ?
     ${s.and} GROUP BY b`,
    w.origin,
    w.size,
    w.origin,
    w.now,
    ...s.params,
  );
}

function endedRunsPerBucket(db: Db, w: BucketWindow): BucketRunsRow[] {
  const s = scope(w.tenant, "r");
  return db.all<BucketRunsRow>(
    `SELECT ${BUCKET_OF("r.ended_at")} AS b, r.profile AS profile, r.outcome AS outcome,
       ${USAGE_SUMS}
     FROM task_runs r ${s.join} WHERE r.ended_at >= ? AND r.ended_at <= ? ${s.and}
     GROUP BY b, r.profile, r.outcome`,
    w.origin,
    w.size,
    w.origin,
    w.now,
    ...s.params,
  );
}

/**
 * runStartsInWindow: the runs that started in the window ended in it or are still open (a run
 * ends after it starts): the two indexes find them without reading older runs.
 */
function runStartsInWindow(
  db: Db,
  w: BucketWindow,
): { started: number; ready: number | null }[] {
  const s = scope(w.tenant, "r");
  return db.all(
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
  );
}

function readySince(db: Db, tenant: string | null): number[] {
  const s = scope(tenant, "t");
  return db.all<{ since: number }>(
    `SELECT coalesce((SELECT e.at FROM task_events e
       WHERE e.task_id = t.id AND e.data ->> '$.to' = 'ready' ORDER BY e.id DESC LIMIT 1),
       t.updated_at) AS since
     FROM tasks t WHERE t.status = 'ready' ${s.and}`,
    ...s.params,
  ).map((r) => r.since);
}

// Statistics ----------------------------------------------------------------------------------

function runCountsByOutcome(
  db: Db,
  tenant: string | null,
): { outcome: string | null; n: number }[] {
  const runFilter = tenant === null
    ? ""
    : "WHERE task_id IN (SELECT id FROM tasks WHERE tenant = ?)";
  return db.all(
    `SELECT outcome, count(*) AS n FROM task_runs ${runFilter} GROUP BY outcome`,
    ...tenantParams(tenant),
  );
}

// Origins -------------------------------------------------------------------------------------

function tasksCreatedByRun(db: Db, runId: number, after: number, upTo: number): TaskRef[] {
  return db.all<TaskRef>(
    `SELECT t.id, t.title, t.status, t.assignee FROM task_events e JOIN tasks t ON t.id = e.task_id
     WHERE e.id > ? AND e.id <= ? AND e.kind = 'created'
       AND json_extract(e.data, '$.origin_run') = ?
     ORDER BY e.id`,
    after,
    upTo,
    runId,
  ).map((r) => ({ ...r }));
}

export function readQueries(db: Db): ReadQueries {
  const and = (tenant: string | null) => tenant === null ? "" : "AND tenant = ?";
  return answered<ReadQueries>({
    runsEndedOf: (taskId) =>
      db.all<RunRow>(
        "SELECT * FROM task_runs WHERE task_id = ? AND ended_at IS NOT NULL ORDER BY id DESC",
        taskId,
      ),
    parentsByCompletion: (child) =>
      db.all(
        `SELECT p.id, p.title, p.status FROM task_links l JOIN tasks p ON p.id = l.parent_id
         WHERE l.child_id = ? ORDER BY p.completed_at, p.id`,
        child,
      ),
    completionData: (taskId) =>
      db.get<{ data: string }>(
        `SELECT data FROM task_events WHERE task_id = ? AND kind IN ('completed', 'review_requested')
         ORDER BY id DESC LIMIT 1`,
        taskId,
      )?.data,
    creationData: (ids) => {
      if (ids.length === 0) return [];
      // the created event is a task's first: each lookup stops there, on (task_id, id)
      return db.all<{ id: string; data: string }>(
        `SELECT id, data FROM (
           SELECT j.value AS id, (SELECT e.data FROM task_events e
             WHERE e.task_id = j.value AND e.kind = 'created' ORDER BY e.id LIMIT 1) AS data
           FROM json_each(?) j
         ) WHERE data IS NOT NULL`,
        JSON.stringify(ids),
      );
    },
    commentCount: (taskId) =>
      db.get<{ n: number }>("SELECT count(*) AS n FROM task_comments WHERE task_id = ?", taskId)!
        .n,

    inboxPage: (tenant, limit) =>
      db.all<InboxRow>(PAGE_SQL(tenant !== null), ...tenantParams(tenant), limit),
    inboxCounts: (tenant) =>
      db.all<StatusCount<InboxStatus>>(
        `SELECT status, count(*) AS n FROM tasks
         WHERE status IN ${STATUSES_SQL}${tenant === null ? "" : " AND tenant = ?"}
         GROUP BY status`,
        ...tenantParams(tenant),
      ),

    taskCreatedByRun: (taskId, runId) =>
      db.get(
        `SELECT 1 AS found FROM task_events
         WHERE task_id = ? AND kind = 'created' AND json_extract(data, '$.origin_run') = ?`,
        taskId,
        runId,
      ) !== undefined,
    runEventSpan: (taskId, runId) =>
      db.get<{ lo: number | null; hi: number | null }>(
        "SELECT min(id) AS lo, max(id) AS hi FROM task_events WHERE task_id = ? AND run_id = ?",
        taskId,
        runId,
      ) ?? { lo: null, hi: null },
    tasksCreatedByRun: (runId, after, upTo) => tasksCreatedByRun(db, runId, after, upTo),

    taskCountsByStatus: (tenant) =>
      db.all<StatusCount>(
        `SELECT status, count(*) AS n FROM tasks ${
          tenant === null ? "" : "WHERE tenant = ?"
        } GROUP BY status`,
        ...tenantParams(tenant),
      ),
    runCountsByOutcome: (tenant) => runCountsByOutcome(db, tenant),
    oldestReadyAt: (tenant) =>
      db.get<{ at: number | null }>(
        `SELECT min(updated_at) AS at FROM tasks WHERE status = 'ready' ${and(tenant)}`,
        ...tenantParams(tenant),
      )?.at ?? null,
    completedCountSince: (since, tenant) =>
      db.get<{ n: number }>(
        `SELECT count(*) AS n FROM tasks WHERE completed_at >= ? ${and(tenant)}`,
        since,
        ...tenantParams(tenant),
      )!.n,
    taskCountsByAssignee: () =>
      db.all("SELECT assignee, status, count(*) AS n FROM tasks GROUP BY assignee, status"),

    usageByProfileAndTenant: (w) => usageByProfileAndTenant(db, w),
    finishedPerBucket: (w) => finishedPerBucket(db, w),
    endedRunsPerBucket: (w) => endedRunsPerBucket(db, w),
    runStartsInWindow: (w) => runStartsInWindow(db, w),
    readySince: (tenant) => readySince(db, tenant),
  });
}
