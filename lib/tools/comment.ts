/** `comment`: add a comment to a task (a worker: to its own task, fenced by its token). */
import { z } from "zod";
import type { Comment } from "../store/mod.ts";
import { clip } from "./caps.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

export const CommentInput = z.strictObject({
  id: z.string().optional().describe("task id (default: your task)"),
  body: z.string().describe("markdown"),
  author: z.string().optional().describe("comment as this name (default: you)"),
});

export async function comment(
  deps: ToolDeps,
  input: z.output<typeof CommentInput>,
): Promise<Comment> {
  const t = await ownTarget(deps, input.id, "comment on");
  const actor = input.author !== undefined ? { ...t.actor, name: input.author } : t.actor;
  const c = await deps.store.comment(t.id, input.body, actor);
  return deps.caps ? { ...c, body: clip(c.body, deps.caps.text) } : c;
}
