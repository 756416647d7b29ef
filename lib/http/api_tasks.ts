/** Task routes: list, create, read, edit, comments and links. */
import { isStatus, type Status, ValidationError } from "../store/mod.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import { paged, pageOf } from "./paging.ts";
import {
  CommentBody,
  CreateBody,
  EditBody,
  LinkBody,
  LinkQuery,
  ListQuery,
  TASKS_PAGE,
  TASKS_PAGE_MAX,
} from "./schemas.ts";
import * as shapes from "./shapes.ts";

export function taskRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/tasks",
    tag: "tasks",
    summary: "List tasks (without bodies), by status order, priority, then age",
    description: `One page: ${TASKS_PAGE} tasks unless \`limit\` says (at most ` +
      `${TASKS_PAGE_MAX}). When more follow, the \`Link\` header names the next page ` +
      '(`<...&offset=N>; rel="next"`); without it, this page is the last.',
    query: ListQuery,
    ok: { status: 200, schema: shapes.TaskSummaries, description: "a page of tasks" },
    handler: async (c, { query }) => {
      const statuses = query.status?.split(",").map((s) => s.trim()).filter(Boolean);
      for (const s of statuses ?? []) {
        if (!isStatus(s)) throw new ValidationError(`Invalid query: status "${s}" is not a status`);
      }
      const page = pageOf(query, TASKS_PAGE);
      const tasks = await store.listTasks({
        statuses: statuses as Status[] | undefined,
        tenant: query.tenant,
        assignee: query.assignee,
        search: query.search,
        archived: query.archived,
        limit: page.limit + 1, // one more tells whether a next page exists
        offset: page.offset,
      });
      return json(c, paged(c, tasks, page));
    },
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks",
    tag: "tasks",
    summary: "Create a task",
    description: "With an idempotency_key already in use, the existing task comes back " +
      "(200, created: false) and nothing changes.",
    body: CreateBody,
    ok: { status: 201, schema: shapes.Created, description: "the new task" },
    errors: [404, 409],
    handler: async (c, { body }) => {
      const result = await store.createTask(body, api.actor);
      return json(c, result, result.created ? 201 : 200);
    },
  });

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}",
    tag: "tasks",
    summary: "A task with its parents, children, comments, events and runs",
    description: "`id` is a task id or any unique prefix of one.",
    ok: { status: 200, schema: shapes.TaskDetail, description: "the task in detail" },
    errors: [404],
    handler: async (c, { params }) => json(c, await store.showTask(params["id"]!)),
  });

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}/why",
    tag: "tasks",
    summary: "Why a task is not running",
    description: "Every reason, in the order the task meets them: a person (triage, blocked, " +
      "review), its parents, its start time, a retry backoff, then the fleet as the live " +
      "dispatchers published it (no dispatcher, no host defining its profile or offering its " +
      "labels, the profile's cap, hosts full, draining or under memory or load pressure).",
    ok: { status: 200, schema: shapes.Why, description: "the reasons" },
    errors: [404],
    handler: async (c, { params }) => json(c, await store.why(params["id"]!)),
  });

  r.add({
    method: "patch",
    path: "/api/v1/tasks/{id}",
    tag: "tasks",
    summary: "Edit a task's title, body, priority, assignee, reviewer or gate",
    body: EditBody,
    ok: { status: 200, schema: shapes.Task, description: "the edited task" },
    errors: [404],
    handler: async (c, { params, body }) =>
      json(c, await store.updateTask(params["id"]!, body, api.actor)),
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/comments",
    tag: "tasks",
    summary: "Comment on a task",
    body: CommentBody,
    ok: { status: 201, schema: shapes.Comment, description: "the comment" },
    errors: [404],
    handler: async (c, { params, body }) => {
      const actor = body.author === undefined ? api.actor : { name: body.author };
      return json(c, await store.comment(params["id"]!, body.body, actor), 201);
    },
  });

  r.add({
    method: "post",
    path: "/api/v1/links",
    tag: "tasks",
    summary: "Make `child` wait for `parent` (cycles and self links are refused)",
    body: LinkBody,
    ok: { status: 200, schema: shapes.LinkResult, description: "changed: false if it existed" },
    errors: [404, 409],
    handler: async (c, { body }) => json(c, await store.link(body.parent, body.child, api.actor)),
  });

  r.add({
    method: "delete",
    path: "/api/v1/links",
    tag: "tasks",
    summary: "Remove the dependency of `child` on `parent`",
    query: LinkQuery,
    ok: { status: 200, schema: shapes.LinkResult, description: "the removed link" },
    errors: [404],
    handler: async (c, { query }) =>
      json(c, await store.unlink(query.parent, query.child, api.actor)),
  });
}
