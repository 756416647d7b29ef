/**
 * The inbox: every task waiting on a person (blocked with a question, in review, in triage),
 * oldest first by how long it has waited in that status, and `reply`, which answers a blocked
 * task (a comment and an unblock in one write).
 */
import { type CommentRow, iso, toComment } from "./_rows.ts";
import type { InboxRow, InboxStatus } from "./driver/reads.ts";
import { type Kernel, resolveTask } from "./_kernel.ts";
import { comment } from "./comments.ts";
import { IllegalTransitionError, ValidationError } from "./errors.ts";
import { unblock } from "./lifecycle.ts";
import { derivedStatus } from "./readiness.ts";
import type { Actor, Comment, Task } from "./types.ts";

/** Why a task waits on a person: a question (blocked), a review, or triage. */
export type InboxKind = "question" | "review" | "triage";
/** The statuses in which a task waits on a person, and the kind of wait each one is. */
export const INBOX_KINDS = {
  blocked: "question",
  review: "review",
  triage: "triage",
} as const satisfies Record<InboxStatus, InboxKind>;
export type { InboxStatus };

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

function toItem(r: InboxRow): InboxItem {
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
    // a triaged task may hold the reason a block sent it there (the loop breaker's)
    question: r.status === "blocked" || r.status === "triage" ? r.blocked_reason : null,
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
export async function inbox(k: Kernel, filter: InboxFilter = {}): Promise<Inbox> {
  const limit = filter.limit ?? INBOX_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > INBOX_MAX) {
    throw new ValidationError(`Inbox limit ${limit} is not a whole number from 1 to ${INBOX_MAX}`);
  }
  const tenant = filter.tenant ?? null;
  const items = (await k.q.inboxPage(tenant, limit)).map(toItem);
  const by_kind: Record<InboxKind, number> = { question: 0, review: 0, triage: 0 };
  let total = 0;
  for (const r of await k.q.inboxCounts(tenant)) {
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
export async function reply(k: Kernel, ref: string, body: string, actor: Actor): Promise<Reply> {
  const task = await resolveTask(k, ref);
  if (body.trim() === "") {
    throw new ValidationError(`Cannot reply to task "${task.id}": the reply is empty`);
  }
  if (task.status !== "blocked") {
    throw new IllegalTransitionError(
      task.id,
      task.status,
      await derivedStatus(k, task),
      "reply to",
      "a reply unblocks, so only a blocked task takes one; comment on it instead",
    );
  }
  const added = await comment(k, task.id, body, actor);
  return { comment: added, task: await unblock(k, task.id, actor) };
}
