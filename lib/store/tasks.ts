/** Task creation, reading, listing and plain edits (no status changes beyond creation). */
import { randomBytes } from "node:crypto";
import { type RunRow, type TaskRow, toTask, toTaskSummary } from "./_rows.ts";
import { appendEvent, EVENT_KIND, type Kernel, resolveTask } from "./_kernel.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import { CreateTaskInput, EditTaskInput, name, parse, type ParsedCreateTask } from "./input.ts";
import { derivedStatus, timeStatus } from "./readiness.ts";
import { addLink } from "./links.ts";
import { fenceOrigin } from "./runs.ts";
import { gateSpec } from "./gates.ts";
import type { Actor, Task, TaskSummary } from "./types.ts";
import { canTransition, type Status } from "./transitions.ts";

export function newTaskId(): string {
  return `t_${randomBytes(4).toString("hex")}`;
}

export interface CreateResult {
  task: Task;
  /** false when an existing task with the same idempotency key was returned instead. */
  created: boolean;
}

/**
 * createTask inserts a task, links its parents and derives its status. With an
 * idempotency key, the database's unique index decides: a second create with the same key
 * (even a racing one in another process) returns the first task and changes nothing.
 */
export async function createTask(
  k: Kernel,
  raw: CreateTaskInput,
  actor: Actor,
): Promise<CreateResult> {
  const input = parse(CreateTaskInput, raw, "task");
  const origin = await fenceOrigin(k, actor, "create a task");
  return insertTask(k, input, input.parents, actor, origin);
}

/**
 * insertTask is createTask after its checks: `input` parsed, `parentRefs` (ids or prefixes)
 * in place of `input.parents`, `origin` the worker's run that fenceOrigin returned (or null).
 * `extra` joins the `created` event's data (a graph's node records its key and fingerprint).
 */
export async function insertTask(
  k: Kernel,
  input: ParsedCreateTask,
  parentRefs: readonly string[],
  actor: Actor,
  origin: RunRow | null,
  extra: Record<string, unknown> = {},
): Promise<CreateResult> {
  checkGate(input, origin !== null || actor.token !== undefined);
  const parents: string[] = [];
  for (const ref of parentRefs) {
    const parent = await resolveTask(k, ref);
    if (parents.includes(parent.id)) continue;
    if (parent.status === "archived" && parent.archived_from !== "done") {
      throw new ConflictError(
        "archived_parent",
        `Parent "${parent.id}" is archived unfinished; a child of it could never start`,
      );
    }
    parents.push(parent.id);
  }
  const now = k.now();
  const row: TaskRow = {
    id: newTaskId(),
    title: input.title,
    body: input.body,
    assignee: input.assignee ?? null,
    status: "todo",
    priority: input.priority,
    tenant: input.tenant ?? null,
    created_by: input.created_by ?? actor.name,
    created_at: now,
    updated_at: now,
    started_at: null,
    completed_at: null,
    workspace_kind: input.workspace.kind,
    workspace_path: input.workspace.path,
    skills: JSON.stringify(input.skills),
    needs: labelsText(input.needs),
    max_runtime_seconds: input.max_runtime_seconds ?? null,
    not_before: input.not_before ?? null,
    review_required: input.review_required ? 1 : 0,
    idempotency_key: input.idempotency_key ?? null,
    consecutive_failures: 0,
    retry_after: null,
    last_error: null,
    blocked_reason: null,
    current_run_id: null,
    result: null,
    archived_from: null,
    block_kind: null,
    blocked_on: null,
    block_counts: "{}",
    reviewer: input.reviewer ?? null,
    review_rounds: input.review_rounds ?? null,
    gate: input.gate ? JSON.stringify(input.gate) : null,
    gate_timeout_ms: input.gate?.length ? input.gate_timeout_ms ?? null : null,
    gate_rounds: input.gate?.length ? input.gate_rounds ?? null : null,
  };
  // The status is known before the insert when nothing can hold the task back: no parents.
  if (parents.length === 0) row.status = input.triage ? "triage" : timeStatus(k, row);
  for (let attempt = 0;; attempt++) {
    const r = await k.q.taskInsert(row);
    if (r === "inserted") break;
    if (r === "duplicate_key") {
      return { task: toTask((await k.q.taskWithKey(row.idempotency_key!))!), created: false };
    }
    if (attempt >= 5) throw new Error(`Could not find a free task id after ${attempt} tries`);
    row.id = newTaskId();
  }
  let task = row;
  if (parents.length > 0) {
    for (const p of parents) await addLink(k, p, row.id);
    const status: Status = input.triage ? "triage" : await derivedStatus(k, row);
    task = (await k.q.taskUpdate(row.id, { status }))!;
  }
  if (!canTransition("[*]", task.status, "create")) {
    throw new Error(`create cannot reach ${task.status}`);
  }
  appendEvent(k, task.id, null, EVENT_KIND.create, actor, {
    to: task.status,
    ...(parents.length > 0 ? { parents } : {}),
    ...(origin ? { origin_task: origin.task_id, origin_run: origin.id } : {}),
    ...extra,
  });
  return { task: toTask(task), created: true };
}

/**
 * createTasks creates each input as createTask would (same validation, idempotency and
 * derived status), in the caller's one transaction: the first input that fails throws, and
 * then none of the batch is written. Results come back in input order.
 */
export async function createTasks(
  k: Kernel,
  raws: readonly CreateTaskInput[],
  actor: Actor,
): Promise<CreateResult[]> {
  const out: CreateResult[] = [];
  for (const raw of raws) out.push(await createTask(k, raw, actor));
  return out;
}

export async function getTask(k: Kernel, idOrPrefix: string): Promise<Task> {
  return toTask(await resolveTask(k, idOrPrefix));
}

export interface ListFilter {
  statuses?: Status[] | undefined;
  assignee?: string | undefined;
  tenant?: string | undefined;
  /** Include archived tasks (they are left out unless asked for). */
  archived?: boolean | undefined;
  /** Only tasks whose id, title or body contains this text (ASCII case-insensitive). */
  search?: string | undefined;
  limit?: number | undefined;
  /** Skip this many tasks of the ordered list first (pagination). */
  offset?: number | undefined;
  /**
   * Newest first, by completion (else last change): how finished work reads (done, archived),
   * instead of the queue's order (status, priority, age).
   */
  recent?: boolean | undefined;
}

/** The longest search text listTasks takes. */
export const SEARCH_MAX_CHARS = 1000;

/**
 * listTasks returns tasks without bodies, by status order (running, review, blocked, ready,
 * scheduled, todo, triage, done, archived), priority, then age; or, with `recent`, newest
 * finished first.
 */
export async function listTasks(k: Kernel, filter: ListFilter = {}): Promise<TaskSummary[]> {
  // SQLite refuses LIKE patterns over 50,000 bytes ("pattern too complex"); every driver
  // takes this much
  if (filter.search !== undefined && filter.search.length > SEARCH_MAX_CHARS) {
    throw new ValidationError(`search is longer than ${SEARCH_MAX_CHARS} characters`);
  }
  return (await k.q.taskList(filter)).map(toTaskSummary);
}

/** labelsText is how a task's needs are stored: distinct, sorted, as a JSON array. */
function labelsText(labels: string[]): string {
  return JSON.stringify([...new Set(labels)].sort());
}

/**
 * checkGate refuses a gate's time limit or rounds without a gate, and any of them from a worker
 * (`worker`): a completion gate is a person's check on the worker's work (docs/gates.md).
 */
function checkGate(
  input: {
    gate?: string[] | null | undefined;
    gate_timeout_ms?: number | null | undefined;
    gate_rounds?: number | null | undefined;
  },
  worker: boolean,
  hasGate = false,
): void {
  const given = input.gate !== undefined || input.gate_timeout_ms !== undefined ||
    input.gate_rounds !== undefined;
  if (!given) return;
  if (worker) {
    throw new ConflictError(
      "not_allowed",
      "A completion gate is set by a person (kanban create|edit --gate); a worker cannot set or " +
        "change one",
    );
  }
  const gate = input.gate === undefined ? hasGate : (input.gate ?? []).length > 0;
  const others = (input.gate_timeout_ms ?? null) !== null || (input.gate_rounds ?? null) !== null;
  if (!gate && others) throw new ValidationError("gate timeout and gate rounds need a gate");
}

export async function editTask(
  k: Kernel,
  idOrPrefix: string,
  raw: EditTaskInput,
  actor: Actor,
): Promise<Task> {
  const patch = parse(EditTaskInput, raw, "edit");
  const task = await resolveTask(k, idOrPrefix);
  checkGate(patch, actor.token !== undefined, gateSpec(task) !== null);
  const next = {
    ...patch,
    ...(patch.needs !== undefined ? { needs: labelsText(patch.needs) } : {}),
    ...(patch.gate !== undefined
      ? { gate: patch.gate === null ? null : JSON.stringify(patch.gate) }
      : {}),
    // no gate: its time limit and rounds go with it
    ...(patch.gate === null || patch.gate?.length === 0
      ? { gate_timeout_ms: null, gate_rounds: null }
      : {}),
  };
  const cols = ([
    "title",
    "body",
    "priority",
    "needs",
    "reviewer",
    "review_rounds",
    "gate",
    "gate_timeout_ms",
    "gate_rounds",
  ] as const).filter((c) => next[c] !== undefined);
  const changed = cols.filter((c) => next[c] !== task[c]);
  if (changed.length === 0) return toTask(task);
  const set = Object.fromEntries(changed.map((c) => [c, next[c]]));
  const row = (await k.q.taskUpdate(task.id, { ...set, updated_at: k.now() }))!;
  appendEvent(k, task.id, task.current_run_id, "edited", actor, { fields: changed });
  return toTask(row);
}

export async function assignTask(
  k: Kernel,
  idOrPrefix: string,
  assignee: string | null,
  actor: Actor,
): Promise<Task> {
  const to = assignee === null ? null : parse(name("assignee"), assignee, "assignee");
  const task = await resolveTask(k, idOrPrefix);
  if (task.assignee === to) return toTask(task);
  const row = (await k.q.taskUpdate(task.id, { assignee: to, updated_at: k.now() }))!;
  appendEvent(k, task.id, task.current_run_id, "assigned", actor, {
    from: task.assignee,
    to,
  });
  return toTask(row);
}

/** waitingOn lists the parents that keep a task from being ready. */
export function waitingOn(k: Kernel, taskId: string): Promise<{ id: string; status: Status }[]> {
  return k.q.unfinishedParents(taskId);
}
