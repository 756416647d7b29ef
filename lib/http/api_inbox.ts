/**
 * Inbox routes: the tasks waiting on a person (blocked with a question, in review, in triage),
 * oldest wait first, and the reply that answers a blocked one (a comment and an unblock in one
 * transaction). Review and triage are answered with the review and promote routes.
 */
import { type ApiContext, json, type Routes } from "./route.ts";
import { InboxQuery, ReplyBody } from "./schemas.ts";
import * as shapes from "./shapes.ts";

export function inboxRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/inbox",
    tag: "inbox",
    summary: "Tasks waiting on a person: blocked, in review, in triage; oldest wait first",
    description: "Each item says why it waits (`kind`), since when (`waiting_since`: when it " +
      "entered its status), the question of a blocked task, the handoff of one in review, and " +
      "the newest comment. `total` and `by_kind` count every waiting task, also past `limit`. " +
      "Archived tasks are left out.",
    query: InboxQuery,
    ok: { status: 200, schema: shapes.Inbox, description: "the inbox" },
    handler: async (c, { query }) =>
      json(c, await store.inbox({ tenant: query.tenant, limit: query.limit })),
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/reply",
    tag: "inbox",
    summary: "Answer a blocked task: add the reply as a comment and unblock it, in one action",
    description: "Both happen or neither: a task that is not blocked is a 409 and gets no " +
      "comment; an empty reply is a 400. The unblock is `unblock`'s: back to the queue, " +
      "failures reset.",
    body: ReplyBody,
    ok: {
      status: 200,
      schema: shapes.Reply,
      description: "the task after the unblock, and the comment",
    },
    errors: [404, 409],
    handler: async (c, { params, body }) =>
      json(c, await store.reply(params["id"]!, body.body, api.actor)),
  });
}
