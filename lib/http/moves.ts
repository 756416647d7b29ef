/**
 * Drag and drop: a task dropped on a column becomes the one action of the transition table
 * that takes it there, or a refusal that says why. The table stays the judge: this only
 * picks the action, and the store checks the move again when it runs it.
 */
import {
  DERIVED,
  IllegalTransitionError,
  type Status,
  targetsFrom,
  type TaskSummary,
  ValidationError,
} from "../store/mod.ts";

/** The actions a person's drop can map to (claim, derive and fail belong to the machine). */
export type DropAction =
  | "promote"
  | "complete"
  | "approve"
  | "reject"
  | "block"
  | "unblock"
  | "archive"
  | "unarchive"
  | "reopen";

/** Which actions might reach each column, in order of preference. */
const CANDIDATES: Record<Status, DropAction[]> = {
  triage: ["unarchive"],
  todo: ["promote", "unblock", "reject", "reopen", "unarchive"],
  scheduled: ["promote", "unblock", "reject", "reopen", "unarchive"],
  ready: ["promote", "unblock", "reject", "reopen", "unarchive"],
  running: [],
  review: ["complete"],
  done: ["approve", "complete", "unarchive"],
  blocked: ["block", "unarchive"],
  archived: ["archive"],
};

/** landing is where `action` takes `task`: a status, or "derived" (todo/scheduled/ready). */
function landing(task: TaskSummary, action: DropAction): Status | "derived" {
  switch (action) {
    case "complete":
      return task.review_required ? "review" : "done";
    case "approve":
      return "done";
    case "block":
      return "blocked";
    case "archive":
      return "archived";
    case "unarchive": {
      const back = task.archived_from;
      return back === "done" || back === "triage" || back === "blocked" ? back : "derived";
    }
    default:
      return "derived";
  }
}

const hasEdge = (from: Status, via: DropAction) => targetsFrom(from, via).length > 0;

/** lands tells whether a landing (see landing()) is column `to`. */
const lands = (land: Status | "derived", to: Status) =>
  land === to || (land === "derived" && DERIVED.includes(to));

/** legalFrom lists what a person can do with a task in `from`, for refusal messages. */
function legalFrom(task: TaskSummary): string {
  const seen = new Set<string>();
  for (const [to, actions] of Object.entries(CANDIDATES) as [Status, DropAction[]][]) {
    for (const a of actions) {
      if (!hasEdge(task.status, a)) continue;
      const land = landing(task, a);
      if (lands(land, to)) {
        seen.add(`${land === "derived" ? "todo/ready" : land} (${a})`);
      }
    }
  }
  return seen.size === 0 ? "nothing" : [...seen].join(", ");
}

export type MovePlan = { action: DropAction } | { action: null };

/**
 * planMove maps dropping `task` on column `to` to an action, `{action: null}` when the task
 * is already there, or throws IllegalTransitionError (409) naming from, to and the reason.
 * A drop on `blocked` needs a reason (`hasReason`), else ValidationError (400).
 */
export function planMove(task: TaskSummary, to: Status, hasReason: boolean): MovePlan {
  const from = task.status;
  if (from === to) return { action: null };
  const refuse = (why: string) => new IllegalTransitionError(task.id, from, to, "move", why);
  if (to === "running") {
    throw refuse("only a claim enters running: a dispatcher claims ready tasks for their profile");
  }
  if (DERIVED.includes(to) && DERIVED.includes(from)) {
    throw refuse(
      "todo, scheduled and ready are derived: a task is ready once every parent is done " +
        "and its not-before time has passed",
    );
  }
  const reasons: string[] = [];
  for (const action of CANDIDATES[to]) {
    if (!hasEdge(from, action)) continue;
    const land = landing(task, action);
    if (lands(land, to)) {
      if (action === "block" && !hasReason) {
        throw new ValidationError(`Invalid request body: reason is required to block a task`);
      }
      return { action };
    }
    if (action === "complete" && land === "review") {
      reasons.push("the task requires review: drop it on review, then approve it");
    } else if (action === "complete" && land === "done") {
      reasons.push("the task does not require review: drop it on done");
    } else if (action === "unarchive") {
      reasons.push(`unarchiving brings it back to ${land === "derived" ? "the queue" : land}`);
    }
  }
  if (to === "triage" && reasons.length === 0) reasons.push("only new tasks enter triage");
  throw refuse(
    reasons.length > 0 ? reasons.join("; ") : `from ${from} it can go to ${legalFrom(task)}`,
  );
}
