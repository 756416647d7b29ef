/**
 * `list`: tasks by status order, priority and age, without bodies; paginated by `limit` and
 * `offset` (`next_offset` is null on the last page). Archived tasks only when asked for.
 * With caps each task is a short row and a page holds at most `maxPageSize` tasks.
 */
import { z } from "zod";
import { STATUSES, type TaskSummary } from "../store/mod.ts";
import type { Caps } from "./caps.ts";
import type { ToolDeps } from "./tool.ts";

export const ListInput = z.strictObject({
  status: z.array(z.enum(STATUSES)).optional(),
  assignee: z.string().optional(),
  tenant: z.string().optional(),
  archived: z.boolean().optional().describe("include archived tasks"),
  limit: z.number().int().min(1).optional().describe("page size (default 50, max 200)"),
  offset: z.number().int().min(0).optional(),
});

/** TaskRow is a task as an agent's list shows it. */
export type TaskRow =
  & Pick<
    TaskSummary,
    "id" | "title" | "status" | "assignee" | "priority" | "tenant" | "updated_at"
  >
  & Partial<Pick<TaskSummary, "blocked_reason" | "last_error">>;

export interface ListOutput<T = TaskSummary | TaskRow> {
  tasks: T[];
  /** The offset of the next page, or null when this page is the last. */
  next_offset: number | null;
}

function row(t: TaskSummary): TaskRow {
  return {
    id: t.id,
    title: t.title,
    status: t.status,
    assignee: t.assignee,
    priority: t.priority,
    tenant: t.tenant,
    updated_at: t.updated_at,
    ...(t.blocked_reason !== null ? { blocked_reason: t.blocked_reason } : {}),
    ...(t.last_error !== null ? { last_error: t.last_error } : {}),
  };
}

function pageSize(requested: number | undefined, caps: Caps | undefined): number | undefined {
  if (!caps) return requested;
  return Math.min(requested ?? caps.pageSize, caps.maxPageSize);
}

export async function list(deps: ToolDeps, input: z.output<typeof ListInput>): Promise<ListOutput> {
  const limit = pageSize(input.limit, deps.caps);
  const offset = input.offset ?? 0;
  // One more than the page tells whether another page follows.
  const found = await deps.store.listTasks({
    statuses: input.status,
    assignee: input.assignee,
    tenant: input.tenant,
    archived: input.archived === true,
    limit: limit === undefined ? undefined : limit + 1,
    offset,
  });
  const more = limit !== undefined && found.length > limit;
  const page = more ? found.slice(0, limit) : found;
  return {
    tasks: deps.caps ? page.map(row) : page,
    next_offset: more ? offset + page.length : null,
  };
}
