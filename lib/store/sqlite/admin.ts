/**
 * The SQLite driver's notifications, audits, invariants and maintenance (lib/store/driver/
 * admin.ts says what each operation does).
 */
import type { EventRow } from "../_rows.ts";
import type {
  AdminQueries,
  FileFinding,
  FinishedTaskRow,
  ForeignKeyBreach,
  Invariant,
  SubscriptionRow,
} from "../driver/admin.ts";
import { corruptError, isCorrupt } from "../errors.ts";
import { STATUSES } from "../transitions.ts";
import type { Db, Param } from "./db.ts";
import { answered } from "./answered.ts";
import { PARENT_SATISFIED } from "./core.ts";

// Invariants ----------------------------------------------------------------------------------

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
          WHERE e.run_id IS NOT NULL AND (r.id IS NULL OR r.task_id IS NOT e.task_id)`,
  done_without_completion: "SELECT id FROM tasks WHERE status = 'done' AND completed_at IS NULL",
};

/** A limit from code, checked before it becomes part of SQL. */
function count(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Invalid limit: ${n}`);
  return n;
}

// File checks ---------------------------------------------------------------------------------

/** sqliteLines splits one of SQLite's check messages into lines, without its header. */
function sqliteLines(message: string): string[] {
  return message.split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && l !== "ok" && !/^\*\*\* in database \w+ \*\*\*$/.test(l));
}

/**
 * fileChecks runs SQLite's integrity_check. On a damaged file that check may stop with
 * SQLITE_CORRUPT ("database disk image is malformed") rather than report; then each table is
 * checked on its own (`PRAGMA quick_check(TABLE)`), so that the report says which tables are
 * damaged. It throws only errors that are not corruption.
 */
function fileChecks(db: Db, limit: number): FileFinding[] {
  const found = (check: string, message: string): FileFinding => ({ check, message });
  let stopped: string;
  try {
    return db.all<{ integrity_check: string }>(`PRAGMA integrity_check(${count(limit)})`)
      .flatMap((r) => sqliteLines(r.integrity_check)).slice(0, limit)
      .map((m) => found("integrity_check", m));
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    stopped = (err as Error).message;
  }
  const out: FileFinding[] = [];
  let tables: string[];
  try {
    tables = db.all<{ name: string }>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    ).map((r) => r.name);
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    return [found("integrity_check", `${stopped}; the schema itself cannot be read`)];
  }
  for (const table of tables) {
    try {
      for (
        const r of db.all<{ quick_check: string }>(
          `PRAGMA quick_check("${table.replaceAll('"', '""')}")`,
        )
      ) {
        for (const line of sqliteLines(r.quick_check)) {
          out.push(found("quick_check", `table ${table}: ${line}`));
        }
      }
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      out.push(found("quick_check", `table ${table}: ${(err as Error).message}`));
    }
  }
  if (out.length === 0) out.push(found("integrity_check", stopped));
  return out.slice(0, limit);
}

// Maintenance ---------------------------------------------------------------------------------

/** A task is finished when it is done, or archived; `finished_at` is when that happened. */
const FINISHED_BEFORE = `((status = 'done' AND completed_at <= ?1)
  OR (status = 'archived' AND updated_at <= ?1))`;

/** The events pruning may delete (AdminQueries.prunableEvents says which), cutoff ?1. */
const PRUNABLE = `
  WITH finished AS (SELECT id FROM tasks WHERE ${FINISHED_BEFORE}),
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
  WHERE e.id NOT IN (SELECT id FROM keep) AND e.id < (SELECT below FROM horizon)`;

// Subscriptions -------------------------------------------------------------------------------

/** The events of a subscription's filter: fragments come from code, only values are params. */
function subscriptionEvents(
  db: Db,
  f: Parameters<AdminQueries["subscriptionEvents"]>[0],
  limit: number,
): EventRow[] {
  // A task filter walks its index.
  const where = ["e.id > ?"];
  const params: Param[] = [f.after];
  if (f.task_id !== null) {
    where.push("e.task_id = ?");
    params.push(f.task_id);
  }
  if (f.tenant !== null) {
    where.push("t.tenant = ?");
    params.push(f.tenant);
  }
  if (f.assignee !== null) {
    where.push("t.assignee = ?");
    params.push(f.assignee);
  }
  if (f.kinds !== null) {
    where.push("e.kind IN (SELECT value FROM json_each(?))");
    params.push(JSON.stringify(f.kinds));
  }
  return db.all<EventRow>(
    `SELECT e.* FROM task_events e LEFT JOIN tasks t ON t.id = e.task_id
     WHERE ${where.join(" AND ")} AND e.id <= ? ORDER BY e.id LIMIT ?`,
    ...params,
    f.through,
    limit,
  );
}

export function adminQueries(db: Db): AdminQueries {
  const subscription = (id: number) =>
    db.get<SubscriptionRow>("SELECT * FROM subscriptions WHERE id = ?", id);
  return answered<AdminQueries>({
    subscriptionInsert: (s) => {
      const id = db.run(
        `INSERT INTO subscriptions (kind, target, secret, task_id, tenant, assignee, kinds, cursor,
           created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        s.kind,
        s.target,
        s.secret,
        s.task_id,
        s.tenant,
        s.assignee,
        s.kinds,
        s.cursor,
        s.created_by,
        s.created_at,
      ).lastInsertRowid;
      return subscription(id)!;
    },
    subscriptionGet: subscription,
    subscriptionsAll: () => db.all<SubscriptionRow>("SELECT * FROM subscriptions ORDER BY id"),
    subscriptionDelete: (id) => db.run("DELETE FROM subscriptions WHERE id = ?", id).changes === 1,
    subscriptionEnable: (id) => {
      db.run(
        `UPDATE subscriptions SET disabled_at = NULL, failures = 0, next_attempt_at = NULL,
           last_error = NULL WHERE id = ?`,
        id,
      );
    },
    subscriptionsDue: (now) =>
      // One indexed query, so a delivery round with nothing to do costs almost nothing.
      db.all<SubscriptionRow>(
        `SELECT * FROM subscriptions
         WHERE disabled_at IS NULL AND ended_at IS NULL
           AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
           AND cursor < (SELECT coalesce(max(id), 0) FROM task_events)
         ORDER BY id`,
        now,
      ),
    subscriptionEvents: (filter, limit) => subscriptionEvents(db, filter, limit),
    subscriptionDelivered: (id, through, n) =>
      db.run(
        `UPDATE subscriptions SET cursor = max(cursor, ?), delivered = delivered + ?, failures = 0,
           next_attempt_at = NULL, last_error = NULL WHERE id = ?`,
        through,
        n,
        id,
      ).changes > 0,
    subscriptionFailed: (id, f) =>
      db.run(
        `UPDATE subscriptions SET failures = failures + 1, last_error = ?, next_attempt_at = ?,
           disabled_at = CASE WHEN ? THEN coalesce(disabled_at, ?) ELSE disabled_at END
         WHERE id = ?`,
        f.error,
        f.next_attempt_at,
        f.disable ? 1 : 0,
        f.at,
        id,
      ).changes > 0,
    subscriptionEnd: (id, at) => {
      db.run("UPDATE subscriptions SET ended_at = ? WHERE id = ?", at, id);
    },
    taskHasEventsAfter: (taskId, after) =>
      db.get("SELECT 1 FROM task_events WHERE task_id = ? AND id > ? LIMIT 1", taskId, after) !==
        undefined,

    writesSoFar: () => db.get<{ n: number }>("SELECT total_changes() AS n")!.n,

    invariantBreaches: (invariant, limit) =>
      db.all<Record<string, string | number>>(`${INVARIANT_SQL[invariant]} LIMIT ${count(limit)}`)
        .map((r) => Object.values(r)[0]!),
    linksAll: () =>
      db.all<{ parent_id: string; child_id: string }>(
        "SELECT parent_id, child_id FROM task_links",
      ).map((l) => [l.parent_id, l.child_id]),
    foreignKeyBreaches: () => db.all<ForeignKeyBreach>("PRAGMA foreign_key_check"),
    integrityProblems: () =>
      db.all<{ integrity_check: string }>("PRAGMA integrity_check")
        .map((r) => r.integrity_check).filter((m) => m !== "ok"),

    fileChecks: (limit) => fileChecks(db, limit),
    backupTo: (path) => {
      // VACUUM INTO reads one snapshot (WAL: writers carry on meanwhile) and writes a
      // compact, self-contained file; it cannot run inside a transaction.
      try {
        db.run("VACUUM INTO ?", path);
      } catch (err) {
        // a damaged board cannot be copied whole: say so, rather than blame the target
        throw corruptError(db.path, err) ?? err;
      }
    },
    tasksFinishedBefore: (cutoff) =>
      db.all<FinishedTaskRow>(
        `SELECT id, status, archived_from, workspace_kind, workspace_path,
           CASE status WHEN 'done' THEN completed_at ELSE updated_at END AS finished_at
         FROM tasks WHERE ${FINISHED_BEFORE} ORDER BY finished_at, id`,
        cutoff,
      ),
    prunableEvents: (cutoff) =>
      db.get<{ events: number; tasks: number }>(
        `SELECT count(*) AS events, count(DISTINCT task_id) AS tasks FROM (${PRUNABLE})`,
        cutoff,
      )!,
    eventsPrune: (cutoff, limit) =>
      db.run(
        `DELETE FROM task_events WHERE id IN (SELECT id FROM (${PRUNABLE}) LIMIT ?2)`,
        cutoff,
        limit,
      ).changes,
    runsStale: (before, limit) =>
      db.all<{ id: number; task_id: string; lease_expires: number }>(
        `SELECT id, task_id, lease_expires FROM task_runs
         WHERE ended_at IS NULL AND lease_expires < ? ORDER BY lease_expires, id LIMIT ?`,
        before,
        limit,
      ),
  });
}
