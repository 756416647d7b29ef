/**
 * WorkerTable is the dispatcher's table of the worker processes it supervises, shared by the
 * services, and the one way to stop a worker: a stop kills the run's whole process group (or
 * cgroup) beside the passes, and wakes the loop when it is done.
 */
import type { ChildProcess } from "node:child_process";
import type { Outcome, Run } from "../../store/mod.ts";
import type { Profile } from "../../config/config.ts";
import { logSize } from "../logs.ts";
import { guardFiles, type GuardOptions, guardTimes, startGuard, writeDeadline } from "../guard.ts";
import type { StopResult } from "../proc.ts";
import type { FailureClass } from "../quota.ts";
import { type GateResult, type GateRun, runGate } from "../gate.ts";
import { type Containment, runCgroup, stopRun } from "../contain.ts";
import type { Clock, ConfigSource } from "./service.ts";

export interface Worker {
  runId: number;
  taskId: string;
  profile: string;
  /** The worker's pid, which leads its process group; 0 while it is being spawned, or unknown. */
  pid: number;
  /** It is being spawned: a stop waits for its pid (never signal pid 0: our own group). */
  spawning: boolean;
  /** The run's lease token, in every process of the run's environment (found by it). */
  token: string | null;
  startTime: number | null;
  /** Our child (null for a worker adopted from a previous dispatcher). */
  child: ChildProcess | null;
  exit: { code: number | null; signal: string | null } | null;
  /** Monotonic ms when the run started (for an adopted worker, estimated from wall time). */
  startedAt: number;
  /**
   * Monotonic ms of the last lease renewal that the board acknowledged (at the start of the
   * pass that made it: the board's new expiry is at least a lease length after this). For a
   * new or adopted run, the moment a renewal would have given the lease it has now.
   */
  renewedAt: number;
  /** The run's lease length: how long after `renewedAt` its lease may expire. */
  leaseMs: number;
  maxRuntimeMs: number;
  stallMs: number;
  logPath: string | null;
  logBytes: number;
  heartbeatAt: string | null;
  lastProgressAt: number;
  /** When the run was seen closed while the process still ran. */
  closedSeenAt: number | null;
  /** The account trouble its CLI was stopped for (services/quota.ts), if any. */
  quota?: FailureClass | undefined;
  /** Its lease guard (guard.ts): the renewal its deadline was last set from, or null (none). */
  guard: { stamped: number } | null;
  /**
   * The task's completion gate, run after the worker completed and exited (reap.ts) while the
   * run stays open; null when none runs.
   */
  gate: GateJob | null;
  stop: {
    outcome: Outcome | null;
    reason: string;
    /** SIGTERM to SIGKILL, when shorter than stop_grace (a stop that must end by a deadline). */
    graceMs?: number;
    /**
     * Stopped because this host could not renew the run's lease (cutoff.ts): once the board is
     * back the run is ended only if it is still this run's, and nothing else is written to it.
     */
    cutOff?: boolean;
    /** Signals were sent (a worker still being spawned has no pid to signal yet). */
    signalled: boolean;
    result: StopResult | null;
  } | null;
}

/** A completion gate running for a worker's run (lib/dispatch/gate.ts). */
export interface GateJob {
  abort: AbortController;
  /** Its result once it ended (by itself or stopped). */
  result: GateResult | null;
  /** Why it was stopped, and how the run ends then (null: the run ended elsewhere). */
  stopped: { outcome: Outcome | null; reason: string } | null;
  /** The gate's pid (it leads its own process group), once it started. */
  pid: number | null;
  /** Its lease guard (WorkerTable.guardGate): the renewal its deadline was set from, or null. */
  guard: number | null;
}

/** A stop as a pass reports it. */
export interface Stopping {
  run: number;
  task: string;
  reason: string;
}

export interface WorkerTableDeps {
  clock: Clock;
  config: ConfigSource;
  containment: Containment;
  log: (line: string) => void;
  /** Called when a worker's state changed outside a pass (it exited, its stop finished). */
  wake: () => void;
  /** Called when a worker enters the table (spawned or adopted), before its pass ends. */
  added?: (w: Worker) => void;
  /** Give each worker a lease guard (guard.ts); off where nothing real is spawned. */
  guard?: boolean;
}

export class WorkerTable {
  readonly #d: WorkerTableDeps;
  readonly #workers = new Map<number, Worker>();
  /** The guard could not be given (no /proc/uptime), said once. */
  #noGuard = false;

  constructor(deps: WorkerTableDeps) {
    this.#d = deps;
  }

  get size(): number {
    return this.#workers.size;
  }

  get containment(): Containment {
    return this.#d.containment;
  }

  has(runId: number): boolean {
    return this.#workers.has(runId);
  }

  set(w: Worker): void {
    this.#workers.set(w.runId, w);
    this.#d.added?.(w);
  }

  delete(runId: number): void {
    this.#workers.delete(runId);
  }

  /** all lists the workers (a copy: a service may delete while it walks them). */
  all(): Worker[] {
    return [...this.#workers.values()];
  }

  /** running counts the workers of each profile (for the per-profile caps). */
  running(): Map<string, number> {
    const n = new Map<string, number>();
    for (const w of this.#workers.values()) n.set(w.profile, (n.get(w.profile) ?? 0) + 1);
    return n;
  }

  /**
   * make builds the table's entry for `run` (not yet added): its limits come from its profile
   * (`profile`, else the run's, else the dispatch defaults). An adopted run started before this
   * process, so its age so far comes from the wall clock.
   */
  make(
    run: Run,
    pid: number,
    startTime: number | null,
    child: ChildProcess | null,
    logPath: string | null,
    token: string | null,
    profile?: Profile,
  ): Worker {
    const config = this.#d.config();
    const p = profile ?? config.profiles[run.profile ?? ""];
    const mono = this.#d.clock.mono();
    const wall = this.#d.clock.now();
    const age = child === null && pid > 0 ? Math.max(0, wall - Date.parse(run.started_at)) : 0;
    const leaseMs = config.dispatch.lease;
    // The lease as the board has it now: an adopted run's may have been renewed long ago. A
    // lease already past (or longer than ours) says more about a stepped wall clock than about
    // the lease: then the renewal the liveness service makes at once in this pass counts.
    const left = run.lease_expires === null ? leaseMs : Date.parse(run.lease_expires) - wall;
    const spent = left > 0 && left <= leaseMs ? leaseMs - left : 0;
    return {
      runId: run.id,
      taskId: run.task_id,
      profile: run.profile ?? "",
      pid,
      spawning: false,
      token,
      startTime,
      child,
      exit: null,
      startedAt: mono - age,
      renewedAt: mono - spent,
      leaseMs,
      maxRuntimeMs: p?.max_runtime ?? config.dispatch.max_runtime,
      stallMs: p?.stall_timeout ?? config.dispatch.stall_timeout,
      logPath,
      logBytes: logPath ? logSize(logPath) : 0,
      heartbeatAt: run.heartbeat_at,
      lastProgressAt: mono,
      closedSeenAt: null,
      guard: null,
      gate: null,
      stop: null,
    };
  }

  /**
   * startStop stops `w` (once): records why, adds it to `stopping`, and signals its processes.
   * `outcome` null: the run is already closed or its end is found when it is reaped.
   */
  startStop(
    w: Worker,
    outcome: Outcome | null,
    reason: string,
    stopping: Stopping[],
    how: { graceMs?: number; cutOff?: boolean } = {},
  ): void {
    if (w.stop) return;
    w.stop = { outcome, reason, signalled: false, result: null, ...how };
    stopping.push({ run: w.runId, task: w.taskId, reason });
    if (outcome) this.#d.log(`stopping run ${w.runId} (${w.taskId}): ${reason}`);
    this.signalStop(w);
  }

  /**
   * signalStop stops the worker's processes once it has a pid: a worker still being spawned
   * (pid 0) is stopped by the fill service as soon as its pid is known, never by signalling
   * pid 0 (which would be the dispatcher's own process group).
   */
  signalStop(w: Worker): void {
    const stop = w.stop;
    if (!stop || stop.signalled || w.spawning) return;
    stop.signalled = true;
    const run = { runId: w.runId, pgid: w.pid > 1 ? w.pid : null, token: w.token };
    const grace = Math.min(stop.graceMs ?? Infinity, this.#d.config().dispatch.stop_grace);
    void stopRun(this.#d.containment, run, grace).then((result) => {
      stop.result = result;
      if (w.child === null) w.exit ??= { code: null, signal: null };
      if (result.survivors.length > 0) {
        this.#d.log(`run ${w.runId}: processes ${result.survivors.join(", ")} survived SIGKILL`);
      }
      this.#d.wake();
    });
  }

  /**
   * guard keeps `w`'s lease guard (guard.ts) in step with its lease: it sets the guard's
   * deadline from the last renewal the board acknowledged, and starts the guard of a worker
   * that has none (just spawned, or adopted). Call it after each renewal. Nothing for a worker
   * being spawned or stopped, or without a log; where there is no /proc/uptime, it says once
   * that workers go unguarded.
   */
  guard(w: Worker): void {
    if (!this.#d.guard || w.spawning || w.pid <= 1 || w.stop || w.logPath === null) return;
    if (w.guard !== null && w.guard.stamped === w.renewedAt) return;
    if (w.guard === null && w.exit !== null) return; // only what it left runs: being reaped
    const start = w.guard === null
      ? {
        pgid: w.pid,
        pidFile: guardFiles(w.logPath).pid,
        cgroup: runCgroup(this.#d.containment, w.runId),
        what: "the worker",
      }
      : null;
    if (this.#stamp(w, w.logPath, start)) w.guard = { stamped: w.renewedAt };
  }

  /**
   * guardGate does for `w`'s running completion gate what guard() does for a worker: a gate
   * whose dispatcher dies alone is stopped before the run's lease can expire, so the task's
   * next attempt never runs beside it in the same workspace. The gate's guard reads the run's
   * deadline, which the liveness service keeps renewing while the gate runs, and has a pid file
   * of its own (the worker's guard may still be winding down when the gate starts).
   */
  guardGate(w: Worker): void {
    const job = w.gate;
    if (!this.#d.guard || job === null || job.pid === null || w.logPath === null) return;
    if (job.result !== null || job.stopped !== null || job.guard === w.renewedAt) return;
    const start = job.guard === null
      ? {
        pgid: job.pid,
        pidFile: guardFiles(w.logPath).gatePid,
        cgroup: null,
        what: "the completion gate",
      }
      : null;
    if (this.#stamp(w, w.logPath, start)) job.guard = w.renewedAt;
  }

  /**
   * #stamp writes the deadline of `w`'s run from its last renewal and, given `start`, starts a
   * guard for that process group. False when it could not (no /proc/uptime, said once; or a
   * file it could not write, logged).
   */
  #stamp(
    w: Worker,
    logPath: string,
    start: Pick<GuardOptions, "pgid" | "pidFile" | "cgroup" | "what"> | null,
  ): boolean {
    const times = guardTimes(w.leaseMs, this.#d.config().dispatch.stop_grace);
    const deadline = guardFiles(logPath).deadline;
    const runId = w.runId;
    try {
      if (!writeDeadline(deadline, w.renewedAt + times.afterRenewalMs - this.#d.clock.mono())) {
        if (!this.#noGuard) {
          this.#noGuard = true;
          this.#d.log(
            "no /proc/uptime: workers run without a lease guard (a worker whose dispatcher " +
              "dies alone keeps running until it is stopped by hand)",
          );
        }
        return false;
      }
      if (start !== null) {
        startGuard(
          { ...start, runId, file: deadline, times, logPath },
          (err) => this.#d.log(`run ${runId}: its lease guard did not start: ${err.message}`),
        );
      }
      return true;
    } catch (err) {
      this.#d.log(`run ${runId}: cannot set its lease guard: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * startGate runs `w`'s completion gate beside the passes (its run stays open, its lease
   * renewed by the liveness service); the loop wakes when it ends.
   */
  startGate(w: Worker, run: GateRun): void {
    if (w.gate !== null) return;
    const job: GateJob = {
      abort: new AbortController(),
      result: null,
      stopped: null,
      pid: null,
      guard: null,
    };
    w.gate = job;
    void runGate({
      ...run,
      signal: job.abort.signal,
      started: (pid) => {
        job.pid = pid;
        this.guardGate(w);
      },
    }).then((result) => {
      job.result = result;
      this.#d.wake();
    });
  }

  /**
   * stopGate stops `w`'s gate while it runs (once): the run then ends with `outcome` (null: it
   * ended elsewhere, nothing more is written to it).
   */
  stopGate(w: Worker, outcome: Outcome | null, reason: string, stopping: Stopping[]): void {
    const job = w.gate;
    if (job === null || job.result !== null || job.stopped !== null) return;
    job.stopped = { outcome, reason };
    stopping.push({ run: w.runId, task: w.taskId, reason });
    this.#d.log(`stopping the completion gate of run ${w.runId} (${w.taskId}): ${reason}`);
    job.abort.abort(reason);
  }

  /** stopAll stops every worker (and gate) with `outcome`; returns the stops it started. */
  stopAll(outcome: Outcome, reason: string): Stopping[] {
    const stopping: Stopping[] = [];
    for (const w of this.#workers.values()) {
      this.startStop(w, outcome, reason, stopping);
      this.stopGate(w, outcome, reason, stopping);
    }
    this.#d.wake();
    return stopping;
  }

  /** exited records that our child `w` exited, and wakes the loop to reap it. */
  exited(w: Worker, code: number | null, signal: string | null): void {
    w.exit = { code, signal };
    this.#d.wake();
  }

  /** detach lets this process exit while the workers go on (the next dispatcher adopts them). */
  detach(): void {
    for (const w of this.#workers.values()) w.child?.unref();
  }
}
