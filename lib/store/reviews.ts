/**
 * The review loop: a worker hands its work in for review, and the task's reviewer (a profile)
 * reviews it in a run of its own, round after round, on the same task.
 *
 * - `requestReview` is the implementer's report (`kanban request-review`, the `request_review`
 *   tool, or its `complete` when the task has a reviewer): its run ends with its handoff, and
 *   the task goes to the queue assigned to the reviewer (round 1, 2, ...), or to `review` for a
 *   person when it has no reviewer or the rounds are spent.
 * - The reviewer's worker answers with `reviewVerdict`: approve (the task is done with the
 *   implementer's handoff, or goes to `review` when a person approves last) or request changes
 *   with reasons and line comments (one comment, as a person's rejection makes): the same task
 *   goes back to the queue assigned to its implementer, whose prompt quotes the review. The
 *   reviewer's request for changes in the last round sends the task to `review` for a person.
 *
 * The reviewer is the task's `reviewer` (set by a person, or at the first claim from the
 * claiming profile's config) and stays the same for every round of a review, as recorded in
 * its first request. The loop's state is in the task's events (review_requested,
 * review_approved, changes_requested, and a person's approved, rejected, reopened): nothing
 * else is stored, and an export carries it whole.
 */
import { iso, type RunRow, type TaskRow, toTask } from "./_rows.ts";
import { type Kernel, move, resolveTask } from "./_kernel.ts";
import { addComment } from "./comments.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import { CompleteInput, parse, text } from "./input.ts";
import { derivedStatus, refresh } from "./readiness.ts";
import { replayed } from "./replay.ts";
import { rejectionComment, type ReviewCommentInput, ReviewComments } from "./review_comments.ts";
import { closeRun, fenceRun, tokenRun } from "./runs.ts";
import { gateSpec, heldReplay, holdForGate } from "./gates.ts";
import type { Status } from "./transitions.ts";
import type { Actor, Task } from "./types.ts";
import { type Usage, UsageInput } from "./usage.ts";
import type { z } from "zod";

/** The events that tell where a task's review stands, newest deciding. */
export const REVIEW_EVENTS = [
  "review_requested",
  "review_approved",
  "changes_requested",
  "approved",
  "rejected",
  "reopened",
  "gate_failed",
] as const;

/** The rounds of agent review a task gets before it waits for a person, unless configured. */
export const REVIEW_ROUNDS_DEFAULT = 3;
/** The most rounds a board may configure. */
export const REVIEW_ROUNDS_MAX = 20;

/** How many of a task's newest review events are read to count a review's rounds. */
const ROUNDS_WINDOW = REVIEW_ROUNDS_MAX * 3 + 4;

/** Where a task's review stands (from its events; see REVIEW_EVENTS). */
export type ReviewState =
  | { state: "none" }
  | {
    /** Handed in, waiting for the reviewer's verdict (or a person's, `by` "person"). */
    state: "reviewing";
    round: number;
    rounds: number;
    reviewer: string | null;
    implementer: string | null;
    by: "reviewer" | "person";
    /** The implementer's run that handed the work in, and when (ISO 8601). */
    run: number | null;
    at: string;
  }
  | {
    /** Sent back to its implementer after round `round`. */
    state: "changes";
    round: number;
    rounds: number;
    reviewer: string | null;
    implementer: string | null;
    reason: string | null;
  };

/** The round data every review event carries. */
interface RoundData {
  round: number;
  rounds: number;
  reviewer: string | null;
  implementer: string | null;
}

/**
 * reviewState reads where task `id`'s review stands: `none` before any request, and after an
 * approval or a reopen (the next request starts at round 1).
 */
export async function reviewState(k: Kernel, id: string): Promise<ReviewState> {
  const events = await k.q.lastEventsOf(id, REVIEW_EVENTS, ROUNDS_WINDOW);
  const latest = events[0];
  if (latest === undefined) return { state: "none" };
  // a failed gate after the reviewer's approval (gates.ts) ends that review: the fix is a new one
  if (["review_approved", "approved", "reopened", "gate_failed"].includes(latest.kind)) {
    return { state: "none" };
  }
  // the newest request: the review's round, its reviewer and implementer
  const request = events.find((e) => e.kind === "review_requested");
  if (request === undefined) return { state: "none" };
  const data = JSON.parse(request.data) as Partial<RoundData> & { to?: string };
  const round: RoundData = {
    round: data.round ?? 1,
    rounds: data.rounds ?? REVIEW_ROUNDS_DEFAULT,
    reviewer: data.reviewer ?? null,
    implementer: data.implementer ?? null,
  };
  if (latest.kind === "review_requested") {
    return {
      state: "reviewing",
      ...round,
      by: data.to === "review" ? "person" : "reviewer",
      run: latest.run_id,
      at: iso(latest.at),
    };
  }
  // changes_requested by the reviewer, or rejected by a person
  const said = JSON.parse(latest.data) as { reason?: string };
  return { state: "changes", ...round, reason: said.reason ?? null };
}

/**
 * isReviewRun tells whether `run` is the reviewer's run of a task under review: a run of the
 * reviewer's profile other than the one that handed the work in (a task a person gave another
 * profile meanwhile is worked on, not reviewed).
 */
function isReviewRun(state: ReviewState, run: RunRow): boolean {
  return state.state === "reviewing" && state.by === "reviewer" && run.id !== state.run &&
    run.profile === state.reviewer;
}

/**
 * reviewRoute says what a worker's `complete` of task `task` is in the review loop: on a task
 * with a reviewer, the reviewer's approval or the implementer's hand-in; otherwise (and for a
 * person) a plain completion (null), which reads nothing more.
 */
export async function reviewRoute(
  k: Kernel,
  task: TaskRow,
  run: RunRow | null | undefined,
): Promise<"approve" | "request" | null> {
  if (!run || task.reviewer === null) return null;
  return isReviewRun(await reviewState(k, task.id), run) ? "approve" : "request";
}

function reported(usage: z.output<typeof UsageInput> | undefined): Usage | null {
  return usage === undefined ? null : { ...usage, source: "reported" };
}

/**
 * requestReview is the implementer's report: its run ends with its handoff (as a completion's
 * would), and the task goes to its reviewer (the queue, assigned to the reviewer) or, without
 * one or with the rounds spent, to `review` for a person. Only a worker asks; a replay of the
 * same report changes nothing.
 */
export async function requestReview(
  k: Kernel,
  ref: string,
  raw: CompleteInput,
  actor: Actor,
): Promise<Task> {
  const input = parse(CompleteInput, raw, "review request");
  const [token, task] = await Promise.all([
    tokenRun(k, actor, k.locked),
    resolveTask(k, ref, k.locked),
  ]);
  if (token === null) {
    throw new ConflictError(
      "not_allowed",
      "A worker asks for review of its work; a person sends a task to review by completing it " +
        "(kanban complete, on a task that requires review) or approves it (kanban review)",
    );
  }
  heldReplay(task, token, null); // refused while a completion waits for its gate
  if (await replayed(k, task, token, { kind: "request_review", ...input })) return toTask(task);
  const run = fenceRun(task, "request review of", token) as RunRow;
  const state = await reviewState(k, task.id);
  if (isReviewRun(state, run)) {
    throw new ConflictError(
      "reviewing",
      `You review task "${task.id}": approve it (kanban review --approve) or request changes ` +
        "(kanban review --reject REASON)",
    );
  }
  return await handIn(k, task, run, state, input, actor);
}

/** handIn ends the implementer's run and sends the task to its reviewer or a person. */
async function handIn(
  k: Kernel,
  task: TaskRow,
  run: RunRow,
  state: ReviewState,
  input: z.output<typeof CompleteInput>,
  actor: Actor,
): Promise<Task> {
  const again = state.state === "changes";
  const round: RoundData = {
    round: again ? state.round + 1 : 1,
    rounds: again ? state.rounds : task.review_rounds ?? REVIEW_ROUNDS_DEFAULT,
    // the same reviewer every round of one review
    reviewer: again ? state.reviewer : task.reviewer,
    implementer: again ? state.implementer ?? task.assignee : task.assignee ?? run.profile,
  };
  const toReviewer = round.reviewer !== null && round.round <= round.rounds;
  const to: Status = toReviewer ? await derivedStatus(k, task) : "review";
  const [, moved] = await Promise.all([
    closeRun(k, run.id, "completed", {
      summary: input.summary ?? null,
      metadata: input.metadata ?? null,
      usage: reported(input.usage),
    }),
    move(k, task, to, "request_review", actor, {
      current_run_id: null,
      result: input.result ?? null,
      blocked_reason: null,
      consecutive_failures: 0,
      retry_after: null,
      last_error: null,
      block_kind: null,
      blocked_on: null,
      block_counts: "{}",
      ...(toReviewer ? { assignee: round.reviewer } : {}),
    }, {
      ...(input.summary !== undefined ? { summary: input.summary } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      ...(input.result !== undefined ? { result: input.result } : {}),
      ...round,
    }, run.id),
  ]);
  return toTask(moved);
}

/** What a reviewer's verdict may carry. */
export interface VerdictInput {
  /** Approve: a note (optional); request changes: why (required). */
  reason?: string | undefined;
  /** Request changes: line comments, as a person's rejection takes. */
  comments?: readonly ReviewCommentInput[] | undefined;
  usage?: z.input<typeof UsageInput> | undefined;
}

/**
 * reviewVerdict is the reviewer's report on task `ref` under its review. Approve: the task is
 * done (or goes to `review` when a person approves last), its handoff the implementer's, and
 * the implementer is its assignee again. Request changes: the reason and comments become one
 * comment and the task goes back to the queue assigned to its implementer, or, after the last
 * round, to `review` for a person. The reviewer's run ends either way.
 */
export async function reviewVerdict(
  k: Kernel,
  ref: string,
  decision: "approve" | "reject",
  input: VerdictInput,
  actor: Actor,
): Promise<Task> {
  const reason = input.reason === undefined
    ? undefined
    : parse(text("reason", true), input.reason, "reason").trim();
  const notes = parse(ReviewComments, input.comments ?? [], "review comments");
  const usage = input.usage === undefined ? undefined : parse(UsageInput, input.usage, "usage");
  if (decision === "approve" && notes.length > 0) {
    throw new ValidationError(
      "Review comments go with a request for changes; an approval takes only a reason",
    );
  }
  if (decision === "reject" && reason === undefined) {
    throw new ValidationError("A request for changes says why (a reason)");
  }
  const [token, task] = await Promise.all([
    tokenRun(k, actor, k.locked),
    resolveTask(k, ref, k.locked),
  ]);
  const kind = decision === "approve" ? "approve_review" : "request_changes";
  // an approval already held for the task's gate (gates.ts): the same one again changes nothing
  const held = decision === "approve" ? { route: "approve" as const, reason, usage } : null;
  if (heldReplay(task, token, held)) return toTask(task);
  if (await replayed(k, task, token, { kind, reason })) return toTask(task);
  const run = fenceRun(task, decision === "approve" ? "approve" : "request changes of", token);
  const state = await reviewState(k, task.id);
  if (run === null || !isReviewRun(state, run)) {
    throw new ConflictError(
      "not_reviewing",
      `Task "${task.id}" is not waiting for your review: only its reviewer's worker gives a ` +
        "verdict (finish your own work with kanban complete or kanban request-review)",
    );
  }
  // the reviewer's approval of a task with a gate waits for its gate, the run open
  if (decision === "approve" && gateSpec(task) !== null) {
    return await holdForGate(k, task, run, held!, actor);
  }
  const round = roundOf(state as Extract<ReviewState, { state: "reviewing" }>);
  return decision === "approve"
    ? await approveOf(k, task, run, round, reason, usage, actor)
    : await changesOf(k, task, run, round, reason!, notes, usage, actor);
}

function roundOf(s: Extract<ReviewState, { state: "reviewing" }>): RoundData {
  return { round: s.round, rounds: s.rounds, reviewer: s.reviewer, implementer: s.implementer };
}

/**
 * deliverApproval is the reviewer's approval held for the task's gate (gates.ts), delivered
 * once the gate passed: as reviewVerdict would have made it.
 */
export async function deliverApproval(
  k: Kernel,
  task: TaskRow,
  run: RunRow,
  reason: string | undefined,
  usage: z.output<typeof UsageInput> | undefined,
  actor: Actor,
): Promise<Task> {
  const state = await reviewState(k, task.id);
  if (!isReviewRun(state, run)) {
    throw new ConflictError(
      "not_reviewing",
      `Task "${task.id}" is no longer waiting for the review of run ${run.id}`,
    );
  }
  const round = roundOf(state as Extract<ReviewState, { state: "reviewing" }>);
  return await approveOf(k, task, run, round, reason, usage, actor);
}

/** implementerOf is the implementer a task under review goes back to, when one is known. */
export async function implementerOf(k: Kernel, task: TaskRow): Promise<string | null> {
  const state = await reviewState(k, task.id);
  return state.state === "none" ? null : state.implementer;
}

async function approveOf(
  k: Kernel,
  task: TaskRow,
  run: RunRow,
  round: RoundData,
  reason: string | undefined,
  usage: z.output<typeof UsageInput> | undefined,
  actor: Actor,
): Promise<Task> {
  const to: Status = task.review_required === 1 ? "review" : "done";
  const [, moved, children] = await Promise.all([
    closeRun(k, run.id, "completed", {
      summary: reason ?? "Approved",
      usage: reported(usage),
    }),
    move(
      k,
      task,
      to,
      "approve_review",
      actor,
      {
        current_run_id: null,
        completed_at: to === "done" ? k.now() : null,
        assignee: round.implementer,
        consecutive_failures: 0,
        retry_after: null,
        last_error: null,
      },
      { ...round, ...(reason !== undefined ? { reason } : {}) },
      run.id,
    ),
    to === "done" ? k.q.childIds(task.id) : [],
  ]);
  for (const child of children) await refresh(k, child, actor);
  return toTask(moved);
}

async function changesOf(
  k: Kernel,
  task: TaskRow,
  run: RunRow,
  round: RoundData,
  reason: string,
  notes: z.output<typeof ReviewComments>,
  usage: z.output<typeof UsageInput> | undefined,
  actor: Actor,
): Promise<Task> {
  const comment = rejectionComment(reason, notes);
  const spent = round.round >= round.rounds;
  const to: Status = spent ? "review" : await derivedStatus(k, task);
  const [, moved] = await Promise.all([
    closeRun(k, run.id, "completed", { summary: reason, usage: reported(usage) }),
    move(k, task, to, "request_changes", actor, {
      current_run_id: null,
      assignee: round.implementer,
      result: null,
      consecutive_failures: 0,
      retry_after: null,
      last_error: null,
    }, {
      ...round,
      reason,
      ...(notes.length > 0 ? { comments: notes.length } : {}),
      ...(spent ? { person: `${round.rounds} rounds of review spent: a person decides` } : {}),
    }, run.id),
  ]);
  if (comment !== null) await addComment(k, moved, comment, actor, run.id);
  return toTask(moved);
}
