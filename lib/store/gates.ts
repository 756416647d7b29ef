/**
 * Completion gates (docs/gates.md): a command a person configured that must exit 0 before a
 * task its worker completed is done.
 *
 * - A worker's `complete` of a task with a gate (or, on a task with a reviewer, the reviewer's
 *   approval) does not end its run: `holdForGate` keeps the report on the run
 *   (`task_runs.gate_handoff`, and a `gate_pending` event with the handoff) and the task stays
 *   running. The run's lease, renewed by the dispatcher that supervises the worker, is what
 *   makes the gate its own: no other host runs it.
 * - Once the worker has exited, that dispatcher runs the gate and reports it with
 *   `settleGate`, with the run's own token (fenced like the worker's report). Passed: the held
 *   report is delivered as the worker's own complete (or approval) would have been, after a
 *   `gate_passed` event. Failed: the run ends `completed` (the worker did its part: no failure
 *   is counted) and the task goes back to the queue assigned to the same profile (the
 *   implementer, on a reviewed task) with a comment quoting the gate's output and a
 *   `gate_failed` event (round N of M); in the last round it is blocked for a person.
 *
 * The rounds are counted from the task's events: `gate_failed` events since the newest
 * `gate_passed`, `unblocked` or `reopened` (a person's unblock starts the count again).
 */
import { iso, type RunRow, type TaskRow, toTask } from "./_rows.ts";
import { appendEvent, type Kernel, move, resolveTask } from "./_kernel.ts";
import { addComment } from "./comments.ts";
import { ConflictError, StaleLeaseError, ValidationError } from "./errors.ts";
import { GATE_ROUNDS_DEFAULT, GATE_ROUNDS_MAX, GATE_TIMEOUT_DEFAULT_MS } from "./input.ts";
import { derivedStatus } from "./readiness.ts";
import { canonical } from "./replay.ts";
import { closeRun, fenceRun, tokenRun } from "./runs.ts";
import type { Actor, Task } from "./types.ts";
import type { Usage, UsageInput } from "./usage.ts";
import type { z } from "zod";

/** The name a gate's events and comments are written under. */
export const GATE_ACTOR = "kanban-gate";

/** The events that count a task's gate rounds, newest deciding. */
export const GATE_EVENTS = ["gate_failed", "gate_passed", "unblocked", "reopened"] as const;

/** The most characters of a gate's output kept on its event and quoted in its comment. */
export const GATE_OUTPUT_KEPT = 8 * 1024 + 200;

/** A task's gate with the defaults applied. */
export interface GateSpec {
  argv: string[];
  timeout_ms: number;
  rounds: number;
}

/**
 * gateSpec is task `row`'s gate with its defaults, or null when it has none (no gate yet, or
 * `[]`: none, not even its profile's).
 */
export function gateSpec(
  row: Pick<TaskRow, "gate" | "gate_timeout_ms" | "gate_rounds">,
): GateSpec | null {
  const argv = row.gate === null ? [] : JSON.parse(row.gate) as string[];
  if (argv.length === 0) return null;
  return {
    argv,
    timeout_ms: row.gate_timeout_ms ?? GATE_TIMEOUT_DEFAULT_MS,
    rounds: row.gate_rounds ?? GATE_ROUNDS_DEFAULT,
  };
}

/**
 * The report held while a gate runs: a worker's completion (its handoff) or a reviewer's
 * approval (its reason), with the usage it reported.
 */
export type HeldReport =
  | {
    route: "complete";
    summary?: string | undefined;
    metadata?: Record<string, unknown> | undefined;
    result?: string | undefined;
    usage?: z.output<typeof UsageInput> | undefined;
  }
  | {
    route: "approve";
    reason?: string | undefined;
    usage?: z.output<typeof UsageInput> | undefined;
  };

/** The handoff fields of a held report, as its events carry them (usage is accounting). */
function handoffOf(h: HeldReport): Record<string, unknown> {
  const { usage: _usage, ...rest } = h;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

/**
 * holdForGate keeps a worker's report on its open run while the task's gate runs: the task
 * stays running, and the dispatcher supervising the run runs the gate once the worker exits.
 */
export async function holdForGate(
  k: Kernel,
  task: TaskRow,
  run: RunRow,
  report: HeldReport,
  actor: Actor,
): Promise<Task> {
  const spec = gateSpec(task)!;
  const state = await gateState(k, task.id);
  await k.q.runUpdate(run.id, { gate_handoff: JSON.stringify(report) }, true);
  appendEvent(k, task.id, run.id, "gate_pending", actor, {
    ...handoffOf(report),
    round: state.failures + 1,
    rounds: spec.rounds,
  });
  return toTask(task);
}

/**
 * heldReplay judges a report on a run whose report is already held for its gate: the same
 * report again (a retry after a lost answer) is that one (true: the caller returns the task
 * unchanged); any other report is refused. False when nothing is held on `run`.
 */
export function heldReplay(
  task: TaskRow,
  run: RunRow | null | undefined,
  report: HeldReport | null,
): boolean {
  if (!run || run.ended_at !== null || run.gate_handoff === null) return false;
  if (run.task_id !== task.id || task.current_run_id !== run.id) return false;
  const held = JSON.parse(run.gate_handoff) as HeldReport;
  if (report !== null && held.route === report.route) {
    if (canonical(handoffOf(held)) === canonical(handoffOf(report))) return true;
  }
  throw new ConflictError(
    "gate_pending",
    `Task "${task.id}" is completed and waits for its completion gate, which the dispatcher ` +
      "runs once you exit: nothing more to report (exit now)",
  );
}

/** Where a task's gate rounds stand: failures since the count last started. */
export interface GateState {
  /** Gates failed since the newest pass, unblock or reopen. */
  failures: number;
  /** The newest failed gate's event data (round, rounds, exit_code, output, ...), if any. */
  last: GateFailedData | null;
}

/** What a `gate_failed` event carries. */
export interface GateFailedData {
  round: number;
  rounds: number;
  exit_code: number | null;
  duration_ms: number;
  timed_out: boolean;
  output: string;
}

/** gateState counts task `id`'s failed gates since the count last started (GATE_EVENTS). */
export async function gateState(k: Kernel, id: string): Promise<GateState> {
  const events = await k.q.lastEventsOf(id, GATE_EVENTS, GATE_ROUNDS_MAX + 1);
  let failures = 0;
  for (const e of events) {
    if (e.kind !== "gate_failed") break;
    failures++;
  }
  const last = failures > 0 ? JSON.parse(events[0]!.data) as GateFailedData : null;
  return { failures, last };
}

/** The last gate of a task, as `kanban show` and the task's detail carry it. */
export interface GateResult {
  state: "pending" | "passed" | "failed";
  round: number;
  rounds: number;
  exit_code: number | null;
  duration_ms: number | null;
  run: number | null;
  at: string;
}

/** lastGate reads task `id`'s newest gate event: held for it, passed or failed. */
export async function lastGate(k: Kernel, id: string): Promise<GateResult | null> {
  const [e] = await k.q.lastEventsOf(id, ["gate_pending", "gate_passed", "gate_failed"], 1);
  if (e === undefined) return null;
  const d = JSON.parse(e.data) as Partial<GateFailedData>;
  return {
    state: e.kind === "gate_pending" ? "pending" : e.kind === "gate_passed" ? "passed" : "failed",
    round: d.round ?? 1,
    rounds: d.rounds ?? GATE_ROUNDS_DEFAULT,
    exit_code: d.exit_code ?? null,
    duration_ms: d.duration_ms ?? null,
    run: e.run_id,
    at: iso(e.at),
  };
}

/** What one run of a gate gave (lib/dispatch/gate.ts runs it). */
export interface GateOutcome {
  passed: boolean;
  exit_code: number | null;
  output: string;
  duration_ms: number;
  timed_out: boolean;
}

/** How a gate was settled. */
export interface SettledGate {
  verdict: "passed" | "failed" | "blocked";
  round: number;
  rounds: number;
  task: Task;
}

/**
 * The deliveries of a held report when its gate passed: the worker's completion and the
 * reviewer's approval, as lifecycle.ts and reviews.ts make them (given to settleGate by the
 * store, so that this module imports neither).
 */
export interface Deliveries {
  complete(k: Kernel, task: TaskRow, run: RunRow, held: HeldReport, actor: Actor): Promise<Task>;
  approve(k: Kernel, task: TaskRow, run: RunRow, held: HeldReport, actor: Actor): Promise<Task>;
  /** The implementer a reviewed task goes back to (reviews.ts), null when none is known. */
  implementer(k: Kernel, task: TaskRow): Promise<string | null>;
}

/** fence opens a code block longer than any run of backticks in `text`. */
function fence(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(Math.max(3, longest + 1));
}

/** gateComment is the comment a failed gate leaves: what it said, quoted. */
export function gateComment(d: GateFailedData): string {
  const exit = d.timed_out
    ? "ran past its time limit"
    : d.exit_code === null
    ? "did not finish"
    : `exited with code ${d.exit_code}`;
  const output = d.output.trimEnd() || "(no output)";
  const f = fence(output);
  return `Completion gate failed (round ${d.round} of ${d.rounds}): it ${exit} after ` +
    `${(d.duration_ms / 1000).toFixed(1)}s. Its output:\n\n${f}\n${output}\n${f}`;
}

/** firstLine is the last non-empty line of a gate's output (what a block reason quotes). */
function lastLine(output: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const line = lines.at(-1) ?? "(no output)";
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/**
 * settleGate reports the gate of the run `actor`'s token belongs to (the dispatcher reports
 * with the run's own token): passed, the held report is delivered; failed, the run ends and
 * the task goes back to its worker's profile, or is blocked after its last round. A run that
 * ended meanwhile (a person moved the task, its lease was lost) is refused (StaleLeaseError)
 * and nothing is written.
 */
export async function settleGate(
  k: Kernel,
  ref: string,
  outcome: GateOutcome,
  actor: Actor,
  deliver: Deliveries,
): Promise<SettledGate> {
  if (actor.token === undefined) {
    throw new ValidationError("A gate is reported with its run's token");
  }
  // the run first, then its task, both locked in a lockedReads transaction (lifecycle.ts)
  const token = await tokenRun(k, actor, k.locked);
  const task = await resolveTask(k, token?.task_id ?? ref, k.locked);
  const run = fenceRun(task, "report the gate of", token)!;
  if (run.gate_handoff === null) {
    throw new StaleLeaseError(
      `Cannot report the gate of task "${task.id}": run ${run.id} holds no report for it`,
    );
  }
  const held = JSON.parse(run.gate_handoff) as HeldReport;
  const spec = gateSpec(task) ?? {
    argv: [],
    timeout_ms: GATE_TIMEOUT_DEFAULT_MS,
    rounds: GATE_ROUNDS_DEFAULT,
  };
  const state = await gateState(k, task.id);
  const round = state.failures + 1;
  // the gate's own events and comment are the gate's; a delivered report is the worker's
  const gate: Actor = { name: GATE_ACTOR };
  const rounds = spec.rounds;
  const kept = outcome.output.length > GATE_OUTPUT_KEPT
    ? outcome.output.slice(-GATE_OUTPUT_KEPT)
    : outcome.output;
  if (outcome.passed) {
    appendEvent(k, task.id, run.id, "gate_passed", gate, {
      round,
      rounds,
      exit_code: outcome.exit_code,
      duration_ms: outcome.duration_ms,
    });
    const done = held.route === "approve"
      ? await deliver.approve(k, task, run, held, actor)
      : await deliver.complete(k, task, run, held, actor);
    return { verdict: "passed", round, rounds, task: done };
  }
  const data: GateFailedData = {
    round,
    rounds,
    exit_code: outcome.exit_code,
    duration_ms: outcome.duration_ms,
    timed_out: outcome.timed_out,
    output: kept,
  };
  const spent = round >= rounds;
  const assignee = held.route === "approve"
    ? await deliver.implementer(k, task) ?? task.assignee
    : task.assignee;
  const exit = outcome.timed_out
    ? "timed out"
    : outcome.exit_code === null
    ? "did not finish"
    : `exit code ${outcome.exit_code}`;
  const error = `completion gate failed (round ${round} of ${rounds}): ${exit}`;
  const summary = held.route === "approve" ? held.reason : held.summary;
  const queued: TaskRow = { ...task, current_run_id: null };
  const [, moved] = await Promise.all([
    closeRun(k, run.id, "completed", {
      summary: summary ?? null,
      metadata: held.route === "complete" ? held.metadata ?? null : null,
      error,
      usage: held.usage === undefined ? null : { ...held.usage, source: "reported" } as Usage,
    }),
    move(
      k,
      task,
      spent ? "blocked" : await derivedStatus(k, queued),
      "fail_gate",
      gate,
      {
        current_run_id: null,
        assignee,
        result: null,
        consecutive_failures: 0,
        retry_after: null,
        last_error: error,
        ...(spent
          ? {
            block_kind: "needs_input" as const,
            blocked_reason: `gate failed ${round} times: ${exit}: ${lastLine(kept)}`,
          }
          : {}),
      },
      data as unknown as Record<string, unknown>,
      run.id,
    ),
  ]);
  await addComment(k, moved, gateComment(data), gate, run.id);
  return { verdict: spent ? "blocked" : "failed", round, rounds, task: toTask(moved) };
}
