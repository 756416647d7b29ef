/**
 * Status routes: one endpoint per transition a person makes, a "move to column" endpoint for
 * drag and drop, and bulk actions. All run through the store's one transition table; an
 * illegal move answers 409 with the store's message naming from and to.
 */
import type { z } from "zod";
import { blockOptions, KanbanError } from "../store/mod.ts";
import { act, type ActionInput } from "./actions.ts";
import { quotedComments } from "./api_review.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import {
  BlockBody,
  type BulkAction,
  BulkBody,
  CompleteBody,
  MoveBody,
  ReasonBody,
  ReviewBody,
} from "./schemas.ts";
import * as shapes from "./shapes.ts";

interface Transition {
  action: BulkAction & string;
  summary: string;
  description?: string;
  body?: z.ZodType<ActionInput>;
  /** How the body becomes the action's input (default: as it is). */
  input?: (body: Record<string, unknown>) => ActionInput;
}

const TRANSITIONS: Transition[] = [
  { action: "promote", summary: "Move a task out of triage into the queue" },
  {
    action: "complete",
    summary: "Complete a task with a handoff (to review when it requires review)",
    body: CompleteBody,
  },
  {
    action: "block",
    summary: "Block a task with a reason, by kind (default: a question for a person)",
    description: "`kind` needs_input (default) parks the task in blocked for a person; a " +
      "running task's dependency (`on`: the task to wait for), transient " +
      "(`retry_after_seconds`) or capability (`profile`) block sends it back to the queue; a " +
      "capability block without a profile, and the loop breaker, send it to triage.",
    body: BlockBody as z.ZodType<ActionInput>,
    input: (body) => {
      const { reason, ...fields } = body as z.output<typeof BlockBody>;
      return { reason, block: blockOptions(fields) };
    },
  },
  { action: "unblock", summary: "Return a blocked task to the queue (resets its failures)" },
  {
    action: "cancel",
    summary: "Drop a task that should not be done (stops a running worker's run)",
    body: ReasonBody,
  },
  { action: "archive", summary: "Put a task away (stops a running worker's run)" },
  { action: "unarchive", summary: "Bring an archived task back" },
  { action: "reopen", summary: "Send a done task back to the queue" },
];

export function actionRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  for (const t of TRANSITIONS) {
    r.add({
      method: "post",
      path: `/api/v1/tasks/{id}/${t.action}`,
      tag: "transitions",
      summary: t.summary,
      ...(t.description ? { description: t.description } : {}),
      ...(t.body ? { body: t.body } : {}),
      ok: { status: 200, schema: shapes.Task, description: "the task after the move" },
      errors: [404, 409],
      handler: async (c, { params, body }) => {
        const input = t.input
          ? t.input(body as Record<string, unknown>)
          : (body ?? {}) as ActionInput;
        return json(c, (await act(store, params["id"]!, t.action, input, api.actor)).task);
      },
    });
  }

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/review",
    tag: "transitions",
    summary: "Approve (to done) or reject (back to the queue) a task in review",
    description: "A rejection's reason becomes a comment the next worker reads, with its " +
      "`comments` (a file, or a line of it, the diff lines quoted).",
    body: ReviewBody,
    ok: { status: 200, schema: shapes.Task, description: "the task after the review" },
    errors: [404, 409],
    handler: async (c, { params, body }) => {
      const input = {
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        // An approval's comments are refused by the store: nothing to quote for them.
        ...(body.comments === undefined ? {} : {
          comments: body.decision === "reject"
            ? await quotedComments(api, params["id"]!, body.comments)
            : body.comments,
        }),
      };
      return json(c, (await act(store, params["id"]!, body.decision, input, api.actor)).task);
    },
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/move",
    tag: "transitions",
    summary: "Move a task to a column (drag and drop)",
    description: "Maps the target column to the one legal action (promote, complete, approve, " +
      "reject, block, unblock, archive, unarchive, reopen) or refuses with the reason: only a " +
      "claim enters running, and todo/scheduled/ready are derived from parents and not-before. " +
      "Dropping on the task's own column changes nothing.",
    body: MoveBody,
    ok: { status: 200, schema: shapes.Moved, description: "the task and the action taken" },
    errors: [404, 409],
    handler: async (c, { params, body }) =>
      json(c, await act(store, params["id"]!, "move", body, api.actor)),
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks/bulk",
    tag: "transitions",
    summary: "Apply one action to several tasks; one result per id",
    description: "Each id succeeds or fails on its own (200 either way): see `failed`.",
    body: BulkBody,
    ok: { status: 200, schema: shapes.BulkResult, description: "a result per id, in order" },
    handler: async (c, { body }) => {
      const { ids, action, ...input } = body;
      const results: z.output<typeof shapes.BulkResult>["results"] = [];
      for (const id of ids) {
        try {
          results.push({
            id,
            ok: true,
            task: (await act(store, id, action, input, api.actor)).task,
          });
        } catch (err) {
          if (!(err instanceof KanbanError)) throw err;
          results.push({ id, ok: false, error: { code: err.code, message: err.message } });
        }
      }
      const failed = results.filter((x) => !x.ok).length;
      return json(c, { results, succeeded: results.length - failed, failed });
    },
  });
}
