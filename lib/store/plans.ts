/**
 * Decomposition: a person asks an orchestrator profile to split a triage task into a plan, a
 * graph of tasks for the right profiles; the orchestrator's worker submits the plan once, and
 * the task it came from (the root) waits for the plan's last tasks, then goes to review by the
 * orchestrator (a run of its own, with the handoffs) or by a person (status `review`).
 *
 * - `decompose` (a person, or the dispatcher when decomposition is enabled for a board) moves a
 *   triage task to the queue assigned to the orchestrator, recording the request: the roster
 *   (the profiles the plan may use, with their descriptions), how the result is reviewed, and
 *   whether a person approves the plan before any of its tasks may run.
 * - `submitPlan` is the orchestrator worker's one report: in one transaction it creates the
 *   plan's tasks (Store.createGraph, key `plan-<root>`), makes the root wait for the plan's
 *   sinks (the tasks no other plan task waits for), ends the worker's run and moves the root
 *   to `todo`. Validation refuses unknown profiles (not on the roster), cycles, and graphs over
 *   the size limits, naming the node and field. The run's token fences it: a plan is created
 *   exactly once.
 * - With approval, the plan's first tasks wait in triage until a person approves the plan
 *   (`approvePlan`, which promotes them) or rejects it (`rejectPlan`: the plan's open tasks are
 *   cancelled and the root goes back to triage, to be decomposed again or done by hand).
 *
 * The state of a task's decomposition is in its events (decomposition_requested, planned,
 * plan_approved, plan_rejected): nothing else is stored, and an export carries it whole.
 */
import { z } from "zod";
import { type RunRow, type TaskRow, toTask } from "./_rows.ts";
import { appendEvent, type Kernel, loadTask, move, resolveTask } from "./_kernel.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import { createGraph, GRAPH_MAX_NODES, type GraphResult } from "./graph.ts";
import { parse, text } from "./input.ts";
import { addLink } from "./links.ts";
import { moveToDerived, refresh } from "./readiness.ts";
import { closeRun, fenceRun, tokenRun } from "./runs.ts";
import { shelve } from "./lifecycle.ts";
import type { Actor, Task } from "./types.ts";

/**
 * What the completion event of a plan's root says when its last task finished and a person
 * reviews it (readiness.ts): a consequence of that task's completion, which the confinement
 * audit lets the finishing worker's transaction write (confine.ts).
 */
export const PLAN_DONE = '"plan":"done"';

/** The kinds of the events that say where a task's decomposition is. */
export const PLAN_EVENTS = [
  "decomposition_requested",
  "planned",
  "plan_approved",
  "plan_rejected",
] as const;

/** The longest profile description a roster carries. */
export const DESCRIPTION_MAX_CHARS = 300;
/** The most profiles a roster carries. */
export const ROSTER_MAX = 100;

/** One profile a plan may assign work to. */
export interface RosterEntry {
  name: string;
  /** One line: what the profile is good at ("" when its config gives none). */
  description: string;
}

/** Who reviews the root once the plan's tasks are done. */
export type PlanReview = "orchestrator" | "person";

export interface DecomposeRequest {
  /** The orchestrator profile whose worker makes the plan. */
  profile: string;
  roster: RosterEntry[];
  review: PlanReview;
  /** A person approves the plan before any of its tasks may run. */
  approval: boolean;
}

const Name = z.string().trim().min(1, "is empty").max(100, "is longer than 100 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, "is not a profile name");

const Request = z.strictObject({
  profile: Name,
  roster: z.array(z.strictObject({
    name: Name,
    description: z.string().max(
      DESCRIPTION_MAX_CHARS,
      `is longer than ${DESCRIPTION_MAX_CHARS} characters`,
    ).transform((s) => s.replace(/\s+/g, " ").trim()),
  })).min(1, "names no profile").max(ROSTER_MAX, `has more than ${ROSTER_MAX} profiles`),
  review: z.enum(["orchestrator", "person"]),
  approval: z.boolean(),
});

/** One task of a plan, as the orchestrator gives it. */
export interface PlanTaskInput {
  /** Its name within the plan (letters, digits, ".", "_", "-"). */
  ref: string;
  title: string;
  body?: string | undefined;
  /** The profile that works on it: one of the roster's. */
  assignee: string;
  /** The refs of the plan's tasks it waits for. */
  after?: string[] | undefined;
  priority?: number | undefined;
  needs?: string[] | undefined;
}

export interface PlanInput {
  /** One or two lines for whoever reads the root: what the plan does. */
  summary?: string | undefined;
  tasks: PlanTaskInput[];
}

const PlanShape = z.strictObject({
  summary: z.string().max(4000, "is longer than 4000 characters").optional(),
  tasks: z.array(z.strictObject({
    ref: z.string(),
    title: z.string(),
    body: z.string().optional(),
    assignee: z.string(),
    after: z.array(z.string()).optional(),
    priority: z.number().int().optional(),
    needs: z.array(z.string()).optional(),
  })).min(1, "a plan needs at least one task")
    .max(GRAPH_MAX_NODES, `a plan has at most ${GRAPH_MAX_NODES} tasks`),
});

/** Where a task's decomposition stands (from its events; see PLAN_EVENTS). */
export type PlanState =
  | { state: "none" }
  | { state: "requested"; request: DecomposeRequest; event: number }
  | {
    state: "approval" | "planned";
    request: DecomposeRequest;
    /** The plan's graph key, its tasks, and the tasks the root waits for. */
    key: string;
    tasks: string[];
    sinks: string[];
    summary: string | null;
  };

/**
 * The plan's graph key for root `id` asked for by event `request`: one plan per request (a
 * root whose plan was rejected can be decomposed again, into a plan of its own).
 */
export function planKey(id: string, request: number): string {
  return `plan-${id}-${request}`;
}

/** planState reads where task `id`'s decomposition stands. */
export async function planState(k: Kernel, id: string): Promise<PlanState> {
  const events = await k.q.lastEventsOf(id, PLAN_EVENTS, 2);
  const latest = events[0];
  if (latest === undefined || latest.kind === "plan_rejected") return { state: "none" };
  const data = JSON.parse(latest.data) as Record<string, unknown>;
  if (latest.kind === "decomposition_requested") {
    return {
      state: "requested",
      request: data["decompose"] as DecomposeRequest,
      event: latest.id,
    };
  }
  // planned, or approved (whose own data names the plan event's content again)
  const plan = data["plan"] as {
    request: DecomposeRequest;
    key: string;
    tasks: string[];
    sinks: string[];
    approval: boolean;
    summary?: string | null;
  };
  return {
    state: latest.kind === "planned" && plan.approval ? "approval" : "planned",
    request: plan.request,
    key: plan.key,
    tasks: plan.tasks,
    sinks: plan.sinks,
    summary: plan.summary ?? null,
  };
}

/**
 * requestDecompose moves triage (or blocked) task `ref` to the queue, assigned to the
 * orchestrator, with the request recorded: nothing is decomposed unless asked. Refused for a
 * task in any other status, or whose decomposition is under way.
 */
export async function requestDecompose(
  k: Kernel,
  ref: string,
  raw: DecomposeRequest,
  actor: Actor,
): Promise<Task> {
  if (actor.token !== undefined) {
    throw new ConflictError(
      "not_allowed",
      "A worker cannot ask for a decomposition; a person does (kanban decompose ID)",
    );
  }
  const request = parse(Request, raw, "decomposition");
  const task = await resolveTask(k, ref);
  if (task.status !== "triage" && task.status !== "blocked") {
    throw new ConflictError(
      "not_triage",
      `Task "${task.id}" is ${task.status}: only a task in triage (or blocked) is decomposed ` +
        "(its plan replaces doing it as one task)",
    );
  }
  // asked again after an orchestrator blocked without a plan: a new request; a task whose plan
  // exists is not decomposed twice
  const current = await planState(k, task.id);
  if (current.state === "approval" || current.state === "planned") {
    throw new ConflictError(
      "decomposing",
      `Task "${task.id}" has a plan already (${
        current.state === "approval" ? "waiting for approval" : "under way"
      }): reject it first (kanban plan reject) to decompose it again`,
    );
  }
  const moved = await moveToDerived(k, task, "decompose", actor, {
    assignee: request.profile,
    blocked_reason: null,
  }, { decompose: request });
  return toTask(moved);
}

/** What submitPlan answers: the root as it is now, and the plan's tasks. */
export interface PlanResult {
  task: Task;
  plan: GraphResult;
}

/**
 * submitPlan is the orchestrator worker's report: the plan's tasks are created, the root
 * waits for the plan's sinks, the worker's run ends (completed, the plan's summary as its
 * handoff), all in one transaction. With approval the plan's first tasks wait in triage.
 */
export async function submitPlan(
  k: Kernel,
  ref: string,
  raw: PlanInput,
  actor: Actor,
): Promise<PlanResult> {
  const input = parse(PlanShape, raw, "plan");
  const [token, root] = await Promise.all([tokenRun(k, actor, false), resolveTask(k, ref)]);
  if (token === null) {
    throw new ConflictError(
      "not_allowed",
      "A plan is submitted by the orchestrator's worker (its run's token), not by a person",
    );
  }
  const run = fenceRun(root, "submit a plan for", token) as RunRow;
  const state = await planState(k, root.id);
  if (state.state !== "requested") {
    throw new ConflictError(
      "not_decomposing",
      `Task "${root.id}" was not asked to be decomposed${
        state.state === "none" ? "" : ` (its plan is ${state.state})`
      }: finish it with complete, or block it`,
    );
  }
  const { request } = state;
  const roster = new Set(request.roster.map((r) => r.name));
  const bad = (message: string) => new ValidationError(`Invalid plan: ${message}`);
  const refs = new Set(input.tasks.map((t) => t.ref));
  input.tasks.forEach((t, i) => {
    if (!roster.has(t.assignee)) {
      throw bad(
        `task ${i + 1} ("${t.ref}"): assignee: "${t.assignee}" is not on the roster (${
          [...roster].join(", ")
        })`,
      );
    }
  });
  const waited = new Set(input.tasks.flatMap((t) => t.after ?? []));
  const graph = await createGraph(k, {
    key: planKey(root.id, state.event),
    nodes: input.tasks.map((t) => ({
      ref: t.ref,
      after: t.after ?? [],
      task: {
        title: t.title,
        body: t.body ?? "",
        assignee: t.assignee,
        ...(t.priority !== undefined ? { priority: t.priority } : {}),
        ...(t.needs !== undefined ? { needs: t.needs } : {}),
        tenant: root.tenant,
        // with approval, the first tasks wait for a person (the rest wait for them)
        triage: request.approval && (t.after ?? []).length === 0,
      },
    })),
  }, actor);
  const sinks = graph.tasks.filter((t) => refs.has(t.ref) && !waited.has(t.ref))
    .map((t) => t.task.id);
  for (const sink of sinks) await addLink(k, sink, root.id);
  const summary = input.summary?.trim() || `Planned ${graph.tasks.length} tasks`;
  await closeRun(k, run.id, "completed", { summary });
  const moved = await move(k, root, "todo", "plan", actor, {
    current_run_id: null,
    consecutive_failures: 0,
    retry_after: null,
    last_error: null,
    // reviewed by a person: nobody's to claim, and it lands in review (reviewedByPerson)
    assignee: request.review === "person" ? null : request.profile,
  }, {
    plan: {
      request,
      key: graph.key,
      tasks: graph.tasks.map((t) => t.task.id),
      sinks,
      approval: request.approval,
      summary,
    },
  }, run.id);
  return { task: toTask(await refresh(k, moved.id, actor)), plan: graph };
}

/** The plan of root `ref` as it stands, or a refusal naming what is wrong. */
async function planOf(
  k: Kernel,
  ref: string,
  actor: Actor,
  action: string,
): Promise<[TaskRow, Extract<PlanState, { key: string }>]> {
  if (actor.token !== undefined) {
    throw new ConflictError("not_allowed", `A person ${action}s a plan, not a worker`);
  }
  const root = await resolveTask(k, ref);
  const state = await planState(k, root.id);
  if (state.state !== "approval") {
    throw new ConflictError(
      "no_plan_to_review",
      `Task "${root.id}" has no plan waiting for approval (${
        state.state === "none" ? "no plan" : `its plan is ${state.state}`
      })`,
    );
  }
  return [root, state];
}

/** approvePlan lets the plan's tasks run: its first tasks leave triage. */
export async function approvePlan(k: Kernel, ref: string, actor: Actor): Promise<Task[]> {
  const [root, state] = await planOf(k, ref, actor, "approve");
  const released: Task[] = [];
  for (const id of state.tasks) {
    const t = await loadTask(k, id);
    if (t.status !== "triage") continue;
    released.push(toTask(await moveToDerived(k, t, "promote", actor, {}, { plan: root.id })));
  }
  const { state: _s, ...plan } = state;
  appendEvent(k, root.id, null, "plan_approved", actor, {
    plan: { ...plan, approval: false },
  });
  return released;
}

/**
 * rejectPlan cancels the plan's open tasks and blocks the root with the reason: it can be
 * decomposed again, or unblocked and done as one task.
 */
export async function rejectPlan(
  k: Kernel,
  ref: string,
  reason: string,
  actor: Actor,
): Promise<Task> {
  const why = parse(text("reason", true), reason, "reason").trim();
  const [root, state] = await planOf(k, ref, actor, "reject");
  for (const id of state.tasks) {
    const t = await loadTask(k, id);
    if (t.status === "archived" || t.status === "done") continue;
    await shelve(k, t.id, "cancel", `its plan was rejected: ${why}`, actor);
  }
  for (const sink of state.sinks) await k.q.linkDelete(sink, root.id);
  appendEvent(k, root.id, null, "plan_rejected", actor, { reason: why });
  const blocked = `its plan was rejected: ${why} (decompose it again, or unblock it to do it ` +
    "as one task)";
  const moved = await move(k, await loadTask(k, root.id), "blocked", "block", actor, {
    assignee: null,
    blocked_reason: blocked,
  }, { reason: blocked, plan: state.key });
  return toTask(moved);
}

/**
 * reviewedByPerson tells whether waiting task `task`, now free to run, is the root of a plan
 * that a person reviews: then it goes to `review` instead of the queue (readiness.ts). Only
 * an unassigned task can be one (the plan leaves such a root without an assignee).
 */
export async function reviewedByPerson(k: Kernel, task: TaskRow): Promise<boolean> {
  if (task.assignee !== null || task.status !== "todo") return false;
  const s = await planState(k, task.id);
  return s.state === "planned" && s.request.review === "person";
}
