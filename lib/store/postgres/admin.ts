/**
 * The PostgreSQL driver's notifications, audits, invariants and maintenance (lib/store/driver/
 * admin.ts says what each operation does). What is SQLite's own business there (checking the
 * file's pages, copying the file) either means what the server offers for it or is refused
 * with a message that says what to use instead.
 */
import type { EventRow } from "../_rows.ts";
import type { AdminQueries, FinishedTaskRow, Invariant, SubscriptionRow } from "../driver/admin.ts";
import { ValidationError } from "../errors.ts";
import { STATUSES } from "../transitions.ts";
import { count, first, type Fragment, type Tx } from "./_sql.ts";
import { PARENT_SATISFIED } from "./core.ts";

/** One query per invariant, each selecting the ids that break it. */
const INVARIANT_SQL: Record<Invariant, string> = {
  task_run_not_open_own: `SELECT t.id FROM tasks t LEFT JOIN task_runs r ON r.id = t.current_run_id
          WHERE t.current_run_id IS NOT NULL
            AND (r.id IS NULL OR r.ended_at IS NOT NULL OR r.task_id <> t.id)`,
  open_run_not_current: `SELECT r.id FROM task_runs r JOIN tasks t ON t.id = r.task_id
          WHERE r.ended_at IS NULL AND (t.current_run_id IS NULL OR t.current_run_id <> r.id)`,
  lease_not_running: `SELECT r.id FROM task_runs r JOIN tasks t ON t.id = r.task_id
          WHERE r.lease_expires IS NOT NULL AND t.status <> 'running'`,
  running_without_run: "SELECT id FROM tasks WHERE status = 'running' AND current_run_id IS NULL",
  ended_run_without_outcome:
    "SELECT id FROM task_runs WHERE ended_at IS NOT NULL AND outcome IS NULL",
  todo_parents_done: `SELECT t.id FROM tasks t WHERE t.status = 'todo' AND NOT EXISTS (
            SELECT 1 FROM task_links l JOIN tasks p ON p.id = l.parent_id
            WHERE l.child_id = t.id AND NOT ${PARENT_SATISFIED})`,
  ready_parent_unfinished:
    `SELECT t.id FROM tasks t WHERE t.status IN ('ready', 'scheduled') AND EXISTS (
            SELECT 1 FROM task_links l JOIN tasks p ON p.id = l.parent_id
            WHERE l.child_id = t.id AND NOT ${PARENT_SATISFIED})`,
  unknown_status: `SELECT id FROM tasks WHERE status NOT IN (${
    STATUSES.map((s) => `'${s}'`).join(", ")
  })`,
  event_missing_task: `SELECT e.id FROM task_events e LEFT JOIN tasks t ON t.id = e.task_id
          WHERE e.task_id IS NOT NULL AND t.id IS NULL`,
  event_wrong_run: `SELECT e.id FROM task_events e LEFT JOIN task_runs r ON r.id = e.run_id
          WHERE e.run_id IS NOT NULL
            AND (r.id IS NULL OR r.task_id IS DISTINCT FROM e.task_id)`,
  done_without_completion: "SELECT id FROM tasks WHERE status = 'done' AND completed_at IS NULL",
};

/** A task is finished when it is done, or archived, at or before the cutoff. */
function finishedBefore(t: Tx, cutoff: number): Fragment {
  return t`((status = 'done' AND completed_at <= ${cutoff})
    OR (status = 'archived' AND updated_at <= ${cutoff}))`;
}

/** The events pruning may delete (AdminQueries.prunableEvents says which). */
function prunable(t: Tx, cutoff: number): Fragment {
  return t`
    WITH finished AS (SELECT id FROM tasks WHERE ${finishedBefore(t, cutoff)}),
    keep AS (
      SELECT min(e.id) AS id FROM task_events e JOIN finished f ON f.id = e.task_id
        WHERE e.kind = 'created' GROUP BY e.task_id
      UNION ALL
      SELECT max(e.id) FROM task_events e JOIN finished f ON f.id = e.task_id
        WHERE e.kind IN ('completed', 'review_requested') GROUP BY e.task_id
    ),
    horizon AS (
      SELECT coalesce(min(cursor) + 1, 9007199254740991) AS below FROM subscriptions
        WHERE ended_at IS NULL
    )
    SELECT e.id, e.task_id FROM task_events e JOIN finished f ON f.id = e.task_id
    WHERE e.id NOT IN (SELECT id FROM keep WHERE id IS NOT NULL)
      AND e.id < (SELECT below FROM horizon)`;
}

/** The events of a subscription's filter: fragments come from code, only values are params. */
function subscriptionEvents(
  t: Tx,
  f: Parameters<AdminQueries["subscriptionEvents"]>[0],
  limit: number,
): Promise<EventRow[]> {
  const where: Fragment[] = [t`e.id > ${f.after}`];
  if (f.task_id !== null) where.push(t`AND e.task_id = ${f.task_id}`);
  if (f.tenant !== null) where.push(t`AND tk.tenant = ${f.tenant}`);
  if (f.assignee !== null) where.push(t`AND tk.assignee = ${f.assignee}`);
  if (f.kinds !== null) where.push(t`AND e.kind = ANY(${f.kinds as string[]}::text[])`);
  const cond = where.slice(1).reduce((acc, p) => t`${acc} ${p}`, where[0]!);
  return t<EventRow[]>`SELECT e.* FROM task_events e LEFT JOIN tasks tk ON tk.id = e.task_id
    WHERE ${cond} AND e.id <= ${f.through} ORDER BY e.id LIMIT ${count(limit)}`;
}

/** The refusal of what only a SQLite board file can do. */
function notOnPostgres(what: string, instead: string): ValidationError {
  return new ValidationError(`Cannot ${what} on a PostgreSQL board: ${instead}`);
}

export function adminQueries(t: Tx): AdminQueries {
  const subscription = (id: number) =>
    first(t<SubscriptionRow[]>`SELECT * FROM subscriptions WHERE id = ${id}`);
  return {
    subscriptionInsert: async (s) =>
      (await first(t<SubscriptionRow[]>`INSERT INTO subscriptions (kind, target, secret, task_id,
          tenant, assignee, kinds, cursor, created_by, created_at)
        VALUES (${s.kind}, ${s.target}, ${s.secret}, ${s.task_id}, ${s.tenant}, ${s.assignee},
          ${s.kinds}, ${s.cursor}, ${s.created_by}, ${s.created_at})
        RETURNING *`))!,
    subscriptionGet: subscription,
    subscriptionsAll: () => t<SubscriptionRow[]>`SELECT * FROM subscriptions ORDER BY id`,
    subscriptionDelete: async (id) =>
      (await t`DELETE FROM subscriptions WHERE id = ${id}`).count === 1,
    subscriptionEnable: async (id) => {
      await t`UPDATE subscriptions SET disabled_at = NULL, failures = 0, next_attempt_at = NULL,
        last_error = NULL WHERE id = ${id}`;
    },
    subscriptionsDue: (now) =>
      t<SubscriptionRow[]>`SELECT * FROM subscriptions
        WHERE disabled_at IS NULL AND ended_at IS NULL
          AND (next_attempt_at IS NULL OR next_attempt_at <= ${now})
          AND cursor < (SELECT coalesce(max(id), 0) FROM task_events)
        ORDER BY id`,
    subscriptionEvents: (filter, limit) => subscriptionEvents(t, filter, limit),
    subscriptionDelivered: async (id, through, n) =>
      (await t`UPDATE subscriptions SET cursor = greatest(cursor, ${through}::bigint),
          delivered = delivered + ${n}, failures = 0, next_attempt_at = NULL, last_error = NULL
        WHERE id = ${id}`).count > 0,
    subscriptionFailed: async (id, f) =>
      (await t`UPDATE subscriptions SET failures = failures + 1, last_error = ${f.error},
          next_attempt_at = ${f.next_attempt_at},
          disabled_at = CASE WHEN ${f.disable ? 1 : 0}::int = 1
            THEN coalesce(disabled_at, ${f.at}::bigint) ELSE disabled_at END
        WHERE id = ${id}`).count > 0,
    subscriptionEnd: async (id, at) => {
      await t`UPDATE subscriptions SET ended_at = ${at} WHERE id = ${id}`;
    },
    taskHasEventsAfter: async (taskId, after) =>
      (await t`SELECT 1 FROM task_events WHERE task_id = ${taskId} AND id > ${after} LIMIT 1`)
        .length > 0,

    // The rows this transaction has written so far, as the server counts them for it (a
    // transaction has its connection to itself, so this is SQLite's total_changes() of it).
    writesSoFar: async () =>
      (await first(t<{ n: number }[]>`SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)
        AS n FROM pg_stat_xact_user_tables`))!.n,

    invariantBreaches: async (invariant, limit) =>
      // prepared: doctor and the property test run every check after each step
      (await t.unsafe(`${INVARIANT_SQL[invariant]} LIMIT $1`, [count(limit)], { prepare: true }))
        .map((r) => Object.values(r)[0] as string | number),
    linksAll: async () =>
      (await t<{ parent_id: string; child_id: string }[]>`SELECT parent_id, child_id
        FROM task_links`).map((l) => [l.parent_id, l.child_id]),
    // The server enforces every foreign key itself, at each statement: nothing can point at a
    // missing row.
    foreignKeyBreaches: () => Promise.resolve([]),
    // PostgreSQL checks its pages as it reads them (and with data checksums, when the cluster
    // has them); it has no cheap whole-database check like SQLite's integrity_check.
    integrityProblems: () => Promise.resolve([]),

    fileChecks: () => Promise.resolve([]),
    backupTo: () =>
      Promise.reject(
        notOnPostgres("back up to a file", "back up the database with pg_dump instead"),
      ),
    tasksFinishedBefore: (cutoff) =>
      t<FinishedTaskRow[]>`SELECT id, status, archived_from, workspace_kind, workspace_path,
          CASE status WHEN 'done' THEN completed_at ELSE updated_at END AS finished_at
        FROM tasks WHERE ${finishedBefore(t, cutoff)} ORDER BY finished_at, id`,
    prunableEvents: async (cutoff) =>
      (await first(t<{ events: number; tasks: number }[]>`SELECT count(*) AS events,
          count(DISTINCT task_id) AS tasks FROM (${prunable(t, cutoff)}) p`))!,
    eventsPrune: async (cutoff, limit) =>
      (await t`DELETE FROM task_events WHERE id IN (
        SELECT id FROM (${prunable(t, cutoff)}) p LIMIT ${count(limit)})`).count,
    runsStale: (before, limit) =>
      t<{ id: number; task_id: string; lease_expires: number }[]>`SELECT id, task_id,
          lease_expires FROM task_runs
        WHERE ended_at IS NULL AND lease_expires < ${before}
        ORDER BY lease_expires, id LIMIT ${count(limit)}`,
  };
}
