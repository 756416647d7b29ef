/** Comments (the conversation on a task) and the append-only event log. */
import { type CommentRow, type EventRow, type TaskRow, toComment, toEvent } from "./_rows.ts";
import { appendEvent, type Kernel, loadTask, resolveId } from "./_kernel.ts";
import { noNul, parse } from "./input.ts";
import { fence } from "./runs.ts";
import { z } from "zod";
import type { Actor, Comment, TaskEvent } from "./types.ts";

export const COMMENT_MAX_CHARS = 64 * 1024;
const commentBody = z.string().refine((s) => s.trim().length > 0, "comment is empty")
  .refine(
    (s) => s.length <= COMMENT_MAX_CHARS,
    `comment is longer than ${COMMENT_MAX_CHARS} characters`,
  ).refine(noNul, "comment contains a NUL character");
const author = z.string().trim().min(1, "author is empty").max(
  100,
  "author is longer than 100 characters",
).refine(noNul, "author contains a NUL character");

export function addComment(
  k: Kernel,
  task: TaskRow,
  text: string,
  actor: Actor,
  runId: number | null,
): Comment {
  const who = parse(author, actor.name, "author");
  const id = k.db.run(
    "INSERT INTO task_comments (task_id, run_id, author, body, created_at) VALUES (?, ?, ?, ?, ?)",
    task.id,
    runId,
    who,
    text,
    k.now(),
  ).lastInsertRowid;
  appendEvent(k, task.id, runId, "commented", actor, { comment: id });
  return toComment(k.db.get<CommentRow>("SELECT * FROM task_comments WHERE id = ?", id)!);
}

/** comment adds a comment; a worker's comment is fenced by its lease token. */
export function comment(k: Kernel, ref: string, body: string, actor: Actor): Comment {
  const text = parse(commentBody, body, "comment");
  const task = loadTask(k, resolveId(k, ref));
  const run = fence(k, task, actor, "comment on");
  return addComment(k, task, text, actor, run?.id ?? null);
}

export function listComments(k: Kernel, taskId: string, limit = 1000): Comment[] {
  return k.db.all<CommentRow>(
    `SELECT * FROM (SELECT * FROM task_comments WHERE task_id = ? ORDER BY id DESC LIMIT ?)
     ORDER BY id`,
    taskId,
    limit,
  ).map(toComment);
}

export function listEvents(k: Kernel, taskId: string, limit = 200): TaskEvent[] {
  return k.db.all<EventRow>(
    `SELECT * FROM (SELECT * FROM task_events WHERE task_id = ? ORDER BY id DESC LIMIT ?)
     ORDER BY id`,
    taskId,
    limit,
  ).map(toEvent);
}

/** eventsSince reads the board's event stream after cursor `after` (the last id seen). */
export function eventsSince(k: Kernel, after: number, limit = 500): TaskEvent[] {
  return k.db.all<EventRow>(
    "SELECT * FROM task_events WHERE id > ? ORDER BY id LIMIT ?",
    after,
    limit,
  ).map(toEvent);
}
