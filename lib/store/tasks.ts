/** Task creation, reading, listing and plain edits (no status changes beyond creation). */
import { randomBytes } from "node:crypto";
import { type TaskRow, toTask, toTaskSummary } from "./_rows.ts";
import { appendEvent, EVENT_KIND, type Kernel, loadTask, resolveId } from "./_kernel.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import { CreateTaskInput, EditTaskInput, name, parse } from "./input.ts";
import { derivedStatus, PARENT_SATISFIED } from "./readiness.ts";
import { addLink } from "./links.ts";
import { fenceOrigin } from "./runs.ts";
import type { Actor, Task, TaskSummary } from "./types.ts";
import { canTransition, type Status } from "./transitions.ts";

export function newTaskId(): string {
  return `t_${randomBytes(4).toString("hex")}`;
}

function isUniqueViolation(err: unknown, column: string): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message) &&
    err.message.includes(column);
}

export interface CreateResult {
  task: Task;
  /** false when an existing task with the same idempotency key was returned instead. */
  created: boolean;
}

/**
 * createTask inserts a task, links its parents and derives its status. With an
 * idempotency key, the database's unique index decides: a second create with the same key
 * (even a racing one in another process) returns the first task and changes nothing.
 */
export function createTask(k: Kernel, raw: CreateTaskInput, actor: Actor): CreateResult {
  const input = parse(CreateTaskInput, raw, "task");
  const origin = fenceOrigin(k, actor, "create a task");
  const parents = [...new Set(input.parents.map((p) => resolveId(k, p)))];
  for (const p of parents) {
    const parent = loadTask(k, p);
    if (parent.status === "archived" && parent.archived_from !== "done") {
      throw new ConflictError(
        "archived_parent",
        `Parent "${p}" is archived unfinished; a child of it could never start`,
      );
    }
  }
  const now = k.now();
  const createdBy = input.created_by ?? actor.name;
  let id = newTaskId();
  for (let attempt = 0;; attempt++) {
    try {
      k.db.run(
        `INSERT INTO tasks (id, title, body, assignee, status, priority, tenant, created_by,
           created_at, updated_at, workspace_kind, workspace_path, skills, max_runtime_seconds,
           not_before, review_required, idempotency_key)
         VALUES (?, ?, ?, ?, 'todo', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        id,
        input.title,
        input.body,
        input.assignee ?? null,
        input.priority,
        input.tenant ?? null,
        createdBy,
        now,
        now,
        input.workspace.kind,
        input.workspace.path,
        JSON.stringify(input.skills),
        input.max_runtime_seconds ?? null,
        input.not_before ?? null,
        input.review_required ? 1 : 0,
        input.idempotency_key ?? null,
      );
      break;
    } catch (err) {
      if (input.idempotency_key && isUniqueViolation(err, "idempotency_key")) {
        const existing = k.db.get<TaskRow>(
          "SELECT * FROM tasks WHERE idempotency_key = ? AND status <> 'archived'",
          input.idempotency_key,
        )!;
        return { task: toTask(existing), created: false };
      }
      if (isUniqueViolation(err, "tasks.id") && attempt < 5) {
        id = newTaskId();
        continue;
      }
      throw err;
    }
  }
  for (const p of parents) addLink(k, p, id);
  let row = loadTask(k, id);
  const status: Status = input.triage ? "triage" : derivedStatus(k, row);
  if (!canTransition("[*]", status, "create")) throw new Error(`create cannot reach ${status}`);
  k.db.run("UPDATE tasks SET status = ? WHERE id = ?", status, id);
  appendEvent(k, id, null, EVENT_KIND.create, actor, {
    to: status,
    ...(parents.length > 0 ? { parents } : {}),
    ...(origin ? { origin_task: origin.task_id, origin_run: origin.id } : {}),
  });
  row = loadTask(k, id);
  return { task: toTask(row), created: true };
}

/**
 * createTasks creates each input as createTask would (same validation, idempotency and
 * derived status), in the caller's one transaction: the first input that fails throws, and
 * then none of the batch is written. Results come back in input order.
 */
export function createTasks(
  k: Kernel,
  raws: readonly CreateTaskInput[],
  actor: Actor,
): CreateResult[] {
  return raws.map((raw) => createTask(k, raw, actor));
}

export function getTask(k: Kernel, idOrPrefix: string): Task {
  return toTask(loadTask(k, resolveId(k, idOrPrefix)));
}

export interface ListFilter {
  statuses?: Status[] | undefined;
  assignee?: string | undefined;
  tenant?: string | undefined;
  /** Include archived tasks (they are left out unless asked for). */
  archived?: boolean | undefined;
  /** Only tasks whose id, title or body contains this text (ASCII case-insensitive). */
  search?: string | undefined;
  limit?: number | undefined;
  /** Skip this many tasks of the ordered list first (pagination). */
  offset?: number | undefined;
  /**
   * Newest first, by completion (else last change): how finished work reads (done, archived),
   * instead of the queue's order (status, priority, age).
   */
  recent?: boolean | undefined;
}

/** The longest search text listTasks takes. */
export const SEARCH_MAX_CHARS = 1000;

const QUEUE_ORDER = `CASE status WHEN 'running' THEN 0 WHEN 'review' THEN 1 WHEN 'blocked' THEN 2
      WHEN 'ready' THEN 3 WHEN 'scheduled' THEN 4 WHEN 'todo' THEN 5 WHEN 'triage' THEN 6
      WHEN 'done' THEN 7 ELSE 8 END, priority DESC, created_at, id`;
const FINISHED: Partial<Record<Status, string>> = { done: "'done'", archived: "'archived'" };

/** One status: the queue's order without the status term, which index tasks_board reads. */
const ONE_STATUS_ORDER = "priority DESC, created_at, id";
/** Index tasks_finished reads this order for done and archived. */
const RECENT_ORDER = "coalesce(completed_at, updated_at) DESC, id DESC";

/**
 * listTasks returns tasks without bodies, by status order, priority, then age (or, with
 * `recent`, newest finished first).
 */
export function listTasks(k: Kernel, filter: ListFilter = {}): TaskSummary[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const one = filter.statuses?.length === 1;
  const finished = one && filter.recent ? FINISHED[filter.statuses![0]!] : undefined;
  if (finished !== undefined) {
    // A literal (a name from the status table, not input): the partial indexes tasks_done and
    // tasks_archived serve only a query whose WHERE says their own, which a parameter cannot;
    // and named, since without ANALYZE statistics the planner prefers tasks_board and sorts.
    where.push(`status = ${finished}`);
  } else if (filter.statuses && filter.statuses.length > 0) {
    where.push(`status IN (${filter.statuses.map(() => "?").join(", ")})`);
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
    // SQLite refuses LIKE patterns over 50,000 bytes ("pattern too complex")
    if (filter.search.length > SEARCH_MAX_CHARS) {
      throw new ValidationError(`search is longer than ${SEARCH_MAX_CHARS} characters`);
    }
    const like = `%${filter.search.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push("(id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')");
    params.push(like, like, like);
  }
  const sql = `SELECT id, title, '' AS body, assignee, status, priority, tenant, created_by,
      created_at, updated_at, started_at, completed_at, workspace_kind, workspace_path, skills,
      max_runtime_seconds, not_before, review_required, idempotency_key, consecutive_failures,
      retry_after, last_error, blocked_reason, current_run_id, result, archived_from
    FROM tasks ${finished !== undefined ? `INDEXED BY tasks_${filter.statuses![0]}` : ""}
    ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ${filter.recent ? RECENT_ORDER : one ? ONE_STATUS_ORDER : QUEUE_ORDER}
    ${filter.limit || filter.offset ? "LIMIT ?" : ""} ${filter.offset ? "OFFSET ?" : ""}`;
  if (filter.limit || filter.offset) params.push(filter.limit || -1);
  if (filter.offset) params.push(filter.offset);
  return k.db.all<TaskRow>(sql, ...params).map(toTaskSummary);
}

export function editTask(k: Kernel, idOrPrefix: string, raw: EditTaskInput, actor: Actor): Task {
  const patch = parse(EditTaskInput, raw, "edit");
  const task = loadTask(k, resolveId(k, idOrPrefix));
  const cols = (["title", "body", "priority"] as const).filter((c) => patch[c] !== undefined);
  const changed = cols.filter((c) => patch[c] !== task[c]);
  if (changed.length > 0) {
    k.db.run(
      `UPDATE tasks SET ${changed.map((c) => `${c} = ?`).join(", ")}, updated_at = ? WHERE id = ?`,
      ...changed.map((c) => patch[c]!),
      k.now(),
      task.id,
    );
    appendEvent(k, task.id, task.current_run_id, "edited", actor, { fields: changed });
  }
  return toTask(loadTask(k, task.id));
}

export function assignTask(
  k: Kernel,
  idOrPrefix: string,
  assignee: string | null,
  actor: Actor,
): Task {
  const to = assignee === null ? null : parse(name("assignee"), assignee, "assignee");
  const task = loadTask(k, resolveId(k, idOrPrefix));
  if (task.assignee !== to) {
    k.db.run(
      "UPDATE tasks SET assignee = ?, updated_at = ? WHERE id = ?",
      to,
      k.now(),
      task.id,
    );
    appendEvent(k, task.id, task.current_run_id, "assigned", actor, {
      from: task.assignee,
      to,
    });
  }
  return toTask(loadTask(k, task.id));
}

/** waitingOn lists the parents that keep a task from being ready. */
export function waitingOn(k: Kernel, taskId: string): { id: string; status: Status }[] {
  return k.db.all(
    `SELECT p.id, p.status FROM task_links l JOIN tasks p ON p.id = l.parent_id
     WHERE l.child_id = ? AND NOT ${PARENT_SATISFIED} ORDER BY p.id`,
    taskId,
  );
}
