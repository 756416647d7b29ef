/// <reference lib="dom" />
/**
 * The dashboard's only door to the board: fetch() against /api/v1 with the session cookie
 * that the login link set. Every failure becomes an ApiError carrying the server's message,
 * which the UI shows as it is (it names what was wrong).
 */
// Types only (erased from the bundle): the server's own shapes, not copies of them.
import type { z } from "zod";
import type { BoardHealth } from "../dispatch/health.ts";
import type * as shapes from "../http/shapes.ts";
import type { Store } from "../store/store.ts";
import type { Status } from "../store/transitions.ts";
import type { Comment, Run, Task, TaskEvent, TaskSummary } from "../store/types.ts";

export type { Comment, Run, Task, TaskEvent, TaskSummary };

export type BoardData = z.output<typeof shapes.Board>;
export type Column = BoardData["columns"][number];
export type Detail = Awaited<ReturnType<Store["showTask"]>>;
/** Why a task is not running (GET /api/v1/tasks/{id}/why). */
export type Why = z.output<typeof shapes.Why>;
export type Health = BoardHealth;
export type LogTail = z.output<typeof shapes.LogTail>;
export type BulkResult = z.output<typeof shapes.BulkResult>;
export type Usage = z.output<typeof shapes.Usage>;
export type UsageStats = z.output<typeof shapes.UsageStats>;
export type UsageTotals = UsageStats["total"];
export type TaskDiff = z.output<typeof shapes.TaskDiff>;
export type DiffFile = TaskDiff["files"][number];
export type TaskArtifacts = z.output<typeof shapes.TaskArtifacts>;
export type Artifact = TaskArtifacts["artifacts"][number];
export type ArtifactContent = z.output<typeof shapes.ArtifactContent>;
/** A review comment as a person writes it: on a file, or on one line of it. */
export interface ReviewComment {
  file: string;
  line?: number;
  side?: "old" | "new";
  body: string;
}
/** The stats series (GET /api/v1/stats/series): buckets of work and cost over time. */
export type SeriesData = z.output<typeof shapes.Series>;
export type BudgetSeries = z.output<typeof shapes.BudgetSeries>;
export type InboxData = z.output<typeof shapes.Inbox>;
export type Attachment = z.output<typeof shapes.Attachment>;
export type InboxItem = InboxData["items"][number];
export type Reply = z.output<typeof shapes.Reply>;

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Where a task's decomposition stands (GET /api/v1/tasks/{id}/plan). */
export interface PlanInfo {
  state: "none" | "requested" | "approval" | "planned";
  tasks?: string[];
  request?: { profile: string; review: "person" | "orchestrator"; approval: boolean };
}

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  raw?: { body: Blob; type: string },
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: raw !== undefined
        ? { "Content-Type": raw.type || "application/octet-stream" }
        : body === undefined
        ? {}
        : { "Content-Type": "application/json" },
      ...(raw !== undefined
        ? { body: raw.body }
        : body === undefined
        ? {}
        : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, "offline", "The board server does not answer (is kanban serve running?)");
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text === "" ? null : JSON.parse(text);
  } catch { /* not JSON: reported below */ }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(
      res.status,
      err?.code ?? "http_error",
      err?.message ?? `${method} ${path} answered ${res.status}`,
    );
  }
  return data as T;
}

/** query builds `?a=1&b=2` from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "" && v !== false) q.set(k, String(v));
  }
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

const enc = encodeURIComponent;

export const api = {
  board: (q: string) => request<BoardData>("GET", `/api/v1/board${q}`),
  detail: (id: string) => request<Detail>("GET", `/api/v1/tasks/${enc(id)}`),
  why: (id: string) => request<Why>("GET", `/api/v1/tasks/${enc(id)}/why`),
  create: (input: Record<string, unknown>) =>
    request<{ task: Task; created: boolean }>("POST", "/api/v1/tasks", input),
  edit: (id: string, fields: Record<string, unknown>) =>
    request<Task>("PATCH", `/api/v1/tasks/${enc(id)}`, fields),
  act: (id: string, action: string, body: Record<string, unknown> = {}) =>
    request<Task>("POST", `/api/v1/tasks/${enc(id)}/${action}`, body),
  review: (id: string, decision: "approve" | "reject", reason?: string) =>
    request<Task>("POST", `/api/v1/tasks/${enc(id)}/review`, {
      decision,
      ...(reason ? { reason } : {}),
    }),
  decompose: (id: string) => request<Task>("POST", `/api/v1/tasks/${enc(id)}/decompose`, {}),
  plan: (id: string) => request<PlanInfo>("GET", `/api/v1/tasks/${enc(id)}/plan`),
  approvePlan: (id: string) => request<Task>("POST", `/api/v1/tasks/${enc(id)}/plan/approve`, {}),
  rejectPlan: (id: string, reason: string) =>
    request<Task>("POST", `/api/v1/tasks/${enc(id)}/plan/reject`, { reason }),
  move: (id: string, body: { status: Status; reason?: string; summary?: string }) =>
    request<{ task: Task; action: string | null; changed: boolean }>(
      "POST",
      `/api/v1/tasks/${enc(id)}/move`,
      body,
    ),
  bulk: (body: Record<string, unknown>) => request<BulkResult>("POST", "/api/v1/tasks/bulk", body),
  comment: (id: string, body: string) =>
    request<Comment>("POST", `/api/v1/tasks/${enc(id)}/comments`, { body }),
  link: (parent: string, child: string) =>
    request<{ changed: boolean }>("POST", "/api/v1/links", { parent, child }),
  unlink: (parent: string, child: string) =>
    request<{ changed: boolean }>("DELETE", `/api/v1/links${query({ parent, child })}`),
  log: (run: number) => request<LogTail>("GET", `/api/v1/runs/${run}/log?bytes=65536`),
  status: () => request<Health>("GET", "/api/v1/status"),
  usage: (q: string) => request<UsageStats>("GET", `/api/v1/usage${q}`),
  series: (q: string) => request<SeriesData>("GET", `/api/v1/stats/series${q}`),
  budgetSeries: (name: string) =>
    request<BudgetSeries>("GET", `/api/v1/budgets/${enc(name)}/series`),
  assignees: () => request<{ assignee: string | null }[]>("GET", "/api/v1/assignees"),
  nudge: () => request<unknown>("POST", "/api/v1/dispatch/nudge"),
  diff: (id: string) => request<TaskDiff>("GET", `/api/v1/tasks/${enc(id)}/diff`),
  artifacts: (id: string) => request<TaskArtifacts>("GET", `/api/v1/tasks/${enc(id)}/artifacts`),
  artifactContent: (id: string, path: string) =>
    request<ArtifactContent>(
      "GET",
      `/api/v1/tasks/${enc(id)}/artifacts/content${query({ path })}`,
    ),
  /** reviewWith approves, or requests changes with a reason and line or file comments. */
  reviewWith: (
    id: string,
    decision: "approve" | "reject",
    reason: string,
    comments: ReviewComment[],
  ) =>
    request<Task>("POST", `/api/v1/tasks/${enc(id)}/review`, {
      decision,
      ...(reason.trim() ? { reason } : {}),
      ...(comments.length > 0 ? { comments } : {}),
    }),
  inbox: (q: string) => request<InboxData>("GET", `/api/v1/inbox${q}`),
  reply: (id: string, body: string) =>
    request<Reply>("POST", `/api/v1/tasks/${enc(id)}/reply`, { body }),
  attachments: (id: string) => request<Attachment[]>("GET", `/api/v1/tasks/${enc(id)}/attachments`),
  /** attach uploads a file as it is (the body is the file; its type becomes the media type). */
  attach: (id: string, file: File) =>
    request<Attachment>(
      "POST",
      `/api/v1/tasks/${enc(id)}/attachments${query({ name: file.name })}`,
      undefined,
      { body: file, type: file.type },
    ),
  detach: (id: string, name: string) =>
    request<Attachment>("DELETE", `/api/v1/tasks/${enc(id)}/attachments/${enc(name)}`),
  /** releaseHold ends a profile's hold now (lib/store/holds.ts). */
  releaseHold: (profile: string) => request<unknown>("DELETE", `/api/v1/holds/${enc(profile)}`),
  /** pauseRoutine / resumeRoutine stop and restart a routine's firing (lib/store/routines.ts). */
  pauseRoutine: (name: string) => request<unknown>("POST", `/api/v1/routines/${enc(name)}/pause`),
  resumeRoutine: (name: string) => request<unknown>("POST", `/api/v1/routines/${enc(name)}/resume`),
  /** runRoutine fires one occurrence now, once per `key` (a retry with it fires nothing more). */
  runRoutine: (name: string, key: string) =>
    request<{ created: boolean; tasks: { ref: string; id: string }[] }>(
      "POST",
      `/api/v1/routines/${enc(name)}/run`,
      { key },
    ),
  /** attachmentUrl downloads an attachment (the session cookie authenticates a plain link). */
  attachmentUrl: (id: string, name: string) => `/api/v1/tasks/${enc(id)}/attachments/${enc(name)}`,
};
