/**
 * The worker context: what a worker is told about its task (the task, its body, earlier
 * attempts, its parents' handoffs, recent comments). Every section is capped so that a
 * prompt stays small however large the board's text grows; a cut says how much it left out.
 */
import type { EventRow, RunRow } from "./_rows.ts";
import { iso } from "./_rows.ts";
import { type Kernel, loadTask, resolveId } from "./_kernel.ts";
import { REJECTION_PREFIX } from "./review_comments.ts";
import { listComments } from "./comments.ts";
import type { Task } from "./types.ts";
import { toTask } from "./_rows.ts";

export interface ContextCaps {
  bodyChars: number;
  attempts: number;
  attemptChars: number;
  parents: number;
  handoffChars: number;
  comments: number;
  commentChars: number;
  /** The newest review rejection (its reason, line comments and quoted lines). */
  reviewChars: number;
}

export const DEFAULT_CAPS: ContextCaps = {
  bodyChars: 8_000,
  attempts: 5,
  attemptChars: 1_500,
  parents: 10,
  handoffChars: 3_000,
  comments: 10,
  commentChars: 1_500,
  reviewChars: 16_000,
};

export interface Attempt {
  run: number;
  profile: string | null;
  outcome: string | null;
  started_at: string;
  ended_at: string | null;
  summary: string | null;
  error: string | null;
}

export interface Handoff {
  id: string;
  title: string;
  status: string;
  summary: string | null;
  metadata: string | null;
  result: string | null;
}

export interface WorkerContext {
  task: Omit<Task, "body">;
  body: string;
  attempts: Attempt[];
  attempts_omitted: number;
  parents: Handoff[];
  parents_omitted: number;
  comments: { author: string; at: string; body: string }[];
  comments_omitted: number;
}

/** cap shortens `text` to `max` characters, saying how much it cut (never half a surrogate pair). */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const high = text.charCodeAt(max - 1);
  const end = high >= 0xd800 && high <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}\n[... truncated: ${text.length - end} more characters]`;
}

function handoffOf(k: Kernel, parentId: string): Pick<Handoff, "summary" | "metadata" | "result"> {
  const ev = k.db.get<EventRow>(
    "SELECT * FROM task_events WHERE task_id = ? AND kind = 'completed' ORDER BY id DESC LIMIT 1",
    parentId,
  );
  const data = ev ? JSON.parse(ev.data) as Record<string, unknown> : {};
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    summary: str(data["summary"]),
    metadata: data["metadata"] === undefined ? null : JSON.stringify(data["metadata"]),
    result: str(data["result"]),
  };
}

export function buildContext(
  k: Kernel,
  ref: string,
  caps: ContextCaps = DEFAULT_CAPS,
): WorkerContext {
  const row = loadTask(k, resolveId(k, ref));
  const { body, ...task } = toTask(row);
  const ended = k.db.all<RunRow>(
    "SELECT * FROM task_runs WHERE task_id = ? AND ended_at IS NOT NULL ORDER BY id DESC",
    row.id,
  );
  const attempts = ended.slice(0, caps.attempts).reverse().map((r) => ({
    run: r.id,
    profile: r.profile,
    outcome: r.outcome,
    started_at: iso(r.started_at),
    ended_at: iso(r.ended_at),
    summary: r.summary === null ? null : cap(r.summary, caps.attemptChars),
    error: r.error === null ? null : cap(r.error, caps.attemptChars),
  }));
  const parentRows = k.db.all<{ id: string; title: string; status: string }>(
    `SELECT p.id, p.title, p.status FROM task_links l JOIN tasks p ON p.id = l.parent_id
     WHERE l.child_id = ? ORDER BY p.completed_at, p.id`,
    row.id,
  );
  const parents = parentRows.slice(0, caps.parents).map((p) => {
    const h = handoffOf(k, p.id);
    const third = Math.floor(caps.handoffChars / 3);
    return {
      ...p,
      summary: h.summary === null ? null : cap(h.summary, third),
      metadata: h.metadata === null ? null : cap(h.metadata, third),
      result: h.result === null ? null : cap(h.result, third),
    };
  });
  const total = k.db.get<{ n: number }>(
    "SELECT count(*) AS n FROM task_comments WHERE task_id = ?",
    row.id,
  )!.n;
  const listed = listComments(k, row.id, caps.comments);
  // The newest review rejection is what this attempt must answer: its line comments and
  // quoted diff lines get room of their own.
  const review = listed.findLast((c) => c.body.startsWith(REJECTION_PREFIX));
  const comments = listed.map((c) => ({
    author: c.author,
    at: c.created_at,
    body: cap(c.body, c === review ? caps.reviewChars : caps.commentChars),
  }));
  return {
    task,
    body: cap(body, caps.bodyChars),
    attempts,
    attempts_omitted: ended.length - attempts.length,
    parents,
    parents_omitted: parentRows.length - parents.length,
    comments,
    comments_omitted: total - comments.length,
  };
}
