/**
 * The inbox: every task waiting on a person (blocked with a question, in review, in triage),
 * oldest first by how long it has waited in that status, and `reply`, which answers a blocked
 * task (a comment and an unblock in one write).
 */
import { type CommentRow, iso, type TaskRow, toComment } from "./_rows.ts";
import { type Kernel, loadTask, resolveId } from "./_kernel.ts";
import { comment } from "./comments.ts";
import { IllegalTransitionError, ValidationError } from "./errors.ts";
import { unblock } from "./lifecycle.ts";
import { derivedStatus } from "./readiness.ts";
import type { Actor, Comment, Task } from "./types.ts";

/** Why a task waits on a person: a question (blocked), a review, or triage. */
export type InboxKind = "question" | "review" | "triage";
/** The statuses in which a task waits on a person, and the kind of wait each one is. */
export const INBOX_KINDS = { blocked: "question", review: "review", triage: "triage" } as const;
export type InboxStatus = keyof typeof INBOX_KINDS;

/** The inbox lists this many tasks unless asked for another number; at most INBOX_MAX. */
export const INBOX_PAGE = 500;
export const INBOX_MAX = 5000;

export interface InboxItem {
  id: string;
  title: string;
  status: InboxStatus;
  kind: InboxKind;
  assignee: string | null;
  tenant: string | null;
  priority: number;
  /** When the task entered its status (the event that moved it there). */
  waiting_since: string;
  /** A blocked task's question (its `blocked_reason`). */
  question: string | null;
  /** A task in review: the completion's summary (from its `completed` event). */
  summary: string | null;
  /** A task in review: the completion's result. */
  result: string | null;
  /** The newest comment, if any: often the last word of the conversation. */
  last_comment: Comment | null;
  updated_at: string;
}

export interface Inbox {
  /** Every task waiting on a person (for the filter), also those past `limit`. */
  total: number;
  by_kind: Record<InboxKind, number>;
  /** Oldest wait first, at most `limit`. */
  items: InboxItem[];
}

export interface InboxFilter {
  tenant?: string | undefined;
  limit?: number | undefined;
}

interface ItemRow
  extends Pick<TaskRow, "id" | "title" | "assignee" | "tenant" | "priority" | "result"> {
  status: InboxStatus;
  blocked_reason: string | null;
  updated_at: number;
  since: number;
  summary: unknown;
  c_id: number | null;
  c_run_id: number | null;
  c_author: string | null;
  c_body: string | null;
  c_created_at: number | null;
}

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

function toItem(r: ItemRow): InboxItem {
  const last: CommentRow | null = r.c_id === null ? null : {
    id: r.c_id,
    task_id: r.id,
    run_id: r.c_run_id,
    author: r.c_author!,
    body: r.c_body!,
    created_at: r.c_created_at!,
  };
  return {
    id: r.id,
    title: r.title,
    status: r.status,
    kind: INBOX_KINDS[r.status],
    assignee: r.assignee,
    tenant: r.tenant,
    priority: r.priority,
    waiting_since: iso(r.since),
    question: r.status === "blocked" ? r.blocked_reason : null,
    summary: typeof r.summary === "string" ? r.summary : null,
    result: r.status === "review" ? r.result : null,
    last_comment: last === null ? null : toComment(last),
    updated_at: iso(r.updated_at),
  };
}

/**
 * inbox lists the non-archived tasks waiting on a person (blocked, review, triage) of the
 * board or of one tenant, oldest wait first, at most `limit` (default INBOX_PAGE), with the
 * counts of all of them.
 */
export function inbox(k: Kernel, filter: InboxFilter = {}): Inbox {
  const limit = filter.limit ?? INBOX_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > INBOX_MAX) {
    throw new ValidationError(`Inbox limit ${limit} is not a whole number from 1 to ${INBOX_MAX}`);
  }
  const tenant = filter.tenant ?? null;
  const params = tenant === null ? [] : [tenant];
  const items = k.db.all<ItemRow>(PAGE_SQL(tenant !== null), ...params, limit).map(toItem);
  const by_kind: Record<InboxKind, number> = { question: 0, review: 0, triage: 0 };
  let total = 0;
  for (
    const r of k.db.all<{ status: InboxStatus; n: number }>(
      `SELECT status, count(*) AS n FROM tasks
       WHERE status IN ${STATUSES_SQL}${tenant === null ? "" : " AND tenant = ?"}
       GROUP BY status`,
      ...params,
    )
  ) {
    by_kind[INBOX_KINDS[r.status]] = r.n;
    total += r.n;
  }
  return { total, by_kind, items };
}

/** What a reply made: the person's comment, and the task back in the queue. */
export interface Reply {
  task: Task;
  comment: Comment;
}

/**
 * reply answers a blocked task: it adds `body` as the actor's comment and unblocks the task
 * (back to the queue, failures reset: exactly `unblock`), in the caller's one transaction, so
 * either both happen or neither. A task that is not blocked is refused before anything is
 * written (IllegalTransitionError), and so is an empty body (ValidationError).
 */
export function reply(k: Kernel, ref: string, body: string, actor: Actor): Reply {
  const task = loadTask(k, resolveId(k, ref));
  if (body.trim() === "") {
    throw new ValidationError(`Cannot reply to task "${task.id}": the reply is empty`);
  }
  if (task.status !== "blocked") {
    throw new IllegalTransitionError(
      task.id,
      task.status,
      derivedStatus(k, task),
      "reply to",
      "a reply unblocks, so only a blocked task takes one; comment on it instead",
    );
  }
  const added = comment(k, task.id, body, actor);
  return { comment: added, task: unblock(k, task.id, actor) };
}
