/** The PostgreSQL driver's core operations (lib/store/driver/core.ts says what each does). */
import type { CommentRow, EventRow, RunRow, TaskRow } from "../_rows.ts";
import {
  type CoreQueries,
  type DispatcherRow,
  KeyTakenError,
  type ReadyGroup,
  type TaskRef,
} from "../driver/core.ts";
import type { Status } from "../transitions.ts";
import type { ListFilter } from "../tasks.ts";
import { and, count, first, type Fragment, isUniqueViolation, type Tx } from "./_sql.ts";

/** SQL condition: parent row `p` satisfies its children (readiness.ts says why). */
export const PARENT_SATISFIED =
  "(p.status = 'done' OR (p.status = 'archived' AND p.archived_from = 'done'))";

/**
 * The lock every event append takes, held until its transaction ends: event ids then commit
 * in id order, as with SQLite's single writer, so a follower reading "id > cursor" never
 * skips an event a slower transaction commits later with a smaller id (lib/store/feed.ts).
 */
export const EVENT_APPEND_LOCK = 0x6b62657674;

/**
 * The first key of the profile cap locks (capLock): `pg_advisory_xact_lock(CAP_LOCK, h)` with
 * `h` the profile's hashtext. Two-key locks are a space apart from one-key ones such as
 * EVENT_APPEND_LOCK; two profiles of one hash only share a lock (they take turns, no harm).
 */
export const CAP_LOCK = 0x6b6263; // "kbc"

const TASK_COLUMNS = [
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
] as const;

const RUN_COLUMNS = [
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
] as const;

const DISPATCHER_COLUMNS = [
  "last_tick",
  "active",
  "lease_expires",
  "stopped_at",
  "report",
] as const;

type Value = string | number | null;

/**
 * setClause turns `{ col: value }` into `col = $1, ...`. The names come from code; checking
 * them against the table's columns keeps a typo from becoming SQL. Columns in `coalesce`
 * keep their value when the update brings null.
 */
function setClause(
  t: Tx,
  set: Record<string, unknown>,
  allowed: readonly string[],
  coalesce: readonly string[] = [],
): Fragment {
  const cols = Object.keys(set).filter((c) => set[c] !== undefined);
  if (cols.length === 0) throw new Error("An update must set at least one column");
  const parts = cols.map((c) => {
    if (!allowed.includes(c)) throw new Error(`Unknown column "${c}"`);
    const v = set[c] as Value;
    return coalesce.includes(c) ? t`${t(c)} = coalesce(${v}, ${t(c)})` : t`${t(c)} = ${v}`;
  });
  return parts.slice(1).reduce((acc, p) => t`${acc}, ${p}`, parts[0]!);
}

const QUEUE_ORDER = `CASE status WHEN 'running' THEN 0 WHEN 'review' THEN 1 WHEN 'blocked' THEN 2
      WHEN 'ready' THEN 3 WHEN 'scheduled' THEN 4 WHEN 'todo' THEN 5 WHEN 'triage' THEN 6
      WHEN 'done' THEN 7 ELSE 8 END, priority DESC, created_at, id`;
/** One status: the queue's order without the status term, which index tasks_board reads. */
const ONE_STATUS_ORDER = "priority DESC, created_at, id";
/** Indexes tasks_done and tasks_archived read this order. */
const RECENT_ORDER = "coalesce(completed_at, updated_at) DESC, id DESC";

/** The columns of a task list (no bodies: lists stay small). */
const SUMMARY_COLUMNS = `id, title, '' AS body, assignee, status, priority, tenant, created_by,
  created_at, updated_at, started_at, completed_at, workspace_kind, workspace_path, skills,
  max_runtime_seconds, not_before, review_required, idempotency_key, consecutive_failures,
  retry_after, last_error, blocked_reason, current_run_id, result, archived_from, needs, block_kind, blocked_on, block_counts,
  reviewer, review_rounds, gate, gate_timeout_ms, gate_rounds`;

function taskList(t: Tx, filter: ListFilter): Promise<TaskRow[]> {
  const where: Fragment[] = [];
  const one = filter.statuses?.length === 1;
  if (filter.statuses && filter.statuses.length > 0) {
    where.push(t`status = ANY(${filter.statuses}::text[])`);
  } else if (!filter.archived) {
    where.push(t`status <> 'archived'`);
  }
  if (filter.assignee !== undefined) where.push(t`assignee = ${filter.assignee}`);
  if (filter.tenant !== undefined) where.push(t`tenant = ${filter.tenant}`);
  if (filter.search !== undefined && filter.search.trim() !== "") {
    // ILIKE over "C"-collated text folds ASCII letters only, as SQLite's LIKE does
    const like = `%${filter.search.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(t`(id ILIKE ${like} OR title ILIKE ${like} OR body ILIKE ${like})`);
  }
  const order = filter.recent ? RECENT_ORDER : one ? ONE_STATUS_ORDER : QUEUE_ORDER;
  const limit = filter.limit || filter.offset ? t`LIMIT ${filter.limit || null}` : t``;
  const offset = filter.offset ? t`OFFSET ${filter.offset}` : t``;
  return t<TaskRow[]>`SELECT ${t.unsafe(SUMMARY_COLUMNS)} FROM tasks WHERE ${and(t, where)}
    ORDER BY ${t.unsafe(order)} ${limit} ${offset}`;
}

/** The ready tasks a claim may take: its filter, in the order claims take them. */
function claimableWhere(t: Tx, now: number, extra: Fragment[]): Fragment {
  return and(t, [t`status = 'ready'`, t`(retry_after IS NULL OR retry_after <= ${now})`, ...extra]);
}

export function coreQueries(t: Tx): CoreQueries {
  const rows = <T>(q: Fragment) => q as unknown as Promise<T[]>;
  return {
    taskGet: (id) => first(t<TaskRow[]>`SELECT * FROM tasks WHERE id = ${id}`),
    // NO KEY UPDATE: the lock an UPDATE of the row takes, so every writer of it waits, while
    // rows that only refer to the task (its runs, events, comments) may still be inserted.
    taskLocked: (id) => first(t<TaskRow[]>`SELECT * FROM tasks WHERE id = ${id} FOR NO KEY UPDATE`),
    taskIdsWithPrefix: async (prefix, limit) =>
      (await t<
        { id: string }[]
      >`SELECT id FROM tasks WHERE id >= ${prefix} AND id < ${`${prefix}\x7f`}
        ORDER BY id LIMIT ${count(limit)}`).map((r) => r.id),
    taskCountWithPrefix: async (prefix) =>
      (await first(t<{ n: number }[]>`SELECT count(*) AS n FROM tasks
        WHERE id >= ${prefix} AND id < ${`${prefix}\x7f`}`))!.n,
    taskInsert: async (r) => {
      // ON CONFLICT DO NOTHING: a unique violation would abort the whole transaction, and
      // the caller goes on after a duplicate (it reads the task holding the key).
      const inserted = await t`
        INSERT INTO tasks (id, title, body, assignee, status, priority, tenant, created_by,
          created_at, updated_at, workspace_kind, workspace_path, skills, max_runtime_seconds,
          not_before, review_required, idempotency_key, needs, reviewer, review_rounds, gate,
          gate_timeout_ms, gate_rounds)
        VALUES (${r.id}, ${r.title}, ${r.body}, ${r.assignee}, ${r.status}, ${r.priority},
          ${r.tenant}, ${r.created_by}, ${r.created_at}, ${r.updated_at}, ${r.workspace_kind},
          ${r.workspace_path}, ${r.skills}, ${r.max_runtime_seconds}, ${r.not_before},
          ${r.review_required}, ${r.idempotency_key}, ${r.needs},
          ${r.reviewer}, ${r.review_rounds}, ${r.gate}, ${r.gate_timeout_ms}, ${r.gate_rounds})
        ON CONFLICT DO NOTHING RETURNING id`;
      if (inserted.length === 1) return "inserted";
      const [taken] = await t`SELECT 1 FROM tasks WHERE id = ${r.id}`;
      return taken !== undefined ? "duplicate_id" : "duplicate_key";
    },
    taskWithKey: (key) =>
      first(
        t<TaskRow[]>`SELECT * FROM tasks WHERE idempotency_key = ${key} AND status <> 'archived'`,
      ),
    // idempotency_key is COLLATE "C" (migration 001): the range compares bytes, as SQLite does
    tasksWithKeyBetween: (from, to, limit) =>
      t<TaskRow[]>`SELECT * FROM tasks
        WHERE idempotency_key >= ${from} AND idempotency_key < ${to} AND status <> 'archived'
        ORDER BY idempotency_key LIMIT ${count(limit)}`,
    taskUpdate: async (id, set, ifStatus) => {
      const sets = setClause(t, set, TASK_COLUMNS);
      const guard = ifStatus === undefined ? t`` : t`AND status = ${ifStatus}`;
      try {
        return await first(
          t<TaskRow[]>`UPDATE tasks SET ${sets} WHERE id = ${id} ${guard} RETURNING *`,
        );
      } catch (err) {
        // The transaction is aborted either way: the caller says what the taken key means.
        if (isUniqueViolation(err, "tasks_idempotency_key")) {
          throw new KeyTakenError("idempotency_key");
        }
        throw err;
      }
    },
    taskList: (filter) => taskList(t, filter),
    taskClaimable: (f) => {
      const extra: Fragment[] = [];
      if (f.assignee !== undefined) extra.push(t`assignee = ${f.assignee}`);
      if (f.assignees !== undefined) {
        if (f.assignees.length === 0) return Promise.resolve(undefined);
        extra.push(t`assignee = ANY(${f.assignees as string[]}::text[])`);
      }
      if (f.tenant !== undefined) extra.push(t`tenant = ${f.tenant}`);
      if (f.notTenants !== undefined && f.notTenants.length > 0) {
        extra.push(t`(tenant IS NULL OR tenant <> ALL(${f.notTenants as string[]}::text[]))`);
      }
      if (f.notTasks !== undefined && f.notTasks.length > 0) {
        extra.push(t`id <> ALL(${f.notTasks as string[]}::text[])`);
      }
      // every label the task needs is one the host offers
      if (f.labels !== undefined) {
        // an array parameter (a jsonb one would be sent as a JSON string of the text)
        extra.push(t`needs::jsonb <@ to_jsonb(${f.labels as string[]}::text[])`);
      }
      // SKIP LOCKED: a claim never waits on another one; it takes the best task no other
      // claim in flight holds, and the caller's compare-and-set makes the move. At READ
      // COMMITTED a row that changed since the statement began is checked again as it is
      // locked, and passed over when it is no longer claimable.
      return first(t<TaskRow[]>`SELECT * FROM tasks WHERE ${claimableWhere(t, f.now, extra)}
        ORDER BY priority DESC, created_at, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED`);
    },
    tasksClaimable: (assignees, now, limit) => {
      if (assignees.length === 0) return Promise.resolve([]);
      return rows<TaskRow>(t`SELECT * FROM tasks
        WHERE ${claimableWhere(t, now, [t`assignee = ANY(${assignees as string[]}::text[])`])}
        ORDER BY priority DESC, created_at, id LIMIT ${count(limit)}`);
    },
    readyGroups: (now) =>
      rows<ReadyGroup>(t`SELECT assignee, count(*) AS ready,
          count(*) FILTER (WHERE retry_after IS NULL OR retry_after <= ${now}) AS claimable,
          min(updated_at) AS oldest
        FROM tasks WHERE status = 'ready' GROUP BY assignee ORDER BY assignee NULLS FIRST`),
    scheduledDue: async (now) =>
      (await t<{ id: string }[]>`SELECT id FROM tasks
        WHERE status = 'scheduled' AND not_before <= ${now} ORDER BY not_before
        FOR NO KEY UPDATE SKIP LOCKED`).map((r) => r.id),

    isAncestor: async (ancestor, taskId) =>
      (await t`WITH RECURSIVE up(id) AS (
          SELECT parent_id FROM task_links WHERE child_id = ${taskId}
          UNION SELECT l.parent_id FROM task_links l JOIN up ON l.child_id = up.id)
        SELECT 1 AS found FROM up WHERE id = ${ancestor} LIMIT 1`).length > 0,
    linkInsert: async (parent, child, at) =>
      (await t`INSERT INTO task_links (parent_id, child_id, created_at)
        VALUES (${parent}, ${child}, ${at}) ON CONFLICT DO NOTHING`).count === 1,
    linkDelete: async (parent, child) =>
      (await t`DELETE FROM task_links WHERE parent_id = ${parent} AND child_id = ${child}`)
        .count === 1,
    childIds: async (parent) =>
      (await t<{ child_id: string }[]>`SELECT child_id FROM task_links
        WHERE parent_id = ${parent} ORDER BY child_id`).map((r) => r.child_id),
    unfinishedParents: (child, guard) =>
      guard
        // Every parent is locked, satisfied or not: a writer of any of them may change that.
        ? rows<{ id: string; status: Status }>(t`SELECT id, status FROM (
            SELECT p.id, p.status, ${t.unsafe(PARENT_SATISFIED)} AS satisfied
            FROM task_links l JOIN tasks p ON p.id = l.parent_id
            WHERE l.child_id = ${child} FOR SHARE OF p NOWAIT) AS parents
          WHERE NOT satisfied ORDER BY id`)
        : rows<{ id: string; status: Status }>(t`SELECT p.id, p.status
            FROM task_links l JOIN tasks p ON p.id = l.parent_id
            WHERE l.child_id = ${child} AND NOT ${t.unsafe(PARENT_SATISFIED)} ORDER BY p.id`),
    unfinishedParentsOf: (ids) => {
      if (ids.length === 0) return Promise.resolve([]);
      return rows(t`SELECT l.child_id AS child, p.id, p.title, p.status
        FROM task_links l JOIN tasks p ON p.id = l.parent_id
        WHERE l.child_id = ANY(${ids as string[]}::text[]) AND NOT ${t.unsafe(PARENT_SATISFIED)}
        ORDER BY l.child_id, p.created_at, p.id`);
    },
    handoffTexts: (ids) => {
      if (ids.length === 0) return Promise.resolve([]);
      return rows(t`SELECT tk.id, coalesce(
          nullif(trim(tk.result), ''),
          (SELECT e.data::json ->> 'summary' FROM task_events e
            WHERE e.task_id = tk.id AND e.kind IN ('completed', 'review_requested') ORDER BY e.id DESC LIMIT 1),
          (SELECT r.summary FROM task_runs r
            WHERE r.task_id = tk.id AND r.summary IS NOT NULL ORDER BY r.id DESC LIMIT 1)
        ) AS text
        FROM unnest(${ids as string[]}::text[]) WITH ORDINALITY AS j(id, n)
        JOIN tasks tk ON tk.id = j.id ORDER BY j.n`);
    },
    parentsOf: (child) =>
      rows<TaskRef>(t`SELECT p.id, p.title, p.status, p.assignee FROM task_links l
        JOIN tasks p ON p.id = l.parent_id WHERE l.child_id = ${child}
        ORDER BY p.created_at, p.id`),
    childrenOf: (parent) =>
      rows<TaskRef>(t`SELECT c.id, c.title, c.status, c.assignee FROM task_links l
        JOIN tasks c ON c.id = l.child_id WHERE l.parent_id = ${parent}
        ORDER BY c.created_at, c.id`),

    runInsert: async (r) =>
      (await first(t<RunRow[]>`INSERT INTO task_runs (task_id, profile, claimed_by, lease_token,
          lease_ms, lease_expires, host, pid, started_at)
        VALUES (${r.task_id}, ${r.profile}, ${r.claimed_by}, ${r.lease_token}, ${r.lease_ms},
          ${r.lease_expires}, ${r.host}, ${r.pid}, ${r.started_at}) RETURNING *`))!,
    runGet: (id) => first(t<RunRow[]>`SELECT * FROM task_runs WHERE id = ${id}`),
    runWithToken: (token) =>
      first(t<RunRow[]>`SELECT * FROM task_runs WHERE lease_token = ${token}`),
    runWithTokenLocked: (token) =>
      first(t<RunRow[]>`SELECT * FROM task_runs WHERE lease_token = ${token} FOR NO KEY UPDATE`),
    runUpdate: (id, set, ifOpen) => {
      // usage: a reported figure is kept when the update brings none (`null`)
      const sets = setClause(t, set, RUN_COLUMNS, ["usage"]);
      const guard = ifOpen ? t`AND ended_at IS NULL` : t``;
      return first(t<RunRow[]>`UPDATE task_runs SET ${sets} WHERE id = ${id} ${guard} RETURNING *`);
    },
    runRenew: async (id, now) =>
      (await t`UPDATE task_runs SET lease_expires = ${now}::bigint + lease_ms
        WHERE id = ${id} AND ended_at IS NULL`).count === 1,
    runsNewest: (taskId, limit) =>
      taskId === null
        ? rows<RunRow>(t`SELECT * FROM task_runs ORDER BY id DESC LIMIT ${count(limit)}`)
        : rows<RunRow>(t`SELECT * FROM task_runs WHERE task_id = ${taskId}
            ORDER BY id DESC LIMIT ${count(limit)}`),
    runsOpen: () => rows<RunRow>(t`SELECT * FROM task_runs WHERE ended_at IS NULL ORDER BY id`),
    capLock: async (profiles) => {
      if (profiles.length === 0) return;
      // One statement, the locks taken in hash order (the sorted subquery feeds them in turn).
      // The caller's count is a statement of its own: at READ COMMITTED it then sees every
      // run that the lock's last holder committed.
      await t`SELECT pg_advisory_xact_lock(${CAP_LOCK}::int, h) FROM (
          SELECT DISTINCT hashtext(p) AS h FROM unnest(${profiles as string[]}::text[]) AS p
          ORDER BY h) AS caps`;
    },

    commentInsert: async (c) =>
      (await first(t<CommentRow[]>`INSERT INTO task_comments (task_id, run_id, author, body,
          created_at) VALUES (${c.task_id}, ${c.run_id}, ${c.author}, ${c.body}, ${c.created_at})
        RETURNING *`))!,
    commentsOf: (taskId, limit) =>
      rows<CommentRow>(t`SELECT * FROM (SELECT * FROM task_comments WHERE task_id = ${taskId}
        ORDER BY id DESC LIMIT ${count(limit)}) c ORDER BY id`),
    eventAppend: async (e) =>
      // The lock is taken as the SELECT forms the row, before the row's id is drawn.
      (await first(t<EventRow[]>`INSERT INTO task_events (task_id, run_id, kind, actor, data, at)
        SELECT ${e.task_id}, ${e.run_id}::bigint, ${e.kind}, ${e.actor}, ${e.data}, ${e.at}::bigint
        FROM (SELECT pg_advisory_xact_lock(${EVENT_APPEND_LOCK})) AS locked
        RETURNING *`))!,
    eventsAppend: async (es) => {
      if (es.length === 0) return [];
      // One statement for all of them, the lock taken as the first row forms, before any id is
      // drawn; ids are drawn in the order given (the rows are sorted before they are numbered).
      const list = JSON.stringify(es);
      const stored = await t<EventRow[]>`INSERT INTO task_events (task_id, run_id, kind, actor,
          data, at)
        SELECT e.task_id, e.run_id, e.kind, e.actor, e.data, e.at
        FROM (SELECT pg_advisory_xact_lock(${EVENT_APPEND_LOCK})) AS locked,
          ROWS FROM (json_to_recordset(${list}::text::json) AS (task_id text, run_id bigint,
            kind text, actor text, data text, at bigint)) WITH ORDINALITY
            AS e(task_id, run_id, kind, actor, data, at, n)
        ORDER BY e.n
        RETURNING *`;
      return Array.from(stored).sort((a, b) => a.id - b.id);
    },
    eventsOf: (taskId, limit) =>
      rows<EventRow>(t`SELECT * FROM (SELECT * FROM task_events WHERE task_id = ${taskId}
        ORDER BY id DESC LIMIT ${count(limit)}) e ORDER BY id`),
    lastEventsOf: (taskId, kinds, limit) =>
      rows<EventRow>(t`SELECT * FROM task_events WHERE task_id = ${taskId}
        AND kind = ANY(${kinds as string[]}::text[]) ORDER BY id DESC LIMIT ${count(limit)}`),
    eventsAfter: (after, limit) =>
      rows<EventRow>(t`SELECT * FROM task_events WHERE id > ${after}
        ORDER BY id LIMIT ${count(limit)}`),
    eventHead: async () =>
      (await first(t<{ id: number | null }[]>`SELECT max(id) AS id FROM task_events`))?.id ?? 0,

    shiftDeadlines: async (stepMs, before) => {
      const retries = await t`UPDATE tasks SET retry_after = retry_after + ${stepMs}
        WHERE retry_after > ${before}`;
      const leases = await t`UPDATE task_runs SET lease_expires = lease_expires + ${stepMs}
        WHERE lease_expires > ${before} AND ended_at IS NULL`;
      const notifications = await t`UPDATE subscriptions
        SET next_attempt_at = next_attempt_at + ${stepMs} WHERE next_attempt_at > ${before}`;
      return {
        retries: retries.count,
        leases: leases.count,
        notifications: notifications.count,
      };
    },

    dispatchersPrune: async (before, keep) => {
      await t`DELETE FROM dispatchers WHERE active = 0 AND last_tick < ${before} AND id <> ${keep}`;
    },
    dispatcherSeen: async (me, now) => {
      await t`INSERT INTO dispatchers (id, host, pid, started_at, last_tick)
        VALUES (${me.id}, ${me.host}, ${me.pid}, ${now}, ${now})
        ON CONFLICT (id) DO UPDATE SET last_tick = excluded.last_tick, stopped_at = NULL`;
    },
    dispatcherActive: () => first(t<DispatcherRow[]>`SELECT * FROM dispatchers WHERE active = 1`),
    dispatcherUpdate: async (id, set) => {
      await t`UPDATE dispatchers SET ${setClause(t, set, DISPATCHER_COLUMNS)} WHERE id = ${id}`;
    },
    dispatchersSince: (since) =>
      rows<DispatcherRow>(t`SELECT * FROM dispatchers WHERE last_tick >= ${since} OR active = 1
        ORDER BY active DESC, last_tick DESC`),
  };
}
