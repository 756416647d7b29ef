/** The SQLite driver's core operations (lib/store/driver/core.ts says what each does). */
import type { CommentRow, EventRow, RunRow, TaskRow } from "../_rows.ts";
import {
  type CoreQueries,
  type DispatcherRow,
  KeyTakenError,
  type NewEvent,
  type TaskRef,
} from "../driver/core.ts";
import type { Status } from "../transitions.ts";
import type { ListFilter } from "../tasks.ts";
import type { Db, Param } from "./db.ts";
import { answered } from "./answered.ts";

/** SQL condition: parent row `p` satisfies its children (readiness.ts says why). */
export const PARENT_SATISFIED =
  "(p.status = 'done' OR (p.status = 'archived' AND p.archived_from = 'done'))";

const TASK_COLUMNS = new Set([
  "title",
  "body",
  "assignee",
  "status",
  "priority",
  "tenant",
  "updated_at",
  "started_at",
  "completed_at",
  "workspace_kind",
  "workspace_path",
  "skills",
  "max_runtime_seconds",
  "not_before",
  "review_required",
  "idempotency_key",
  "consecutive_failures",
  "retry_after",
  "last_error",
  "blocked_reason",
  "current_run_id",
  "result",
  "archived_from",
  "needs",
  "block_kind",
  "blocked_on",
  "block_counts",
  "reviewer",
  "review_rounds",
  "gate",
  "gate_timeout_ms",
  "gate_rounds",
]);

const RUN_COLUMNS = new Set([
  "profile",
  "claimed_by",
  "lease_ms",
  "lease_expires",
  "heartbeat_at",
  "host",
  "pid",
  "pid_start_time",
  "ended_at",
  "exit_code",
  "signal",
  "outcome",
  "summary",
  "metadata",
  "error",
  "log_path",
  "usage",
  "workspace",
  "gate_handoff",
]);

const DISPATCHER_COLUMNS = new Set([
  "last_tick",
  "active",
  "lease_expires",
  "stopped_at",
  "report",
]);

/**
 * setClause turns `{ col: value }` into `col = ?, ...` and its parameters. The names come from
 * code; checking them against the table's columns keeps a typo from becoming SQL.
 */
function setClause(
  set: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  coalesce: ReadonlySet<string> = new Set(),
): [string, Param[]] {
  const cols = Object.keys(set).filter((c) => set[c] !== undefined);
  for (const c of cols) if (!allowed.has(c)) throw new Error(`Unknown column "${c}"`);
  return [
    cols.map((c) => coalesce.has(c) ? `${c} = coalesce(?, ${c})` : `${c} = ?`).join(", "),
    cols.map((c) => set[c] as Param),
  ];
}

function isUniqueViolation(err: unknown, column: string): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message) &&
    err.message.includes(column);
}

/** `?, ?, ?` for a list of `n` parameters. */
export function marks(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

const QUEUE_ORDER = `CASE status WHEN 'running' THEN 0 WHEN 'review' THEN 1 WHEN 'blocked' THEN 2
      WHEN 'ready' THEN 3 WHEN 'scheduled' THEN 4 WHEN 'todo' THEN 5 WHEN 'triage' THEN 6
      WHEN 'done' THEN 7 ELSE 8 END, priority DESC, created_at, id`;
const FINISHED: Partial<Record<Status, string>> = { done: "'done'", archived: "'archived'" };

/** One status: the queue's order without the status term, which index tasks_board reads. */
const ONE_STATUS_ORDER = "priority DESC, created_at, id";
/** Index tasks_finished reads this order for done and archived. */
const RECENT_ORDER = "coalesce(completed_at, updated_at) DESC, id DESC";

function taskList(db: Db, filter: ListFilter): TaskRow[] {
  const where: string[] = [];
  const params: Param[] = [];
  const one = filter.statuses?.length === 1;
  const finished = one && filter.recent ? FINISHED[filter.statuses![0]!] : undefined;
  if (finished !== undefined) {
    // A literal (a name from the status table, not input): the partial indexes tasks_done and
    // tasks_archived serve only a query whose WHERE says their own, which a parameter cannot;
    // and named, since without ANALYZE statistics the planner prefers tasks_board and sorts.
    where.push(`status = ${finished}`);
  } else if (filter.statuses && filter.statuses.length > 0) {
    where.push(`status IN (${marks(filter.statuses.length)})`);
    params.push(...filter.statuses);
  } else if (!filter.archived) {
    where.push("status <> 'archived'");
  }
  if (filter.assignee !== undefined) {
    where.push("assignee = ?");
    params.push(filter.assignee);
  }
  if (filter.tenant !== undefined) {
    where.push("tenant = ?");
    params.push(filter.tenant);
  }
  if (filter.search !== undefined && filter.search.trim() !== "") {
    const like = `%${filter.search.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push("(id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')");
    params.push(like, like, like);
  }
  const sql = `SELECT id, title, '' AS body, assignee, status, priority, tenant, created_by,
      created_at, updated_at, started_at, completed_at, workspace_kind, workspace_path, skills,
      max_runtime_seconds, not_before, review_required, idempotency_key, consecutive_failures,
      retry_after, last_error, blocked_reason, current_run_id, result, archived_from, needs,
      block_kind, blocked_on, block_counts, reviewer, review_rounds, gate, gate_timeout_ms,
      gate_rounds
    FROM tasks ${finished !== undefined ? `INDEXED BY tasks_${filter.statuses![0]}` : ""}
    ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ${filter.recent ? RECENT_ORDER : one ? ONE_STATUS_ORDER : QUEUE_ORDER}
    ${filter.limit || filter.offset ? "LIMIT ?" : ""} ${filter.offset ? "OFFSET ?" : ""}`;
  if (filter.limit || filter.offset) params.push(filter.limit || -1);
  if (filter.offset) params.push(filter.offset);
  return db.all<TaskRow>(sql, ...params);
}

export function coreQueries(db: Db): CoreQueries {
  const appendEvent = (e: NewEvent): EventRow =>
    db.get<EventRow>(
      `INSERT INTO task_events (task_id, run_id, kind, actor, data, at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
      e.task_id,
      e.run_id,
      e.kind,
      e.actor,
      e.data,
      e.at,
    )!;
  const one = <T>(sql: string, ...params: Param[]) => db.get<T>(sql, ...params);
  const all = <T>(sql: string, ...params: Param[]) => db.all<T>(sql, ...params);
  return answered<CoreQueries>({
    taskGet: (id) => one<TaskRow>("SELECT * FROM tasks WHERE id = ?", id),
    // The writer holds the whole database: every row it reads stays as read.
    taskLocked: (id) => one<TaskRow>("SELECT * FROM tasks WHERE id = ?", id),
    taskIdsWithPrefix: (prefix, limit) =>
      db.all<{ id: string }>(
        "SELECT id FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        prefix,
        `${prefix}\x7f`,
        limit,
      ).map((r) => r.id),
    taskCountWithPrefix: (prefix) =>
      db.get<{ n: number }>(
        "SELECT count(*) AS n FROM tasks WHERE id >= ? AND id < ?",
        prefix,
        `${prefix}\x7f`,
      )!.n,
    taskInsert: (t) => {
      try {
        db.run(
          `INSERT INTO tasks (id, title, body, assignee, status, priority, tenant, created_by,
             created_at, updated_at, workspace_kind, workspace_path, skills, max_runtime_seconds,
             not_before, review_required, idempotency_key, needs, reviewer, review_rounds, gate,
             gate_timeout_ms, gate_rounds)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          t.id,
          t.title,
          t.body,
          t.assignee,
          t.status,
          t.priority,
          t.tenant,
          t.created_by,
          t.created_at,
          t.updated_at,
          t.workspace_kind,
          t.workspace_path,
          t.skills,
          t.max_runtime_seconds,
          t.not_before,
          t.review_required,
          t.idempotency_key,
          t.needs,
          t.reviewer,
          t.review_rounds,
          t.gate,
          t.gate_timeout_ms,
          t.gate_rounds,
        );
        return "inserted";
      } catch (err) {
        if (t.idempotency_key !== null && isUniqueViolation(err, "idempotency_key")) {
          return "duplicate_key";
        }
        if (isUniqueViolation(err, "tasks.id")) return "duplicate_id";
        throw err;
      }
    },
    taskWithKey: (key) =>
      one<TaskRow>("SELECT * FROM tasks WHERE idempotency_key = ? AND status <> 'archived'", key),
    tasksWithKeyBetween: (from, to, limit) =>
      db.all<TaskRow>(
        `SELECT * FROM tasks
         WHERE idempotency_key >= ? AND idempotency_key < ? AND status <> 'archived'
         ORDER BY idempotency_key LIMIT ?`,
        from,
        to,
        limit,
      ),
    taskUpdate: (id, set, ifStatus) => {
      const [sets, params] = setClause(set, TASK_COLUMNS);
      try {
        if (ifStatus === undefined) {
          return db.get<TaskRow>(
            `UPDATE tasks SET ${sets} WHERE id = ? RETURNING *`,
            ...params,
            id,
          );
        }
        return db.get<TaskRow>(
          `UPDATE tasks SET ${sets} WHERE id = ? AND status = ? RETURNING *`,
          ...params,
          id,
          ifStatus,
        );
      } catch (err) {
        if (isUniqueViolation(err, "tasks.idempotency_key")) {
          throw new KeyTakenError("idempotency_key");
        }
        throw err;
      }
    },
    taskList: (filter) => taskList(db, filter),
    taskClaimable: (f) => {
      const where = ["status = 'ready'", "(retry_after IS NULL OR retry_after <= ?)"];
      const params: Param[] = [f.now];
      if (f.assignee !== undefined) {
        where.push("assignee = ?");
        params.push(f.assignee);
      }
      if (f.assignees !== undefined) {
        if (f.assignees.length === 0) return undefined;
        where.push(`assignee IN (${marks(f.assignees.length)})`);
        params.push(...f.assignees);
      }
      if (f.tenant !== undefined) {
        where.push("tenant = ?");
        params.push(f.tenant);
      }
      if (f.notTenants !== undefined && f.notTenants.length > 0) {
        where.push(`(tenant IS NULL OR tenant NOT IN (${marks(f.notTenants.length)}))`);
        params.push(...f.notTenants);
      }
      if (f.notTasks !== undefined && f.notTasks.length > 0) {
        where.push(`id NOT IN (${marks(f.notTasks.length)})`);
        params.push(...f.notTasks);
      }
      if (f.labels !== undefined) {
        // every label the task needs is one the host offers
        where.push(
          f.labels.length === 0 ? "needs = '[]'" : `NOT EXISTS (SELECT 1 FROM json_each(needs)
             WHERE value NOT IN (${marks(f.labels.length)}))`,
        );
        params.push(...f.labels);
      }
      // Named: without ANALYZE statistics the planner would rather scan another index. The
      // ready part of tasks_board is the queue of every assignee, best first.
      const index = f.assignee !== undefined ? "tasks_claimable_assignee" : "tasks_board";
      return db.get<TaskRow>(
        `SELECT * FROM tasks INDEXED BY ${index} WHERE ${where.join(" AND ")}
         ORDER BY priority DESC, created_at, id LIMIT 1`,
        ...params,
      );
    },
    tasksClaimable: (assignees, now, limit) => {
      if (assignees.length === 0) return [];
      return db.all<TaskRow>(
        `SELECT * FROM tasks INDEXED BY tasks_board
         WHERE status = 'ready' AND (retry_after IS NULL OR retry_after <= ?)
           AND assignee IN (${marks(assignees.length)})
         ORDER BY priority DESC, created_at, id LIMIT ?`,
        now,
        ...assignees,
        limit,
      );
    },
    readyGroups: (now) =>
      all(
        `SELECT assignee, count(*) AS ready,
           sum(retry_after IS NULL OR retry_after <= ?) AS claimable, min(updated_at) AS oldest
         FROM tasks WHERE status = 'ready' GROUP BY assignee ORDER BY assignee`,
        now,
      ),
    scheduledDue: (now) =>
      db.all<{ id: string }>(
        // The partial index holds only scheduled tasks: without ANALYZE statistics the planner
        // would rather read every scheduled task, due or not, before each claim.
        `SELECT id FROM tasks INDEXED BY tasks_scheduled
         WHERE status = 'scheduled' AND not_before <= ? ORDER BY not_before`,
        now,
      ).map((r) => r.id),

    isAncestor: (ancestor, taskId) =>
      db.get(
        `WITH RECURSIVE up(id) AS (
           SELECT parent_id FROM task_links WHERE child_id = ?
           UNION SELECT l.parent_id FROM task_links l JOIN up ON l.child_id = up.id)
         SELECT 1 AS found FROM up WHERE id = ? LIMIT 1`,
        taskId,
        ancestor,
      ) !== undefined,
    linkInsert: (parent, child, at) =>
      db.run(
        "INSERT OR IGNORE INTO task_links (parent_id, child_id, created_at) VALUES (?, ?, ?)",
        parent,
        child,
        at,
      ).changes === 1,
    linkDelete: (parent, child) =>
      db.run("DELETE FROM task_links WHERE parent_id = ? AND child_id = ?", parent, child)
        .changes === 1,
    childIds: (parent) =>
      db.all<{ child_id: string }>(
        "SELECT child_id FROM task_links WHERE parent_id = ? ORDER BY child_id",
        parent,
      ).map((r) => r.child_id),
    unfinishedParents: (child) =>
      all<{ id: string; status: Status }>(
        `SELECT p.id, p.status FROM task_links l JOIN tasks p ON p.id = l.parent_id
         WHERE l.child_id = ? AND NOT ${PARENT_SATISFIED} ORDER BY p.id`,
        child,
      ),
    unfinishedParentsOf: (ids) => {
      if (ids.length === 0) return [];
      return db.all(
        `SELECT l.child_id AS child, p.id, p.title, p.status
         FROM json_each(?) j
         JOIN task_links l ON l.child_id = j.value
         JOIN tasks p ON p.id = l.parent_id
         WHERE NOT ${PARENT_SATISFIED}
         ORDER BY l.child_id, p.created_at, p.id`,
        JSON.stringify(ids),
      );
    },
    handoffTexts: (ids) => {
      if (ids.length === 0) return [];
      return db.all(
        `SELECT t.id, coalesce(
           nullif(trim(t.result), ''),
           (SELECT json_extract(e.data, '$.summary') FROM task_events e
             WHERE e.task_id = t.id AND e.kind IN ('completed', 'review_requested') ORDER BY e.id DESC LIMIT 1),
           (SELECT r.summary FROM task_runs r
             WHERE r.task_id = t.id AND r.summary IS NOT NULL ORDER BY r.id DESC LIMIT 1)
         ) AS text
         FROM json_each(?) j JOIN tasks t ON t.id = j.value`,
        JSON.stringify(ids),
      );
    },
    parentsOf: (child) =>
      all<TaskRef>(
        `SELECT p.id, p.title, p.status, p.assignee FROM task_links l
         JOIN tasks p ON p.id = l.parent_id WHERE l.child_id = ? ORDER BY p.created_at, p.id`,
        child,
      ),
    childrenOf: (parent) =>
      all<TaskRef>(
        `SELECT c.id, c.title, c.status, c.assignee FROM task_links l
         JOIN tasks c ON c.id = l.child_id WHERE l.parent_id = ? ORDER BY c.created_at, c.id`,
        parent,
      ),

    runInsert: (r) =>
      db.get<RunRow>(
        `INSERT INTO task_runs (task_id, profile, claimed_by, lease_token, lease_ms,
           lease_expires, host, pid, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        r.task_id,
        r.profile,
        r.claimed_by,
        r.lease_token,
        r.lease_ms,
        r.lease_expires,
        r.host,
        r.pid,
        r.started_at,
      )!,
    runGet: (id) => one<RunRow>("SELECT * FROM task_runs WHERE id = ?", id),
    runWithToken: (token) => one<RunRow>("SELECT * FROM task_runs WHERE lease_token = ?", token),
    // The writer holds the whole database: every row it reads stays as read.
    runWithTokenLocked: (token) =>
      one<RunRow>("SELECT * FROM task_runs WHERE lease_token = ?", token),
    runUpdate: (id, set, ifOpen) => {
      // usage: a reported figure is kept when the update brings none (`null`)
      const [sets, params] = setClause(set, RUN_COLUMNS, USAGE);
      return db.get<RunRow>(
        `UPDATE task_runs SET ${sets} WHERE id = ?${ifOpen ? " AND ended_at IS NULL" : ""}
         RETURNING *`,
        ...params,
        id,
      );
    },
    runRenew: (id, now) =>
      db.run(
        "UPDATE task_runs SET lease_expires = ? + lease_ms WHERE id = ? AND ended_at IS NULL",
        now,
        id,
      ).changes === 1,
    runsNewest: (taskId, limit) =>
      taskId === null
        ? all<RunRow>("SELECT * FROM task_runs ORDER BY id DESC LIMIT ?", limit)
        : all<RunRow>(
          "SELECT * FROM task_runs WHERE task_id = ? ORDER BY id DESC LIMIT ?",
          taskId,
          limit,
        ),
    runsOpen: () => all<RunRow>("SELECT * FROM task_runs WHERE ended_at IS NULL ORDER BY id"),
    // The writer holds the whole database: no other claim can count or open runs meanwhile.
    capLock: () => undefined,

    commentInsert: (c) =>
      db.get<CommentRow>(
        `INSERT INTO task_comments (task_id, run_id, author, body, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING *`,
        c.task_id,
        c.run_id,
        c.author,
        c.body,
        c.created_at,
      )!,
    commentsOf: (taskId, limit) =>
      all<CommentRow>(
        `SELECT * FROM (SELECT * FROM task_comments WHERE task_id = ? ORDER BY id DESC LIMIT ?)
         ORDER BY id`,
        taskId,
        limit,
      ),
    eventAppend: appendEvent,
    eventsAppend: (es) => es.map(appendEvent),
    eventsOf: (taskId, limit) =>
      all<EventRow>(
        `SELECT * FROM (SELECT * FROM task_events WHERE task_id = ? ORDER BY id DESC LIMIT ?)
         ORDER BY id`,
        taskId,
        limit,
      ),
    lastEventsOf: (taskId, kinds, limit) =>
      all<EventRow>(
        `SELECT * FROM task_events WHERE task_id = ? AND kind IN (SELECT value FROM json_each(?))
         ORDER BY id DESC LIMIT ?`,
        taskId,
        JSON.stringify(kinds),
        limit,
      ),
    eventsAfter: (after, limit) =>
      all<EventRow>("SELECT * FROM task_events WHERE id > ? ORDER BY id LIMIT ?", after, limit),
    eventHead: () =>
      db.get<{ id: number | null }>("SELECT max(id) AS id FROM task_events")?.id ?? 0,

    shiftDeadlines: (stepMs, before) => {
      const shift = (table: string, column: string, extra = "") =>
        db.run(
          `UPDATE ${table} SET ${column} = ${column} + ? WHERE ${column} > ?${extra}`,
          stepMs,
          before,
        ).changes;
      return {
        retries: shift("tasks", "retry_after"),
        leases: shift("task_runs", "lease_expires", " AND ended_at IS NULL"),
        notifications: shift("subscriptions", "next_attempt_at"),
      };
    },

    dispatchersPrune: (before, keep) => {
      db.run(
        "DELETE FROM dispatchers WHERE active = 0 AND last_tick < ? AND id <> ?",
        before,
        keep,
      );
    },
    dispatcherSeen: (me, now) => {
      db.run(
        `INSERT INTO dispatchers (id, host, pid, started_at, last_tick) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_tick = excluded.last_tick, stopped_at = NULL`,
        me.id,
        me.host,
        me.pid,
        now,
        now,
      );
    },
    dispatcherActive: () => one<DispatcherRow>("SELECT * FROM dispatchers WHERE active = 1"),
    dispatcherUpdate: (id, set) => {
      const [sets, params] = setClause(set, DISPATCHER_COLUMNS);
      db.run(`UPDATE dispatchers SET ${sets} WHERE id = ?`, ...params, id);
    },
    dispatchersSince: (since) =>
      all<DispatcherRow>(
        `SELECT * FROM dispatchers WHERE last_tick >= ? OR active = 1
         ORDER BY active DESC, last_tick DESC`,
        since,
      ),
  });
}

const USAGE = new Set(["usage"]);
