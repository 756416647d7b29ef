/**
 * The one transition table. Every status change on every surface (CLI, tools, HTTP,
 * dashboard, dispatcher) goes through `assertTransition()`; `docs/state_machine.md` draws
 * exactly these edges and a test keeps the two identical.
 */
import { IllegalTransitionError } from "../errors.ts";

export const STATUSES = [
  "triage",
  "todo",
  "scheduled",
  "ready",
  "running",
  "review",
  "done",
  "blocked",
  "archived",
] as const;
export type Status = (typeof STATUSES)[number];

/** The action that moves a task; it names the edge in the table and the event kind. */
export const ACTIONS = [
  "create",
  "promote",
  "derive",
  "claim",
  "complete",
  "approve",
  "reject",
  "block",
  "unblock",
  "fail",
  "cancel",
  "archive",
  "unarchive",
  "reopen",
  "decompose",
  "plan",
  "request_review",
  "approve_review",
  "request_changes",
  "fail_gate",
] as const;
export type Action = (typeof ACTIONS)[number];

/** Where a task may start: `create` edges leave this pseudo-state. */
export const START = "[*]";
export type From = Status | typeof START;

export interface Edge {
  from: From;
  to: Status;
  via: Action;
}

/** Statuses whose value is derived from parents and `not_before`. */
export const DERIVED: readonly Status[] = ["todo", "scheduled", "ready"];
const OPEN_BEFORE_RUN: readonly Status[] = ["todo", "scheduled", "ready"];
const NOT_ARCHIVED = STATUSES.filter((s) => s !== "archived");

function edges(from: readonly From[], to: readonly Status[], via: Action): Edge[] {
  return from.flatMap((f) => to.map((t) => ({ from: f, to: t, via })));
}

/** TRANSITIONS is the whole state machine, one row per allowed (from, to, action). */
export const TRANSITIONS: readonly Edge[] = [
  ...edges([START], ["triage", ...DERIVED], "create"),
  ...edges(["triage"], DERIVED, "promote"),
  { from: "todo", to: "ready", via: "derive" },
  { from: "todo", to: "scheduled", via: "derive" },
  { from: "scheduled", to: "ready", via: "derive" },
  { from: "scheduled", to: "todo", via: "derive" },
  { from: "ready", to: "todo", via: "derive" },
  { from: "ready", to: "running", via: "claim" },
  ...edges(["running", ...OPEN_BEFORE_RUN, "blocked"], ["done", "review"], "complete"),
  { from: "review", to: "done", via: "approve" },
  ...edges(["review"], DERIVED, "reject"),
  // blocked waits for a person; triage is the loop breaker's (and a capability block's that
  // names no profile); a running task's block may send it back to the queue (blocks.ts)
  ...edges(["running", ...OPEN_BEFORE_RUN, "review"], ["blocked", "triage"], "block"),
  ...edges(["running"], DERIVED, "block"),
  ...edges(["blocked"], DERIVED, "unblock"),
  ...edges(["running"], [...DERIVED, "blocked"], "fail"),
  ...edges(NOT_ARCHIVED.filter((s) => s !== "done"), ["archived"], "cancel"),
  ...edges(NOT_ARCHIVED, ["archived"], "archive"),
  ...edges(["archived"], ["triage", "blocked", "done", ...DERIVED], "unarchive"),
  ...edges(["done"], DERIVED, "reopen"),
  // decomposition (plans.ts): a triage (or blocked) task goes to its orchestrator, whose plan
  // makes it wait for the plan's tasks
  ...edges(["triage", "blocked"], DERIVED, "decompose"),
  { from: "running", to: "todo", via: "plan" },
  // the review loop (reviews.ts): a worker hands its work in for review, to a person (review)
  // or to the reviewer's worker (the queue); the reviewer approves it (done, or review when a
  // person approves last) or sends it back to its implementer (the queue; review once the
  // rounds are spent)
  ...edges(["running"], ["review", ...DERIVED], "request_review"),
  ...edges(["running"], ["done", "review"], "approve_review"),
  ...edges(["running"], [...DERIVED, "review"], "request_changes"),
  // completion gates (gates.ts): a failed gate sends the task back to the queue, or to a
  // person (blocked) after its last round
  ...edges(["running"], [...DERIVED, "blocked"], "fail_gate"),
];

const allowed = new Set(TRANSITIONS.map((e) => `${e.from}|${e.to}|${e.via}`));

/** canTransition tells whether `via` may move a task from `from` to `to`. */
export function canTransition(from: From, to: Status, via: Action): boolean {
  return allowed.has(`${from}|${to}|${via}`);
}

/** targetsFrom lists the statuses `via` can reach from `from` (empty when it cannot act). */
export function targetsFrom(from: From, via: Action): Status[] {
  return TRANSITIONS.filter((e) => e.from === from && e.via === via).map((e) => e.to);
}

/** assertTransition throws IllegalTransitionError naming task, from and to unless allowed. */
export function assertTransition(taskId: string, from: Status, to: Status, via: Action): void {
  if (canTransition(from, to, via)) return;
  refuseTransition(taskId, from, to, via);
}

/** refuseTransition throws the IllegalTransitionError assertTransition would throw. */
export function refuseTransition(taskId: string, from: Status, to: Status, via: Action): never {
  const legal = targetsFrom(from, via);
  const hint = legal.length === 0
    ? `${via} is not possible from ${from}`
    : `${via} from ${from} leads to ${legal.join(" or ")}`;
  throw new IllegalTransitionError(taskId, from, to, via, hint);
}

export function isStatus(value: string): value is Status {
  return (STATUSES as readonly string[]).includes(value);
}
