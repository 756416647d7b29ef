/**
 * Runs and leases. A claim opens a run with a fresh random lease token; every worker write
 * carries the token and is fenced against the task's current run; heartbeats renew the lease;
 * `endRun` closes a failed attempt and does the failure accounting.
 */
import { randomBytes } from "node:crypto";
import { iso, type RunRow, type TaskRow, toRun, toTask } from "./_rows.ts";
import { appendEvent, type Kernel, loadTask, move, resolveId } from "./_kernel.ts";
import { NotFoundError, StaleLeaseError, ValidationError } from "./errors.ts";
import { name, parse } from "./input.ts";
import { COUNTED_FAILURES, type Outcome } from "./outcomes.ts";
import { derivedStatus, promoteDue } from "./readiness.ts";
import { assertTransition } from "./transitions.ts";
import type { Actor, Claim, Run, Task } from "./types.ts";
import { type Usage, UsageSchema } from "./usage.ts";

/** The longest lease a claim takes: 365 days. */
export const MAX_LEASE_MS = 365 * 86_400_000;

export function loadRun(k: Kernel, runId: number): RunRow {
  const row = k.db.get<RunRow>("SELECT * FROM task_runs WHERE id = ?", runId);
  if (!row) throw new NotFoundError(`No run ${runId}`);
  return row;
}

/**
 * fence checks a worker write. Without a token (a person) it returns null. With one, it
 * returns the task's open run when the token is that run's, and otherwise throws
 * StaleLeaseError before anything has been written.
 */
export function fence(k: Kernel, task: TaskRow, actor: Actor, action: string): RunRow | null {
  if (actor.token === undefined) return null;
  const run = k.db.get<RunRow>("SELECT * FROM task_runs WHERE lease_token = ?", actor.token);
  const head = `Cannot ${action} task "${task.id}"`;
  if (!run) throw new StaleLeaseError(`${head}: the lease token belongs to no run`);
  if (run.task_id !== task.id) {
    throw new StaleLeaseError(`${head}: the lease token belongs to task "${run.task_id}"`);
  }
  if (task.current_run_id !== run.id) {
    throw new StaleLeaseError(
      task.current_run_id === null
        ? `${head}: run ${run.id} has ended (${run.outcome}) and the task is ${task.status}`
        : `${head}: its lease belongs to run ${task.current_run_id}, not run ${run.id}`,
    );
  }
  return run;
}

/**
 * fenceOrigin checks a worker's write that is not to its own task (creating a follow-up):
 * the token must belong to a run that is still open. Returns that run, or null for a person.
 */
export function fenceOrigin(k: Kernel, actor: Actor, action: string): RunRow | null {
  if (actor.token === undefined) return null;
  const run = k.db.get<RunRow>("SELECT * FROM task_runs WHERE lease_token = ?", actor.token);
  if (!run) throw new StaleLeaseError(`Cannot ${action}: the lease token belongs to no run`);
  if (run.ended_at !== null) {
    throw new StaleLeaseError(
      `Cannot ${action}: run ${run.id} of task "${run.task_id}" has ended (${run.outcome})`,
    );
  }
  return run;
}

/** closeRun ends an open run with an outcome; the lease goes with it. */
export function closeRun(
  k: Kernel,
  runId: number,
  outcome: Outcome,
  fields: {
    summary?: string | null | undefined;
    metadata?: Record<string, unknown> | null | undefined;
    error?: string | null | undefined;
    exit_code?: number | null | undefined;
    signal?: string | null | undefined;
    usage?: Usage | null | undefined;
  } = {},
): void {
  const r = k.db.run(
    `UPDATE task_runs SET ended_at = ?, outcome = ?, lease_expires = NULL, summary = ?,
       metadata = ?, error = ?, exit_code = ?, signal = ?, usage = coalesce(?, usage)
     WHERE id = ? AND ended_at IS NULL`,
    k.now(),
    outcome,
    fields.summary ?? null,
    fields.metadata ? JSON.stringify(fields.metadata) : null,
    fields.error ?? null,
    fields.exit_code ?? null,
    fields.signal ?? null,
    fields.usage ? JSON.stringify(parse(UsageSchema, fields.usage, "usage")) : null,
    runId,
  );
  if (r.changes !== 1) throw new Error(`Run ${runId} was not open`);
}

export interface ClaimOptions {
  /** Claim this task (any unique prefix) instead of the best ready one. */
  taskId?: string | undefined;
  assignee?: string | undefined;
  /** Only tasks assigned to one of these (the dispatcher's profiles with free capacity). */
  assignees?: readonly string[] | undefined;
  tenant?: string | undefined;
  /** The profile that will run the task (defaults to the task's assignee). */
  profile?: string | undefined;
  leaseMs?: number | undefined;
  host?: string | undefined;
  pid?: number | undefined;
}

/**
 * claim moves one ready task to running and opens its run, in one IMMEDIATE transaction
 * (compare-and-set on `status = 'ready'`): under any number of competing processes exactly
 * one wins each task. Without a task id it takes the highest-priority, oldest ready task
 * whose `retry_after` has passed. Returns null when nothing is claimable.
 */
export function claim(k: Kernel, opts: ClaimOptions, actor: Actor): Claim | null {
  // Stored on the run and shown in every run list: a name like an assignee's, not any text.
  if (opts.profile !== undefined) parse(name("profile"), opts.profile, "claim");
  promoteDue(k, actor);
  const now = k.now();
  let task: TaskRow | undefined;
  if (opts.taskId !== undefined) {
    task = loadTask(k, resolveId(k, opts.taskId));
    assertTransition(task.id, task.status, "running", "claim");
  } else {
    const where = ["status = 'ready'", "(retry_after IS NULL OR retry_after <= ?)"];
    const params: (string | number)[] = [now];
    if (opts.assignee !== undefined) {
      where.push("assignee = ?");
      params.push(opts.assignee);
    }
    if (opts.assignees !== undefined) {
      if (opts.assignees.length === 0) return null;
      where.push(`assignee IN (${opts.assignees.map(() => "?").join(", ")})`);
      params.push(...opts.assignees);
    }
    if (opts.tenant !== undefined) {
      where.push("tenant = ?");
      params.push(opts.tenant);
    }
    const index = opts.assignee !== undefined ? "tasks_claimable_assignee" : "tasks_claimable";
    task = k.db.get<TaskRow>(
      `SELECT * FROM tasks INDEXED BY ${index} WHERE ${where.join(" AND ")}
       ORDER BY priority DESC, created_at, id LIMIT 1`,
      ...params,
    );
    if (!task) return null;
  }
  const leaseMs = opts.leaseMs ?? k.options.leaseMs;
  // A longer lease would store an expiry that reads back as no JavaScript number or Date.
  if (!Number.isInteger(leaseMs) || leaseMs <= 0 || leaseMs > MAX_LEASE_MS) {
    throw new ValidationError(`Invalid lease: ${leaseMs} ms (at most 365 days)`);
  }
  const token = randomBytes(24).toString("base64url");
  const runId = k.db.run(
    `INSERT INTO task_runs (task_id, profile, claimed_by, lease_token, lease_ms, lease_expires,
       host, pid, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    task.id,
    opts.profile ?? task.assignee,
    actor.name,
    token,
    leaseMs,
    now + leaseMs,
    opts.host ?? null,
    opts.pid ?? null,
    now,
  ).lastInsertRowid;
  const moved = move(
    k,
    task,
    "running",
    "claim",
    actor,
    {
      current_run_id: runId,
      started_at: task.started_at ?? now,
    },
    {},
    runId,
  );
  return { task: toTask(moved), run: toRun(loadRun(k, runId)), token };
}

/** heartbeat renews the worker's lease by the run's lease length and records progress. */
export function heartbeat(
  k: Kernel,
  idOrPrefix: string,
  actor: Actor,
  note?: string,
): Run {
  const task = loadTask(k, resolveId(k, idOrPrefix));
  if (actor.token === undefined) {
    throw new StaleLeaseError(
      `Cannot heartbeat task "${task.id}": only its worker can (no lease token; set KANBAN_TOKEN)`,
    );
  }
  const run = fence(k, task, actor, "heartbeat")!;
  const now = k.now();
  k.db.run(
    "UPDATE task_runs SET heartbeat_at = ?, lease_expires = ? WHERE id = ?",
    now,
    now + run.lease_ms,
    run.id,
  );
  appendEvent(k, task.id, run.id, "heartbeat", actor, note ? { note } : {});
  return toRun(loadRun(k, run.id));
}

/** RetryPolicy: when a failed task is retried, and when it is blocked instead. */
export interface RetryPolicy {
  failureLimit: number;
  /** Backoff before retry number `n` (1-based), in ms. */
  backoffMs: (failures: number) => number;
}

export interface EndRunInput {
  outcome: Outcome;
  /** The caller's policy (the dispatcher's config); the store's defaults otherwise. */
  policy?: RetryPolicy | undefined;
  error?: string | null | undefined;
  exit_code?: number | null | undefined;
  signal?: string | null | undefined;
  /** What the run used, read from its CLI's output (replaces usage the worker reported). */
  usage?: Usage | null | undefined;
}

export interface EndRunResult {
  run: Run;
  task: Task;
  /** Whether this outcome counted toward the failure limit. */
  counted: boolean;
}

const SUPERVISOR_OUTCOMES: readonly Outcome[] = [...COUNTED_FAILURES, "transient", "stopped"];

/**
 * endRun closes a run that ended without complete/block (crash, stall, timeout, lost lease,
 * ...) and returns the task for another attempt. Counted failures back off exponentially;
 * at `failureLimit` consecutive ones the task is blocked with the reason. `transient` retries
 * later without counting; `stopped` (dispatcher shutdown) retries at once without counting.
 */
export function endRun(k: Kernel, runId: number, input: EndRunInput, actor: Actor): EndRunResult {
  if (!SUPERVISOR_OUTCOMES.includes(input.outcome)) {
    throw new ValidationError(
      `Outcome "${input.outcome}" cannot end a run here; use one of ${
        SUPERVISOR_OUTCOMES.join(", ")
      }`,
    );
  }
  const run = loadRun(k, runId);
  if (run.ended_at !== null) {
    throw new StaleLeaseError(`Run ${runId} has already ended (${run.outcome})`);
  }
  const task = loadTask(k, run.task_id);
  closeRun(k, run.id, input.outcome, input);
  const counted = COUNTED_FAILURES.includes(input.outcome);
  const failures = counted ? task.consecutive_failures + 1 : task.consecutive_failures;
  const reason = `${input.outcome}${input.error ? `: ${input.error}` : ""}`;
  const common = { current_run_id: null, consecutive_failures: failures, last_error: reason };
  const data = { run: run.id, outcome: input.outcome, failures };
  let moved: TaskRow;
  const policy = input.policy ?? k.options;
  if (counted && failures >= policy.failureLimit) {
    moved = move(
      k,
      task,
      "blocked",
      "fail",
      actor,
      {
        ...common,
        retry_after: null,
        blocked_reason: `${failures} consecutive failed attempts; last: ${reason}`,
      },
      data,
      run.id,
    );
  } else {
    const retryAfter = input.outcome === "stopped"
      ? null
      : k.now() + policy.backoffMs(Math.max(failures, 1));
    moved = move(
      k,
      task,
      derivedStatus(k, task),
      "fail",
      actor,
      {
        ...common,
        retry_after: retryAfter,
      },
      data,
      run.id,
    );
  }
  return { run: toRun(loadRun(k, run.id)), task: toTask(moved), counted };
}

export interface SpawnRecord {
  pid: number;
  pid_start_time: number | null;
  host: string;
  log_path: string | null;
  workspace: string | null;
}

/** recordSpawn notes the worker process of an open run (its pid fingerprint and log). */
export function recordSpawn(k: Kernel, runId: number, s: SpawnRecord, actor: Actor): boolean {
  const r = k.db.run(
    `UPDATE task_runs SET pid = ?, pid_start_time = ?, host = ?, log_path = ?, workspace = ?
     WHERE id = ? AND ended_at IS NULL`,
    s.pid,
    s.pid_start_time,
    s.host,
    s.log_path,
    s.workspace,
    runId,
  );
  if (r.changes === 1) {
    appendEvent(k, loadRun(k, runId).task_id, runId, "spawned", actor, { pid: s.pid });
  }
  return r.changes === 1;
}

/**
 * renewRun extends an open run's lease by its lease length: the supervisor does this for a
 * live worker that shows progress. Returns false when the run has ended.
 */
export function renewRun(k: Kernel, runId: number): boolean {
  return k.db.run(
    "UPDATE task_runs SET lease_expires = ? + lease_ms WHERE id = ? AND ended_at IS NULL",
    k.now(),
    runId,
  ).changes === 1;
}

/**
 * recordExit stores how the worker of a run it already closed (it reported) ended, and the
 * usage read from its output (which replaces usage the worker reported: never both). The
 * `exited` event tells watchers (the dashboard's drawer, `kanban tail`) that the run's exit
 * status is now known.
 */
export function recordExit(
  k: Kernel,
  runId: number,
  exitCode: number | null,
  signal: string | null,
  actor: Actor,
  usage: Usage | null = null,
): void {
  k.db.run(
    "UPDATE task_runs SET exit_code = ?, signal = ?, usage = coalesce(?, usage) WHERE id = ?",
    exitCode,
    signal,
    usage ? JSON.stringify(parse(UsageSchema, usage, "usage")) : null,
    runId,
  );
  appendEvent(k, loadRun(k, runId).task_id, runId, "exited", actor, {
    exit_code: exitCode,
    signal,
  });
}

export interface QueueEntry {
  assignee: string | null;
  ready: number;
  /** Ready now (retry_after passed). */
  claimable: number;
  oldest_ready_at: string | null;
}

/** readyQueue summarises the ready tasks by assignee (for caps and missing-profile reports). */
export function readyQueue(k: Kernel): QueueEntry[] {
  return k.db.all<{ assignee: string | null; ready: number; claimable: number; oldest: number }>(
    `SELECT assignee, count(*) AS ready,
       sum(retry_after IS NULL OR retry_after <= ?) AS claimable, min(updated_at) AS oldest
     FROM tasks WHERE status = 'ready' GROUP BY assignee ORDER BY assignee`,
    k.now(),
  ).map((r) => ({
    assignee: r.assignee,
    ready: r.ready,
    claimable: r.claimable,
    oldest_ready_at: iso(r.oldest),
  }));
}

/** peekClaimable lists, without claiming, the tasks a claim for `assignees` would take first. */
export function peekClaimable(k: Kernel, assignees: readonly string[], limit: number): Task[] {
  if (assignees.length === 0) return [];
  return k.db.all<TaskRow>(
    `SELECT * FROM tasks INDEXED BY tasks_claimable
     WHERE status = 'ready' AND (retry_after IS NULL OR retry_after <= ?)
       AND assignee IN (${assignees.map(() => "?").join(", ")})
     ORDER BY priority DESC, created_at, id LIMIT ?`,
    k.now(),
    ...assignees,
    limit,
  ).map(toTask);
}

export function listRuns(k: Kernel, taskId?: string, limit = 100): Run[] {
  const rows = taskId === undefined
    ? k.db.all<RunRow>("SELECT * FROM task_runs ORDER BY id DESC LIMIT ?", limit)
    : k.db.all<RunRow>(
      "SELECT * FROM task_runs WHERE task_id = ? ORDER BY id DESC LIMIT ?",
      resolveId(k, taskId),
      limit,
    );
  return rows.map(toRun);
}

/** openRuns lists every run that holds a lease (what a supervisor watches). */
export function openRuns(k: Kernel): Run[] {
  return k.db.all<RunRow>("SELECT * FROM task_runs WHERE ended_at IS NULL ORDER BY id")
    .map(toRun);
}
