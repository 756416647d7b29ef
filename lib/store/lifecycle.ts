/**
 * The status-changing operations people and workers call: complete, review, block, unblock,
 * promote, cancel, archive, unarchive, reopen. Each goes through the transition table. A
 * person moving a running task off `running` closes its run with an outcome that says so
 * (the dispatcher then stops the worker process, whose later writes are refused).
 */
import { type RunRow, type TaskRow, toTask } from "./_rows.ts";
import { type Kernel, move, resolveTask } from "./_kernel.ts";
import { KeyTakenError } from "./driver/core.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import { rejectionComment, type ReviewCommentInput, ReviewComments } from "./review_comments.ts";
import { CompleteInput, parse, text } from "./input.ts";
import type { Outcome } from "./outcomes.ts";
import { moveToDerived, refresh, refreshChildren } from "./readiness.ts";
import { type CloseFields, closeRun, fenceRun, tokenRun } from "./runs.ts";
import { replayed } from "./replay.ts";
import { addComment } from "./comments.ts";
import type { Actor, Task } from "./types.ts";
import type { z } from "zod";
import { type Usage, UsageInput, type UsageInput as UsageInputValue } from "./usage.ts";
import { refuseTransition, type Status } from "./transitions.ts";
import { type Landing, landing, type PersonAction } from "./actions.ts";

/** reported marks usage a worker reported itself (parsed already). */
function reported(usage: z.output<typeof UsageInput> | undefined): Usage | null {
  return usage === undefined ? null : { ...usage, source: "reported" };
}

function target(k: Kernel, ref: string, lock = false): Promise<TaskRow> {
  return resolveTask(k, ref, lock);
}

/**
 * reportTargets reads a worker's report's task and its token's run (tokenRun) together (one
 * round trip on a server). In a lockedReads transaction (a worker's report, Kernel.locked)
 * both are locked until it ends, the run first (the order every writer of both takes them:
 * a run is closed before its task moves), so that the fence, the replay check and the moves
 * judge rows no other transaction can change meanwhile.
 */
async function reportTargets(
  k: Kernel,
  ref: string,
  actor: Actor,
): Promise<[TaskRow, RunRow | null | undefined]> {
  const [token, task] = await Promise.all([
    tokenRun(k, actor, k.locked),
    target(k, ref, k.locked),
  ]);
  return [task, token];
}

/** landingOf is where `action` takes a stored task (see landing() in actions.ts). */
function landingOf(task: TaskRow, action: PersonAction): Landing | null {
  return landing({
    status: task.status,
    review_required: task.review_required === 1,
    archived_from: task.archived_from,
  }, action);
}

/**
 * endCurrentRun closes the running task's run: as the worker's own report when `token` (the
 * actor's run, tokenRun) fences it, or with `humanOutcome` when a person moves the task off
 * `running`. Fencing happens before anything is sent; `close` is the run's close (undefined
 * when there is no run to close), to be awaited with the writes sent beside it; `id` the run.
 */
function endCurrentRun(
  k: Kernel,
  task: TaskRow,
  actor: Actor,
  token: RunRow | null | undefined,
  action: string,
  workerOutcome: Outcome,
  humanOutcome: Outcome,
  fields: CloseFields = {},
): { id: number | null; close: Promise<unknown> | undefined } {
  const run = fenceRun(task, action, token);
  if (run) return { id: run.id, close: closeRun(k, run.id, workerOutcome, fields) };
  if (task.current_run_id !== null) {
    const error = fields.error ? `${fields.error} (by ${actor.name})` : `by ${actor.name}`;
    const close = closeRun(k, task.current_run_id, humanOutcome, { ...fields, error });
    return { id: task.current_run_id, close };
  }
  return { id: null, close: undefined };
}

/**
 * complete finishes a task with a handoff (summary, metadata, result): to `review` when the
 * task requires review, otherwise to `done`, which may make its children ready. A worker's
 * completion that already ended its run (a retry after a lost answer) returns the task as it
 * is and changes nothing (replay.ts); any other write with that token is refused.
 *
 * Its reads and writes go out in two batches (one round trip each on a server): the task and
 * the token's run; then the run's close, the task's move and its event, and its children.
 */
export async function complete(
  k: Kernel,
  ref: string,
  raw: CompleteInput,
  actor: Actor,
): Promise<Task> {
  const input = parse(CompleteInput, raw, "completion");
  const [task, token] = await reportTargets(k, ref, actor);
  if (await replayed(k, task, token, { kind: "complete", ...input })) return toTask(task);
  // landing() says where a completion lands; from a status the table refuses it says
  // nothing, and move() below refuses the move the task asked for (the transaction keeps
  // nothing).
  const to = (landingOf(task, "complete") ?? (task.review_required ? "review" : "done")) as Status;
  const run = endCurrentRun(k, task, actor, token, "complete", "completed", "completed_by_human", {
    summary: input.summary ?? null,
    metadata: input.metadata ?? null,
    usage: reported(input.usage),
  });
  const now = k.now();
  const [, moved, children] = await Promise.all([
    run.close,
    move(k, task, to, "complete", actor, {
      current_run_id: null,
      completed_at: to === "done" ? now : null,
      result: input.result ?? null,
      blocked_reason: null,
      consecutive_failures: 0,
      retry_after: null,
      last_error: null,
    }, {
      ...(input.summary !== undefined ? { summary: input.summary } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      ...(input.result !== undefined ? { result: input.result } : {}),
    }, run.id),
    to === "done" ? k.q.childIds(task.id) : [],
  ]);
  // each child is re-derived after the move, which it reads; in id order, so two workers
  // completing parents of the same children lock them in one order (refresh)
  for (const child of children) await refresh(k, child, actor);
  return toTask(moved);
}

/**
 * review approves (review -> done) or rejects (back to the queue): a rejection's reason and
 * its review comments (file or line, with the quoted diff lines) become one comment.
 */
export async function review(
  k: Kernel,
  ref: string,
  decision: "approve" | "reject",
  reason: string | undefined,
  actor: Actor,
  comments: readonly ReviewCommentInput[] = [],
): Promise<Task> {
  const note = reason === undefined ? undefined : parse(text("reason", true), reason, "reason");
  const notes = parse(ReviewComments, comments, "review comments");
  if (decision === "approve" && notes.length > 0) {
    throw new ValidationError(
      "Review comments go with a rejection (request changes); an approval takes only a reason",
    );
  }
  const rejection = decision === "reject" ? rejectionComment(note, notes) : null;
  const task = await target(k, ref);
  if (decision === "approve") {
    const moved = await move(k, task, "done", "approve", actor, { completed_at: k.now() }, {
      ...(note ? { reason: note } : {}),
    });
    await refreshChildren(k, task.id, actor);
    return toTask(moved);
  }
  const moved = await moveToDerived(k, task, "reject", actor, { result: null }, {
    ...(note ? { reason: note } : {}),
    ...(notes.length > 0 ? { comments: notes.length } : {}),
  });
  if (rejection !== null) await addComment(k, moved, rejection, actor, null);
  return toTask(moved);
}

/**
 * block parks a task until a person answers `reason` (a worker's question, or a hold). As for
 * complete, the worker's block that already ended its run returns the task unchanged.
 */
export async function block(
  k: Kernel,
  ref: string,
  reason: string,
  actor: Actor,
  usage?: UsageInputValue,
): Promise<Task> {
  const why = parse(text("block reason", true), reason, "block reason").trim();
  const used = reported(usage === undefined ? undefined : parse(UsageInput, usage, "usage"));
  const [task, token] = await reportTargets(k, ref, actor);
  if (await replayed(k, task, token, { kind: "block", reason: why })) return toTask(task);
  const run = task.status === "running"
    ? endCurrentRun(k, task, actor, token, "block", "blocked", "blocked_by_human", {
      error: why,
      usage: used,
    })
    : (fenceRun(task, "block", token), { id: null, close: undefined });
  const [, moved] = await Promise.all([
    run.close,
    move(
      k,
      task,
      "blocked",
      "block",
      actor,
      {
        current_run_id: null,
        blocked_reason: why,
      },
      { reason: why },
      run.id,
    ),
  ]);
  return toTask(moved);
}

/** unblock returns a blocked task to the queue and resets its failure count. */
export async function unblock(k: Kernel, ref: string, actor: Actor): Promise<Task> {
  const task = await target(k, ref);
  return toTask(
    await moveToDerived(k, task, "unblock", actor, {
      blocked_reason: null,
      consecutive_failures: 0,
      retry_after: null,
    }),
  );
}

/** promote moves a task out of triage into the queue. */
export async function promote(k: Kernel, ref: string, actor: Actor): Promise<Task> {
  return toTask(await moveToDerived(k, await target(k, ref), "promote", actor));
}

/**
 * cancel (for work that should not be done) and archive (to put anything away) both end in
 * `archived`, remembering the status they left; a running task's run is closed first.
 */
export async function shelve(
  k: Kernel,
  ref: string,
  via: "cancel" | "archive",
  reason: string | undefined,
  actor: Actor,
): Promise<Task> {
  const why = reason === undefined ? undefined : parse(text("reason", true), reason, "reason");
  const [task, token] = await Promise.all([target(k, ref), tokenRun(k, actor)]);
  const outcome = via === "cancel" ? "cancelled" : "archived";
  const run = task.status === "running"
    ? endCurrentRun(k, task, actor, token, via, outcome, outcome, { error: why ?? null })
    : { id: null, close: undefined };
  const [, moved] = await Promise.all([
    run.close,
    move(
      k,
      task,
      "archived",
      via,
      actor,
      {
        current_run_id: null,
        archived_from: task.status,
      },
      why ? { reason: why } : {},
      run.id,
    ),
  ]);
  return toTask(moved);
}

/** unarchive restores a task: done, triage and blocked come back as they were; others re-derive. */
export async function unarchive(k: Kernel, ref: string, actor: Actor): Promise<Task> {
  const task = await target(k, ref);
  const land = landingOf(task, "unarchive");
  if (land === null) refuseTransition(task.id, task.status, "todo", "unarchive");
  try {
    const moved = land === "derived"
      ? await moveToDerived(k, task, "unarchive", actor, { archived_from: null })
      : await move(k, task, land, "unarchive", actor, { archived_from: null });
    await refreshChildren(k, task.id, actor);
    return toTask(moved);
  } catch (err) {
    if (err instanceof KeyTakenError && err.column === "idempotency_key") {
      throw new ConflictError(
        "idempotency_key_taken",
        `Cannot unarchive task "${task.id}": another task now uses its idempotency key "${task.idempotency_key}"`,
      );
    }
    throw err;
  }
}

/** reopen sends a done task back to the queue; its ready children wait for it again. */
export async function reopen(k: Kernel, ref: string, actor: Actor): Promise<Task> {
  const task = await target(k, ref);
  const moved = await moveToDerived(k, task, "reopen", actor, {
    completed_at: null,
    result: null,
  });
  await refreshChildren(k, task.id, actor);
  return toTask(moved);
}
