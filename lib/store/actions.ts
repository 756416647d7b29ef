/**
 * The one action vocabulary: what each action a person (or a worker) takes on a task is called,
 * which store call runs it, and where it lands. The CLI verbs, the HTTP transition endpoints,
 * the agent tools and the dashboard keep only their labels and come here, so a new action, or
 * a change in where one lands, is made once.
 *
 * The dashboard bundle imports this module: it uses no zod and no node modules, and its store
 * imports are type-only (lib/store/transitions.ts and lib/errors.ts are the only code it pulls
 * in). The transition table stays the judge: landing() only says where an action goes, and
 * the store checks the move again when it runs it.
 */
import { IllegalTransitionError, ValidationError } from "../errors.ts";
import { type Action, DERIVED, type Status, targetsFrom } from "./transitions.ts";
import type { ReviewCommentInput } from "./review_comments.ts";
import type { BlockKind, BlockOptions } from "./blocks.ts";
import type { Store } from "./store.ts";
import type { Actor, Task, TaskSummary } from "./types.ts";
import type { UsageInput } from "./usage.ts";

/**
 * The actions a person applies to a task by its id (claim, derive, fail and create belong to
 * the machine). This order is the API's (`BULK_ACTIONS`); each surface orders its own labels.
 */
export const PERSON_ACTIONS = [
  "promote",
  "unblock",
  "complete",
  "block",
  "approve",
  "reject",
  "cancel",
  "archive",
  "unarchive",
  "reopen",
] as const satisfies readonly Action[];
export type PersonAction = (typeof PERSON_ACTIONS)[number];

/** isPersonAction tells whether `value` names one of PERSON_ACTIONS. */
export function isPersonAction(value: string): value is PersonAction {
  return (PERSON_ACTIONS as readonly string[]).includes(value);
}

/** Where an action takes a task: a status, or "derived" (todo, scheduled or ready). */
export type Landing = Status | "derived";

/** What landing() needs to know of a task. */
export type LandingTask = Pick<TaskSummary, "status" | "review_required" | "archived_from">;

/** The statuses an unarchive restores as they were; any other comes back derived. */
const RESTORED: readonly Status[] = ["done", "triage", "blocked"];

/** canAct tells whether the transition table lets `action` act on a task in `from`. */
export function canAct(from: Status, action: Action): boolean {
  return targetsFrom(from, action).length > 0;
}

/** actionsFrom lists the person actions the table allows from `from`, in PERSON_ACTIONS order. */
export function actionsFrom(from: Status): PersonAction[] {
  return PERSON_ACTIONS.filter((a) => canAct(from, a));
}

/**
 * landing is where `action` takes `task`, or null when the table has no such move from its
 * status. A promote, unblock, reject or reopen lands "derived": readiness (parents, not-before)
 * picks todo, scheduled or ready. A claim enters running; a complete goes to review when the
 * task requires it; an unarchive restores done, triage and blocked as they were.
 */
export function landing(
  task: LandingTask,
  action: PersonAction | "claim",
  block: BlockLanding = { kind: "needs_input" },
): Landing | null {
  if (!canAct(task.status, action)) return null;
  switch (action) {
    case "claim":
      return "running";
    case "complete":
      return task.review_required ? "review" : "done";
    case "approve":
      return "done";
    case "block":
      return blockLanding(task.status, block);
    case "cancel":
    case "archive":
      return "archived";
    case "unarchive": {
      const back = task.archived_from;
      return back !== null && RESTORED.includes(back) ? back : "derived";
    }
    case "promote":
    case "unblock":
    case "reject":
    case "reopen":
      return "derived";
  }
}

/** What landing() needs to know of a block: its kind, and whether it names a profile. */
export interface BlockLanding {
  kind: BlockKind;
  profile?: boolean | undefined;
}

/**
 * blockLanding is where a block of a kind takes a task in `from` (the loop breaker aside,
 * which sends any block to triage): needs_input to blocked; a capability block naming no
 * profile to triage; the others, which stop a run, back to the queue, from running only.
 */
export function blockLanding(from: Status, block: BlockLanding): Landing | null {
  if (block.kind === "needs_input") return "blocked";
  if (block.kind === "capability" && !block.profile) return "triage";
  return from === "running" ? "derived" : null;
}

/** landsOn tells whether `land` (see landing()) is column `to`. */
export function landsOn(land: Landing | null, to: Status): boolean {
  return land === to || (land === "derived" && DERIVED.includes(to));
}

// Running an action --------------------------------------------------------------------------

/** ActionInput is what an action may take besides the task: each uses the fields it needs. */
export interface ActionInput {
  /** block (required), cancel, approve and reject (optional). */
  reason?: string | undefined;
  /** complete: the handoff. */
  summary?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  result?: string | undefined;
  /** complete and block: what the run used, as the caller reports it (the store validates). */
  usage?: UsageInput | undefined;
  /** reject: review comments, their diff lines quoted (lib/review/quote.ts). */
  comments?: readonly ReviewCommentInput[] | undefined;
  /** block: its kind and the kind's fields (lib/store/blocks.ts); needs_input by default. */
  block?: BlockOptions | undefined;
}

/**
 * runAction applies `action` to task `ref` through its store call; the store resolves the ref,
 * validates the input and checks the move against the transition table (errors pass through).
 */
export function runAction(
  store: Store,
  ref: string,
  action: PersonAction,
  input: ActionInput,
  actor: Actor,
): Promise<Task> {
  switch (action) {
    case "promote":
      return store.promote(ref, actor);
    case "unblock":
      return store.unblock(ref, actor);
    case "complete":
      // passed on whole, so that input a surface parsed with the store's schema (extendInput)
      // is not parsed again; the store reads only the completion's fields
      return store.complete(ref, input, actor);
    case "block":
      return store.block(ref, input.reason ?? "", actor, input.usage, input.block);
    case "approve":
    case "reject":
      return store.review(ref, action, input.reason, actor, input.comments);
    case "cancel":
      return store.cancel(ref, input.reason, actor);
    case "archive":
      return store.archive(ref, actor);
    case "unarchive":
      return store.unarchive(ref, actor);
    case "reopen":
      return store.reopen(ref, actor);
  }
}

// Drag and drop ------------------------------------------------------------------------------

/** The actions a person's drop on a column can map to (cancel is archive's, with a reason). */
export type DropAction = Exclude<PersonAction, "cancel">;

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

/**
 * dropAction is the action that takes `task` to column `to` (the first of the column's
 * candidates that lands there), or null when none does or the task is already there.
 */
export function dropAction(task: LandingTask, to: Status): DropAction | null {
  if (task.status === to) return null;
  return CANDIDATES[to].find((a) => landsOn(landing(task, a), to)) ?? null;
}

/** legalDrops lists where a person can drop a task in its status, for refusal messages. */
function legalDrops(task: LandingTask): string {
  const seen = new Set<string>();
  for (const [to, actions] of Object.entries(CANDIDATES) as [Status, DropAction[]][]) {
    for (const a of actions) {
      const land = landing(task, a);
      if (land !== null && landsOn(land, to)) {
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
export function planMove(
  task: LandingTask & Pick<TaskSummary, "id">,
  to: Status,
  hasReason: boolean,
): MovePlan {
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
  const action = dropAction(task, to);
  if (action !== null) {
    if (action === "block" && !hasReason) {
      throw new ValidationError(`Invalid request body: reason is required to block a task`);
    }
    return { action };
  }
  throw refuse(refusal(task, to));
}

/** refusal says why no action takes `task` to `to`: what its candidates would do instead. */
function refusal(task: LandingTask, to: Status): string {
  const reasons: string[] = [];
  for (const action of CANDIDATES[to]) {
    const land = landing(task, action);
    if (land === null) continue;
    if (action === "complete" && land === "review") {
      reasons.push("the task requires review: drop it on review, then approve it");
    } else if (action === "complete" && land === "done") {
      reasons.push("the task does not require review: drop it on done");
    } else if (action === "unarchive") {
      reasons.push(`unarchiving brings it back to ${land === "derived" ? "the queue" : land}`);
    }
  }
  if (to === "triage" && reasons.length === 0) reasons.push("only new tasks enter triage");
  return reasons.length > 0
    ? reasons.join("; ")
    : `from ${task.status} it can go to ${legalDrops(task)}`;
}
