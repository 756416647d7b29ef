/**
 * The status-changing operations people and workers call: complete, review, block, unblock,
 * promote, cancel, archive, unarchive, reopen. Each goes through the transition table. A
 * person moving a running task off `running` closes its run with an outcome that says so
 * (the dispatcher then stops the worker process, whose later writes are refused).
 */
import { iso, type RunRow, type TaskRow, toTask } from "./_rows.ts";
import { appendEvent, type Kernel, move, resolveTask } from "./_kernel.ts";
import { KeyTakenError, type TaskSet } from "./driver/core.ts";
import { ConflictError, NotFoundError, ValidationError } from "./errors.ts";
import { addLink } from "./links.ts";
import {
  BLOCK_KINDS,
  type BlockCounts,
  type BlockKind,
  type BlockOptions,
  breakerReason,
  isBlockKind,
} from "./blocks.ts";
import { rejectionComment, type ReviewCommentInput, ReviewComments } from "./review_comments.ts";
import { CompleteInput, name, parse, text } from "./input.ts";
import type { Outcome } from "./outcomes.ts";
import { derivedStatus, moveToDerived, refresh, refreshChildren } from "./readiness.ts";
import { type CloseFields, closeRun, fenceRun, tokenRun } from "./runs.ts";
import { replayed } from "./replay.ts";
import { requestReview, reviewRoute, reviewVerdict } from "./reviews.ts";
import { gateSpec, heldReplay, holdForGate } from "./gates.ts";
import { addComment } from "./comments.ts";
import type { Actor, Task } from "./types.ts";
import type { z } from "zod";
import { type Usage, UsageInput, type UsageInput as UsageInputValue } from "./usage.ts";
import { refuseTransition, type Status } from "./transitions.ts";
import { blockLanding, type Landing, landing, type PersonAction } from "./actions.ts";

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
 * is and changes nothing (replay.ts); any other write with that token is refused. A worker's
 * completion of a task with a completion gate is held on its open run until the gate has run
 * (gates.ts); a person's is never gated.
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
  // a report already held for the task's gate (gates.ts): this one again changes nothing
  const route = await reviewRoute(k, task, token);
  if (route === null && heldReplay(task, token, { route: "complete", ...input })) {
    return toTask(task);
  }
  // a worker's completion in the review loop (reviews.ts): the reviewer's approval, or the
  // implementer's hand-in to its reviewer
  switch (route) {
    case "approve":
      return await reviewVerdict(k, ref, "approve", {
        reason: input.summary,
        usage: input.usage,
      }, actor);
    case "request":
      return await requestReview(k, ref, input, actor);
  }
  if (await replayed(k, task, token, { kind: "complete", ...input })) return toTask(task);
  // a worker's completion of a task with a gate waits for its gate (gates.ts), its run open
  if (token && gateSpec(task) !== null && task.status === "running") {
    const run = fenceRun(task, "complete", token)!;
    return await holdForGate(k, task, run, { route: "complete", ...input }, actor);
  }
  return await completeTask(k, task, token, input, actor);
}

/**
 * completeTask is complete() once the report is judged: the run (the worker's, when `token`
 * fences it; otherwise a person's move of a running task) ends with the handoff and the task
 * goes to `done` or `review`. A gate that passed delivers its held report here (gates.ts).
 */
export async function completeTask(
  k: Kernel,
  task: TaskRow,
  token: RunRow | null | undefined,
  input: z.output<typeof CompleteInput>,
  actor: Actor,
): Promise<Task> {
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
      block_kind: null,
      blocked_on: null,
      block_counts: "{}",
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

/** A block's options once checked: the kind is known. */
type CheckedBlock = BlockOptions & { kind: BlockKind };

/** blockInput checks a block's options: its kind, and only the fields that kind takes. */
function blockInput(o: BlockOptions): CheckedBlock {
  const kind = o.kind ?? "needs_input";
  if (!isBlockKind(kind)) {
    throw new ValidationError(
      `Unknown block kind "${String(kind)}": expected one of ${BLOCK_KINDS.join(", ")}`,
    );
  }
  const only = (field: string, value: unknown, owner: BlockKind) => {
    if (value !== undefined && kind !== owner) {
      throw new ValidationError(`${field} goes with a ${owner} block, not ${kind}`);
    }
  };
  only("on (the task waited on)", o.on, "dependency");
  only("retry_after", o.retry_after_seconds, "transient");
  only("profile", o.profile, "capability");
  if (kind === "dependency" && (o.on === undefined || o.on.trim() === "")) {
    throw new ValidationError("A dependency block names the task it waits on (--on TASK_ID)");
  }
  const wait = o.retry_after_seconds;
  if (wait !== undefined && (!Number.isSafeInteger(wait) || wait <= 0)) {
    throw new ValidationError(`retry_after must be a positive whole number of seconds`);
  }
  const profile = o.profile === undefined
    ? undefined
    : parse(name("profile"), o.profile, "profile");
  return { ...o, kind, ...(profile !== undefined ? { profile } : {}) };
}

/** What to do instead of a run-stopping block on a task that is not running. */
const STOPS_RUN: Record<BlockKind, string> = {
  needs_input: "",
  dependency: "to make a waiting task wait for another, link them",
  transient: "a task that is not running has nothing to retry",
  capability: "to give a waiting task to another profile, assign it",
};

/** Where a block of a kind goes, and what it sets besides the kind and counts. */
interface BlockPlan {
  to: Status;
  set: TaskSet;
  data: Record<string, unknown>;
}

/**
 * planBlock decides where a block takes `task` (the `n`-th of its kind): triage when the loop
 * breaker trips (on a worker's block, `counted`); otherwise blocked (needs_input), the queue
 * behind its new parent (dependency), the queue after a delay (transient), or the queue
 * under another profile (capability; triage without one). A dependency links the parent here (refusing unknown tasks and cycles).
 */
async function planBlock(
  k: Kernel,
  task: TaskRow,
  o: CheckedBlock,
  why: string,
  n: number,
  counted: boolean,
  actor: Actor,
): Promise<BlockPlan> {
  const limit = o.kind === "transient" ? k.options.transientLimit : k.options.blockLimit;
  if (n >= limit && counted) {
    return {
      to: "triage",
      set: { blocked_reason: breakerReason(o.kind, n, why), retry_after: null },
      data: { limit },
    };
  }
  switch (o.kind) {
    case "needs_input":
      return { to: "blocked", set: { blocked_reason: why }, data: {} };
    case "dependency": {
      const parent = await resolveTask(k, o.on!).catch((err) => {
        throw err instanceof NotFoundError
          ? new NotFoundError(`Cannot wait on "${o.on}": ${err.message}`)
          : err;
      });
      if (parent.status === "archived") {
        throw new ConflictError(
          "archived",
          `Cannot wait on archived task "${parent.id}"; unarchive it first`,
        );
      }
      if (await addLink(k, parent.id, task.id)) {
        appendEvent(k, task.id, task.current_run_id, "linked", actor, {
          parent: parent.id,
        });
      }
      const to = await derivedStatus(k, task);
      return { to, set: { blocked_reason: null, blocked_on: parent.id }, data: { on: parent.id } };
    }
    case "transient": {
      const ms = o.retry_after_seconds !== undefined
        ? o.retry_after_seconds * 1000
        : k.options.backoffMs(Math.max(n, 1));
      const retry = k.now() + ms;
      return {
        to: await derivedStatus(k, task),
        set: { blocked_reason: null, retry_after: retry },
        data: { retry_after: iso(retry) },
      };
    }
    case "capability":
      if (o.profile === undefined) {
        return { to: "triage", set: { blocked_reason: why }, data: {} };
      }
      return {
        to: await derivedStatus(k, task),
        set: { blocked_reason: null, assignee: o.profile },
        data: { profile: o.profile, from_profile: task.assignee },
      };
  }
}

/**
 * block stops work on a task for a reason, by kind (lib/store/blocks.ts): needs_input parks it
 * until a person answers (the default, and what a block was before kinds); dependency,
 * transient and capability send it on without a person; the loop breaker sends a task its
 * workers blocked too often for one kind to triage (a person's block is not counted). A
 * worker's block ends its run (a transient one with the `transient` outcome, which no failure
 * count sees). As for complete, the worker's block that
 * already ended its run returns the task unchanged.
 */
export async function block(
  k: Kernel,
  ref: string,
  reason: string,
  actor: Actor,
  usage?: UsageInputValue,
  options: BlockOptions = {},
): Promise<Task> {
  const o = blockInput(options);
  const why = parse(text("block reason", true), reason, "block reason").trim();
  const used = reported(usage === undefined ? undefined : parse(UsageInput, usage, "usage"));
  const [task, token] = await reportTargets(k, ref, actor);
  heldReplay(task, token, null); // refused while a completion waits for its gate
  if (await replayed(k, task, token, { kind: "block", reason: why })) return toTask(task);
  const transient = o.kind === "transient";
  // the run is fenced before anything is decided or written
  const run = task.status === "running"
    ? endCurrentRun(
      k,
      task,
      actor,
      token,
      "block",
      transient ? "transient" : "blocked",
      transient ? "transient" : "blocked_by_human",
      { error: why, usage: used },
    )
    : (fenceRun(task, "block", token), { id: null, close: undefined });
  if (blockLanding(task.status, { kind: o.kind, profile: o.profile !== undefined }) === null) {
    throw new ConflictError(
      "not_running",
      `Cannot block task "${task.id}" as ${o.kind}: it is ${task.status}, and a ${o.kind} block ` +
        `stops a running task (${STOPS_RUN[o.kind]})`,
    );
  }
  // the loop breaker counts a worker's blocks (an agent looping), not a person's holds
  const counted = token !== null && token !== undefined;
  const counts = JSON.parse(task.block_counts) as BlockCounts;
  const n = (counts[o.kind] ?? 0) + (counted ? 1 : 0);
  // a task blocked from running waits as if it were queued: readiness judges it so
  const queued: TaskRow = { ...task, current_run_id: null };
  const plan = await planBlock(k, queued, o, why, n, counted, actor);
  const [, moved] = await Promise.all([
    run.close,
    move(
      k,
      task,
      plan.to,
      "block",
      actor,
      {
        current_run_id: null,
        block_kind: o.kind,
        block_counts: counted ? JSON.stringify({ ...counts, [o.kind]: n }) : task.block_counts,
        ...plan.set,
      },
      { reason: why, kind: o.kind, count: n, ...plan.data },
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
