/** Comments (the conversation on a task) and the append-only event log. */
import { type TaskRow, toComment, toEvent } from "./_rows.ts";
import { appendEvent, type Kernel, resolveTask } from "./_kernel.ts";
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

export async function addComment(
  k: Kernel,
  task: TaskRow,
  text: string,
  actor: Actor,
  runId: number | null,
): Promise<Comment> {
  const who = parse(author, actor.name, "author");
  const row = await k.q.commentInsert({
    task_id: task.id,
    run_id: runId,
    author: who,
    body: text,
    created_at: k.now(),
  });
  appendEvent(k, task.id, runId, "commented", actor, { comment: row.id });
  return toComment(row);
}

/** comment adds a comment; a worker's comment is fenced by its lease token. */
export async function comment(
  k: Kernel,
  ref: string,
  body: string,
  actor: Actor,
): Promise<Comment> {
  const text = parse(commentBody, body, "comment");
  const task = await resolveTask(k, ref);
  const run = await fence(k, task, actor, "comment on");
  return addComment(k, task, text, actor, run?.id ?? null);
}

export async function listComments(k: Kernel, taskId: string, limit = 1000): Promise<Comment[]> {
  return (await k.q.commentsOf(taskId, limit)).map(toComment);
}

export async function listEvents(k: Kernel, taskId: string, limit = 200): Promise<TaskEvent[]> {
  return (await k.q.eventsOf(taskId, limit)).map(toEvent);
}

/** eventsSince reads the board's event stream after cursor `after` (the last id seen). */
export async function eventsSince(k: Kernel, after: number, limit = 500): Promise<TaskEvent[]> {
  return (await k.q.eventsAfter(after, limit)).map(toEvent);
}
