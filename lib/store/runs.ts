/**
 * Runs and leases. A claim opens a run with a fresh random lease token; every worker write
 * carries the token and is fenced against the task's current run; heartbeats renew the lease;
 * `endRun` closes a failed attempt and does the failure accounting.
 */
import { randomBytes } from "node:crypto";
import { iso, type RunRow, type TaskRow, toRun, toTask } from "./_rows.ts";
import type { RunSet } from "./driver/core.ts";
import { appendEvent, type Kernel, loadTask, move, resolveId, resolveTask } from "./_kernel.ts";
import { NotFoundError, StaleLeaseError, ValidationError } from "./errors.ts";
import { name, parse } from "./input.ts";
import { COUNTED_FAILURES, type Outcome } from "./outcomes.ts";
import { derivedStatus, promoteDue } from "./readiness.ts";
import { assertTransition } from "./transitions.ts";
import type { Actor, Claim, Run, Task } from "./types.ts";
import { type Usage, UsageSchema } from "./usage.ts";

/** The longest lease a claim takes: 365 days. */
export const MAX_LEASE_MS = 365 * 86_400_000;

export async function loadRun(k: Kernel, runId: number): Promise<RunRow> {
  const row = await k.q.runGet(runId);
  if (!row) throw new NotFoundError(`No run ${runId}`);
  return row;
}

/**
 * tokenRun reads the run `actor`'s lease token belongs to, once per write: null for a person
 * (no token), undefined for a token that belongs to no run. fenceRun and replayed judge it.
 * With `lock` the run is locked until the transaction ends (runWithTokenLocked).
 */
export async function tokenRun(
  k: Kernel,
  actor: Actor,
  lock = false,
): Promise<RunRow | null | undefined> {
  if (actor.token === undefined) return null;
  return await (lock ? k.q.runWithTokenLocked(actor.token) : k.q.runWithToken(actor.token));
}

/**
 * fence checks a worker write. Without a token (a person) it returns null. With one, it
 * returns the task's open run when the token is that run's, and otherwise throws
 * StaleLeaseError before anything has been written.
 */
export async function fence(
  k: Kernel,
  task: TaskRow,
  actor: Actor,
  action: string,
): Promise<RunRow | null> {
  return fenceRun(task, action, await tokenRun(k, actor));
}

/** fenceRun is fence with the token's run already read (tokenRun) in the same transaction. */
export function fenceRun(
  task: TaskRow,
  action: string,
  run: RunRow | null | undefined,
): RunRow | null {
  if (run === null) return null;
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
export async function fenceOrigin(
  k: Kernel,
  actor: Actor,
  action: string,
): Promise<RunRow | null> {
  if (actor.token === undefined) return null;
  const run = await k.q.runWithToken(actor.token);
  if (!run) throw new StaleLeaseError(`Cannot ${action}: the lease token belongs to no run`);
  if (run.ended_at !== null) {
    throw new StaleLeaseError(
      `Cannot ${action}: run ${run.id} of task "${run.task_id}" has ended (${run.outcome})`,
    );
  }
  return run;
}

/** What closing a run records beside its outcome. */
export interface CloseFields {
  summary?: string | null | undefined;
  metadata?: Record<string, unknown> | null | undefined;
  error?: string | null | undefined;
  exit_code?: number | null | undefined;
  signal?: string | null | undefined;
  usage?: Usage | null | undefined;
}

/** closeRun ends an open run with an outcome; the lease goes with it. Returns the closed run. */
export async function closeRun(
  k: Kernel,
  runId: number,
  outcome: Outcome,
  fields: CloseFields = {},
): Promise<RunRow> {
  const set: RunSet = {
    ended_at: k.now(),
    outcome,
    lease_expires: null,
    summary: fields.summary ?? null,
    metadata: fields.metadata ? JSON.stringify(fields.metadata) : null,
    error: fields.error ?? null,
    // an exit recorded before the close (a worker that exited while its gate ran) is kept
    ...(fields.exit_code !== undefined ? { exit_code: fields.exit_code } : {}),
    ...(fields.signal !== undefined ? { signal: fields.signal } : {}),
    // null keeps what the worker reported (the driver's runUpdate keeps a usage it is not given)
    usage: fields.usage ? JSON.stringify(parse(UsageSchema, fields.usage, "usage")) : null,
  };
  const run = await k.q.runUpdate(runId, set, true);
  if (run === undefined) throw new Error(`Run ${runId} was not open`);
  return run;
}

export interface ClaimOptions {
  /** Claim this task (any unique prefix) instead of the best ready one. */
  taskId?: string | undefined;
  assignee?: string | undefined;
  /** Only tasks assigned to one of these (the dispatcher's profiles with free capacity). */
  assignees?: readonly string[] | undefined;
  /**
   * The most open runs a profile may have on the whole board (its `max_concurrent`), counted
   * in the claim's own transaction over every host's runs: a profile at its cap is left out.
   */
  caps?: Readonly<Record<string, number>> | undefined;
  /** The labels the claiming host offers (ClaimFilter.labels): tasks needing others wait. */
  labels?: readonly string[] | undefined;
  /** Tenants and tasks a budget holds back (ClaimFilter.notTenants, notTasks). */
  notTenants?: readonly string[] | undefined;
  notTasks?: readonly string[] | undefined;
  tenant?: string | undefined;
  /** The profile that will run the task (defaults to the task's assignee). */
  profile?: string | undefined;
  /**
   * The reviewer each profile's config names (reviews.ts): a task claimed to be run by one of
   * them that has no reviewer gets that one, for good.
   */
  reviewers?:
    | Readonly<Record<string, { reviewer: string; rounds?: number | undefined }>>
    | undefined;
  /**
   * The completion gate each profile's config names (gates.ts): a task claimed to be run by
   * one of them that has no gate gets that one (argv, time limit in ms, rounds), for good.
   */
  gates?:
    | Readonly<
      Record<
        string,
        { argv: readonly string[]; timeoutMs?: number | undefined; rounds?: number | undefined }
      >
    >
    | undefined;
  /** The profiles whose work a person approves last: a task run by one requires review. */
  approvals?: readonly string[] | undefined;
  leaseMs?: number | undefined;
  host?: string | undefined;
  pid?: number | undefined;
}

/**
 * underCap narrows `assignees` (every capped profile when not given) to the profiles whose
 * open runs, on every host, are fewer than their cap. Read inside the claim's transaction, so
 * two hosts claiming at once cannot both take a profile's last place: the capped profiles are
 * locked first (capLock; SQLite's writer holds the whole database anyway) and their runs
 * counted after, so each claim counts the run of every claim that held the lock before it.
 * `profile` (the run's, when not the task's assignee) is locked too: its count may grow.
 */
async function underCap(
  k: Kernel,
  assignees: readonly string[] | undefined,
  caps: Readonly<Record<string, number>>,
  profile: string | undefined,
): Promise<string[]> {
  const candidates = assignees ?? Object.keys(caps);
  const capped = [...candidates, ...(profile === undefined ? [] : [profile])]
    .filter((a) => caps[a] !== undefined);
  // Sent together: the count is the statement after the lock, so it runs once the lock is held.
  const [, runs] = await Promise.all([k.q.capLock(capped), k.q.runsOpen()]);
  const open = new Map<string, number>();
  for (const r of runs) {
    if (r.profile !== null) open.set(r.profile, (open.get(r.profile) ?? 0) + 1);
  }
  return candidates.filter((a) => caps[a] === undefined || (open.get(a) ?? 0) < caps[a]!);
}

/**
 * claim moves one ready task to running and opens its run, in one transaction (compare-and-set
 * on `status = 'ready'`): under any number of competing processes exactly one wins each task.
 * Without a task id it takes the highest-priority, oldest ready task whose `retry_after` has
 * passed. Returns null when nothing is claimable.
 *
 * It runs with TxOptions.lockedReads: every read its writes depend on is locked, so it needs no
 * serialisable snapshot (PostgreSQL runs it at READ COMMITTED, where claims skip each other's
 * rows instead of failing each other's serialisability checks):
 * - the task it takes is locked as it is chosen (`taskClaimable` skips tasks other claims
 *   hold; `taskLocked` for a named task), so the move's compare-and-set cannot miss;
 * - a profile's open runs are counted under its cap lock (underCap);
 * - a due scheduled task is locked as it is found (`scheduledDue`) before its parents are
 *   read: any transaction that makes a parent unfinished also re-derives this child, a write
 *   that waits for the lock and, being serialisable, starts again once the claim commits and
 *   derives the child from what the claim left (and one that committed first left the child
 *   out of `scheduled`, where the lock's check of the row finds it no longer due);
 * - its writes (a new run, the task's move, events) are read by no serialisable transaction
 *   that would decide anything without writing the same rows.
 * docs/architecture.md has the whole argument.
 */
export async function claim(k: Kernel, opts: ClaimOptions, actor: Actor): Promise<Claim | null> {
  // Stored on the run and shown in every run list: a name like an assignee's, not any text.
  if (opts.profile !== undefined) parse(name("profile"), opts.profile, "claim");
  const leaseMs = opts.leaseMs ?? k.options.leaseMs;
  // A longer lease would store an expiry that reads back as no JavaScript number or Date.
  if (!Number.isInteger(leaseMs) || leaseMs <= 0 || leaseMs > MAX_LEASE_MS) {
    throw new ValidationError(`Invalid lease: ${leaseMs} ms (at most 365 days)`);
  }
  // The cap locks go first (promoting appends events, and the event lock comes after them);
  // promoting is sent with them, in the same round trip.
  const [assignees] = await Promise.all([
    opts.caps === undefined || opts.taskId !== undefined
      ? opts.assignees
      : underCap(k, opts.assignees, opts.caps, opts.profile),
    promoteDue(k, actor),
  ]);
  const now = k.now();
  let task: TaskRow | undefined;
  if (opts.taskId !== undefined) {
    task = await resolveTask(k, opts.taskId, true);
    assertTransition(task.id, task.status, "running", "claim");
  } else {
    task = await k.q.taskClaimable({
      now,
      assignee: opts.assignee,
      assignees,
      tenant: opts.tenant,
      labels: opts.labels,
      notTenants: opts.notTenants,
      notTasks: opts.notTasks,
    });
    if (!task) return null;
  }
  const token = randomBytes(24).toString("base64url");
  const profile = opts.profile ?? task.assignee;
  const run = await k.q.runInsert({
    task_id: task.id,
    profile,
    claimed_by: actor.name,
    lease_token: token,
    lease_ms: leaseMs,
    lease_expires: now + leaseMs,
    host: opts.host ?? null,
    pid: opts.pid ?? null,
    started_at: now,
  });
  const moved = await move(
    k,
    task,
    "running",
    "claim",
    actor,
    {
      current_run_id: run.id,
      started_at: task.started_at ?? now,
      ...reviewOf(task, profile, opts),
      ...gateOf(task, profile, opts),
    },
    {},
    run.id,
  );
  return { task: toTask(moved), run: toRun(run), token };
}

/**
 * reviewOf is what a claim sets of a task's review from the running profile's config: its
 * reviewer, when the task has none, and that a person approves last. Not when the profile is
 * the task's reviewer (its run reviews the work of another).
 */
function reviewOf(
  task: TaskRow,
  profile: string | null,
  opts: ClaimOptions,
): { reviewer?: string; review_rounds?: number | null; review_required?: number } {
  if (profile === null || profile === task.reviewer) return {};
  const config = opts.reviewers?.[profile];
  return {
    ...(task.reviewer === null && config !== undefined && config.reviewer !== profile
      ? { reviewer: config.reviewer, review_rounds: task.review_rounds ?? config.rounds ?? null }
      : {}),
    ...(task.review_required === 0 && opts.approvals?.includes(profile)
      ? { review_required: 1 }
      : {}),
  };
}

/**
 * gateOf is what a claim sets of a task's completion gate from the running profile's config:
 * its gate, when the task has none. Not when the profile is the task's reviewer: the gate
 * checks the implementer's work, and its profile's gate is the one that applies.
 */
function gateOf(
  task: TaskRow,
  profile: string | null,
  opts: ClaimOptions,
): { gate?: string; gate_timeout_ms?: number | null; gate_rounds?: number | null } {
  if (profile === null || profile === task.reviewer || task.gate !== null) return {};
  const config = opts.gates?.[profile];
  if (config === undefined) return {};
  return {
    gate: JSON.stringify(config.argv),
    gate_timeout_ms: config.timeoutMs ?? null,
    gate_rounds: config.rounds ?? null,
  };
}

/** heartbeat renews the worker's lease by the run's lease length and records progress. */
export async function heartbeat(
  k: Kernel,
  idOrPrefix: string,
  actor: Actor,
  note?: string,
): Promise<Run> {
  const task = await resolveTask(k, idOrPrefix);
  if (actor.token === undefined) {
    throw new StaleLeaseError(
      `Cannot heartbeat task "${task.id}": only its worker can (no lease token; set KANBAN_TOKEN)`,
    );
  }
  const run = (await fence(k, task, actor, "heartbeat"))!;
  const now = k.now();
  const renewed = await k.q.runUpdate(
    run.id,
    { heartbeat_at: now, lease_expires: now + run.lease_ms },
    false,
  );
  appendEvent(k, task.id, run.id, "heartbeat", actor, note ? { note } : {});
  return toRun(renewed!);
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
  /**
   * Block the task with this reason instead of returning it to the queue: another attempt
   * cannot succeed until a person acts (its profile could not sign in). Counts no failure.
   */
  block?: string | undefined;
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
 * With `block`, the task is blocked for that reason instead, in the same transaction.
 */
export async function endRun(
  k: Kernel,
  runId: number,
  input: EndRunInput,
  actor: Actor,
): Promise<EndRunResult> {
  if (!SUPERVISOR_OUTCOMES.includes(input.outcome)) {
    throw new ValidationError(
      `Outcome "${input.outcome}" cannot end a run here; use one of ${
        SUPERVISOR_OUTCOMES.join(", ")
      }`,
    );
  }
  const run = await loadRun(k, runId);
  if (run.ended_at !== null) {
    throw new StaleLeaseError(`Run ${runId} has already ended (${run.outcome})`);
  }
  const task = await loadTask(k, run.task_id);
  const closed = await closeRun(k, run.id, input.outcome, input);
  const counted = COUNTED_FAILURES.includes(input.outcome);
  const failures = counted ? task.consecutive_failures + 1 : task.consecutive_failures;
  const reason = `${input.outcome}${input.error ? `: ${input.error}` : ""}`;
  const common = { current_run_id: null, consecutive_failures: failures, last_error: reason };
  const data = { run: run.id, outcome: input.outcome, failures };
  let moved: TaskRow;
  const policy = input.policy ?? k.options;
  if (input.block !== undefined || (counted && failures >= policy.failureLimit)) {
    moved = await move(
      k,
      task,
      "blocked",
      "fail",
      actor,
      {
        ...common,
        retry_after: null,
        blocked_reason: input.block ??
          `${failures} consecutive failed attempts; last: ${reason}`,
        // blocked for a person to act, as a needs_input block is
        ...(input.block !== undefined ? { block_kind: "needs_input" as const } : {}),
      },
      data,
      run.id,
    );
  } else {
    const retryAfter = input.outcome === "stopped"
      ? null
      : k.now() + policy.backoffMs(Math.max(failures, 1));
    moved = await move(
      k,
      task,
      await derivedStatus(k, task),
      "fail",
      actor,
      { ...common, retry_after: retryAfter },
      data,
      run.id,
    );
  }
  return { run: toRun(closed), task: toTask(moved), counted };
}

export interface SpawnRecord {
  pid: number;
  pid_start_time: number | null;
  host: string;
  log_path: string | null;
  workspace: string | null;
}

/** recordSpawn notes the worker process of an open run (its pid fingerprint and log). */
export async function recordSpawn(
  k: Kernel,
  runId: number,
  s: SpawnRecord,
  actor: Actor,
): Promise<boolean> {
  const run = await k.q.runUpdate(runId, {
    pid: s.pid,
    pid_start_time: s.pid_start_time,
    host: s.host,
    log_path: s.log_path,
    workspace: s.workspace,
  }, true);
  if (run === undefined) return false;
  appendEvent(k, run.task_id, runId, "spawned", actor, { pid: s.pid });
  return true;
}

/**
 * renewRun extends an open run's lease by its lease length: the supervisor does this for a
 * live worker that shows progress. Returns false when the run has ended.
 */
export function renewRun(k: Kernel, runId: number): Promise<boolean> {
  return k.q.runRenew(runId, k.now());
}

/**
 * recordExit stores how the worker of a run it already closed (it reported) ended, and the
 * usage read from its output (which replaces usage the worker reported: never both). The
 * `exited` event tells watchers (the dashboard's drawer, `kanban tail`) that the run's exit
 * status is now known.
 */
export async function recordExit(
  k: Kernel,
  runId: number,
  exitCode: number | null,
  signal: string | null,
  actor: Actor,
  usage: Usage | null = null,
): Promise<void> {
  const run = await k.q.runUpdate(runId, {
    exit_code: exitCode,
    signal,
    usage: usage ? JSON.stringify(parse(UsageSchema, usage, "usage")) : null,
  }, false);
  if (run === undefined) throw new NotFoundError(`No run ${runId}`);
  appendEvent(k, run.task_id, runId, "exited", actor, { exit_code: exitCode, signal });
}

export interface QueueEntry {
  assignee: string | null;
  ready: number;
  /** Ready now (retry_after passed). */
  claimable: number;
  oldest_ready_at: string | null;
}

/** readyQueue summarises the ready tasks by assignee (for caps and missing-profile reports). */
export async function readyQueue(k: Kernel): Promise<QueueEntry[]> {
  return (await k.q.readyGroups(k.now())).map((r) => ({
    assignee: r.assignee,
    ready: r.ready,
    claimable: r.claimable,
    oldest_ready_at: iso(r.oldest),
  }));
}

/** peekClaimable lists, without claiming, the tasks a claim for `assignees` would take first. */
export async function peekClaimable(
  k: Kernel,
  assignees: readonly string[],
  limit: number,
): Promise<Task[]> {
  return (await k.q.tasksClaimable(assignees, k.now(), limit)).map(toTask);
}

export async function listRuns(k: Kernel, taskId?: string, limit = 100): Promise<Run[]> {
  const id = taskId === undefined ? null : await resolveId(k, taskId);
  return (await k.q.runsNewest(id, limit)).map(toRun);
}

/** openRuns lists every run that holds a lease (what a supervisor watches). */
export async function openRuns(k: Kernel): Promise<Run[]> {
  return (await k.q.runsOpen()).map(toRun);
}
