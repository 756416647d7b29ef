/**
 * The worker context: what a worker is told about its task (the task, its body, earlier
 * attempts, its parents' handoffs, recent comments). Every section is capped so that a
 * prompt stays small however large the board's text grows; a cut says how much it left out.
 */
import { type PlanState, planState } from "./plans.ts";
import { REVIEW_ROUNDS_DEFAULT, reviewState } from "./reviews.ts";
import { GATE_OUTPUT_KEPT, gateSpec, gateState } from "./gates.ts";
import { iso } from "./_rows.ts";
import { type Kernel, resolveTask } from "./_kernel.ts";
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

/** An attachment as a worker's context lists it: the file itself is in the workspace. */
export interface AttachmentRef {
  name: string;
  size: number;
  media_type: string;
  sha256: string;
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
  /** Where the task's decomposition stands (plans.ts), when it was asked to be decomposed. */
  plan?: Exclude<PlanState, { state: "none" }>;
  /**
   * The task's attachments (metadata only; the dispatcher writes each into the workspace at
   * `attachmentPath(task, name)` before the worker starts).
   */
  attachments: AttachmentRef[];
  /**
   * The attachments of the parents listed in `parents` (a spec attached to the task that was
   * decomposed, say), each with its task: written into the workspace likewise, under the
   * parent's id.
   */
  parent_attachments: (AttachmentRef & { task: string })[];
  /** The task's part in its review loop (reviews.ts), when it has a reviewer. */
  review?: ReviewContext;
  /**
   * The task's newest failed completion gate (gates.ts), while its rounds are counting: which
   * round of how many, how it ended, and the tail of its output.
   */
  gate?: { round: number; rounds: number; exit_code: number | null; output: string };
}

/**
 * What a worker is told of its task's review: the reviewer's run gets the implementer's
 * handoff (the task's newest, reviews.ts) to judge; the implementer's, who reviews it, and
 * after a round sent back, the reason (the review itself is the newest comment).
 */
export type ReviewContext =
  | {
    role: "reviewer";
    round: number;
    rounds: number;
    implementer: string | null;
    handoff: Pick<Handoff, "summary" | "metadata" | "result">;
  }
  | {
    role: "implementer";
    /** The round this hand-in starts (1 before any review). */
    round: number;
    rounds: number;
    reviewer: string;
    /** Why the last round sent it back (null before any). */
    reason: string | null;
  };

/** ATTACHMENTS_DIR is where a worker's workspace holds the attachments, per task. */
export const ATTACHMENTS_DIR = ".kanban/attachments";

/** attachmentPath is where attachment `name` of task `taskId` is, relative to the workspace. */
export function attachmentPath(taskId: string, name: string): string {
  return `${ATTACHMENTS_DIR}/${taskId}/${name}`;
}

/** cap shortens `text` to `max` characters, saying how much it cut (never half a surrogate pair). */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const high = text.charCodeAt(max - 1);
  const end = high >= 0xd800 && high <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}\n[... truncated: ${text.length - end} more characters]`;
}

/** handoffOf reads what a parent's newest completion recorded: its summary, metadata and result. */
async function handoffOf(
  k: Kernel,
  parentId: string,
): Promise<Pick<Handoff, "summary" | "metadata" | "result">> {
  const recorded = await k.q.completionData(parentId);
  const data = recorded === undefined ? {} : JSON.parse(recorded) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    summary: str(data["summary"]),
    metadata: data["metadata"] === undefined ? null : JSON.stringify(data["metadata"]),
    result: str(data["result"]),
  };
}

/**
 * parentHandoffs reads the first `caps.parents` parents' handoffs, each part capped. One after
 * another: a transaction's queries are not to be run at once.
 */
async function parentHandoffs(
  k: Kernel,
  parents: readonly { id: string; title: string; status: string }[],
  caps: ContextCaps,
): Promise<Handoff[]> {
  const third = Math.floor(caps.handoffChars / 3);
  const out: Handoff[] = [];
  for (const p of parents.slice(0, caps.parents)) {
    const h = await handoffOf(k, p.id);
    out.push({
      ...p,
      summary: h.summary === null ? null : cap(h.summary, third),
      metadata: h.metadata === null ? null : cap(h.metadata, third),
      result: h.result === null ? null : cap(h.result, third),
    });
  }
  return out;
}

/** buildContext reads what a worker is told about task `ref`, every section within `caps`. */
export async function buildContext(
  k: Kernel,
  ref: string,
  caps: ContextCaps = DEFAULT_CAPS,
): Promise<WorkerContext> {
  const row = await resolveTask(k, ref);
  const { body, ...task } = toTask(row);
  const ended = await k.q.runsEndedOf(row.id);
  const attempts = ended.slice(0, caps.attempts).reverse().map((r) => ({
    run: r.id,
    profile: r.profile,
    outcome: r.outcome,
    started_at: iso(r.started_at),
    ended_at: iso(r.ended_at),
    summary: r.summary === null ? null : cap(r.summary, caps.attemptChars),
    error: r.error === null ? null : cap(r.error, caps.attemptChars),
  }));
  const parentRows = await k.q.parentsByCompletion(row.id);
  const parents = await parentHandoffs(k, parentRows, caps);
  const total = await k.q.commentCount(row.id);
  const listed = await listComments(k, row.id, caps.comments);
  // The newest review rejection is what this attempt must answer: its line comments and
  // quoted diff lines get room of their own.
  const review = listed.findLast((c) => c.body.startsWith(REJECTION_PREFIX));
  const comments = listed.map((c) => ({
    author: c.author,
    at: c.created_at,
    body: cap(c.body, c === review ? caps.reviewChars : caps.commentChars),
  }));
  const plan = await planState(k, row.id);
  const loop = row.reviewer === null ? undefined : await reviewContext(k, row, caps);
  // a failed gate speaks to the next worker of the task's gated profile, not its reviewer
  const gate = gateSpec(row) === null || row.reviewer !== null && row.assignee === row.reviewer
    ? null
    : (await gateState(k, row.id)).last;
  return {
    task,
    body: cap(body, caps.bodyChars),
    attempts,
    attempts_omitted: ended.length - attempts.length,
    parents,
    parents_omitted: parentRows.length - parents.length,
    comments,
    comments_omitted: total - comments.length,
    ...(plan.state === "none" ? {} : { plan }),
    attachments: (await k.q.attachmentsOf(row.id)).map(attachmentRef),
    parent_attachments: (await Promise.all(
      parents.map(async (p) =>
        (await k.q.attachmentsOf(p.id)).map((a) => ({ task: p.id, ...attachmentRef(a) }))
      ),
    )).flat(),
    ...(loop === undefined ? {} : { review: loop }),
    ...(gate === null ? {} : {
      gate: {
        round: gate.round,
        rounds: gate.rounds,
        exit_code: gate.exit_code,
        output: cap(gate.output, GATE_OUTPUT_KEPT),
      },
    }),
  };
}

function attachmentRef(a: AttachmentRef): AttachmentRef {
  return { name: a.name, size: a.size, media_type: a.media_type, sha256: a.sha256 };
}

/** reviewContext says what task `row`'s next worker is in its review loop (see ReviewContext). */
async function reviewContext(
  k: Kernel,
  row: {
    id: string;
    reviewer: string | null;
    assignee: string | null;
    review_rounds: number | null;
  },
  caps: ContextCaps,
): Promise<ReviewContext | undefined> {
  const s = await reviewState(k, row.id);
  if (s.state === "reviewing") {
    if (s.by === "person" || row.assignee !== s.reviewer) return undefined;
    const h = await handoffOf(k, row.id);
    const third = Math.floor(caps.handoffChars / 3);
    const capped = (v: string | null) => v === null ? null : cap(v, third);
    return {
      role: "reviewer",
      round: s.round,
      rounds: s.rounds,
      implementer: s.implementer,
      handoff: {
        summary: capped(h.summary),
        metadata: capped(h.metadata),
        result: capped(h.result),
      },
    };
  }
  if (s.state === "changes") {
    return s.reviewer === null ? undefined : {
      role: "implementer",
      round: s.round + 1,
      rounds: s.rounds,
      reviewer: s.reviewer,
      reason: s.reason === null ? null : cap(s.reason, caps.attemptChars),
    };
  }
  return {
    role: "implementer",
    round: 1,
    rounds: row.review_rounds ?? REVIEW_ROUNDS_DEFAULT,
    reviewer: row.reviewer!,
    reason: null,
  };
}
