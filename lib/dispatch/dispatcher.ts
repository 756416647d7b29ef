/**
 * The dispatcher: a supervisor that claims ready tasks and runs the configured agent for
 * each as a process it watches. `runOnce()` is one pass and returns a report; `run()` repeats
 * passes until its signal aborts, waking within milliseconds of any board write.
 *
 * One pass: take or renew the board's dispatch lease (else stand by) -> reap exited workers
 * -> adopt live workers of a previous dispatcher, end runs whose process is gone -> watch
 * progress, renew leases, stop stalled, over-time and closed runs (whole process group) ->
 * promote scheduled tasks -> claim and spawn within the caps, highest priority first.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { randomBytes } from "node:crypto";
import type { Config, Profile } from "../config/config.ts";
import { boardKey, type BoardRef, type Env } from "../config/paths.ts";
import {
  type Actor,
  type Claim,
  type Outcome,
  type RetryPolicy,
  type Run,
  type Store,
} from "../store/mod.ts";
import { prepareWorkspace } from "../workspace/workspace.ts";
import { logSize, rotateLog, runFile, runLogPath } from "./logs.ts";
import { liveness, stopGroup, type StopResult } from "./proc.ts";
import { presetOf, profileWarnings, workerPrompt } from "./profiles.ts";
import { runOutput } from "./output.ts";
import { spawnWorker } from "./spawn.ts";
import { deliverNotifications, type NotifyReport } from "./notify.ts";
import { launchPlan } from "./launch.ts";
import { dryRun } from "./dry_run.ts";
import { missingProfiles, type PassReport, summary } from "./report.ts";

export type { PassReport } from "./report.ts";

export interface DispatcherOptions {
  store: Store;
  config: Config;
  board: BoardRef;
  /** The kanban binary workers call (put first on their PATH, and in $KANBAN_BIN). */
  kanbanBin: string;
  /** Environment workers inherit (KANBAN_* variables are replaced). */
  env?: Env;
  /** Clock for liveness decisions; pass the store's clock. */
  now?: () => number;
  host?: string;
  id?: string;
  /** Report only: no lease, no claims, no spawns, no writes at all. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

interface Worker {
  runId: number;
  taskId: string;
  profile: string;
  pid: number;
  startTime: number | null;
  /** Our child (null for a worker adopted from a previous dispatcher). */
  child: ChildProcess | null;
  exit: { code: number | null; signal: string | null } | null;
  startedAt: number;
  maxRuntimeMs: number;
  stallMs: number;
  logPath: string | null;
  logBytes: number;
  heartbeatAt: string | null;
  lastProgressAt: number;
  /** When the run was seen closed while the process still ran. */
  closedSeenAt: number | null;
  stop: { outcome: Outcome | null; reason: string; result: StopResult | null } | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Dispatcher {
  readonly id: string;
  readonly host: string;
  /** What will keep a profile's workers from running here, found when it was made. */
  readonly warnings: string[];
  readonly #o: DispatcherOptions;
  readonly #now: () => number;
  readonly #workers = new Map<number, Worker>();
  readonly #actor: Actor;
  #draining = false;
  #wake: (() => void) | null = null;
  /** A wake-up that came while no wait was in progress (during a pass): not to be lost. */
  #wakePending = false;
  #notifying: Promise<void> | null = null;
  #queueReport: { at: number; missing: PassReport["missing_profiles"] } | null = null;
  #lastNotify: NotifyReport | null = null;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.host = options.host ?? hostname();
    this.id = options.id ?? `${this.host}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.#actor = { name: "dispatcher" };
    this.warnings = profileWarnings(options.config.profiles, options.env ?? process.env);
  }

  get #d() {
    return this.#o.config.dispatch;
  }

  /** The retry policy of config.toml, passed with every run this dispatcher ends. */
  get #policy(): RetryPolicy {
    const d = this.#d;
    return {
      failureLimit: d.failure_limit,
      backoffMs: (n: number) => Math.min(d.backoff * 2 ** (n - 1), d.max_backoff),
    };
  }

  /** workerCount is how many worker processes this dispatcher supervises now. */
  get workerCount(): number {
    return this.#workers.size;
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }

  #newReport(): PassReport {
    return {
      at: new Date(this.#now()).toISOString(),
      dispatcher: this.id,
      active: false,
      dry_run: this.#o.dryRun === true,
      standby_for: null,
      took_over_from: null,
      reaped: [],
      adopted: [],
      ended: [],
      stopping: [],
      promoted: 0,
      spawned: [],
      spawn_failed: [],
      would_spawn: [],
      missing_profiles: [],
      capped: [],
      warnings: this.warnings,
      workers: this.#workers.size,
      max_workers: this.#d.max_workers,
      draining: this.#draining,
      notifications: this.#lastNotify,
    };
  }

  /** runOnce does one pass and returns what it did (or, with dryRun, would do). */
  async runOnce(): Promise<PassReport> {
    const report = this.#newReport();
    if (this.#o.dryRun) {
      return await dryRun(
        { store: this.#o.store, config: this.#o.config, host: this.host, now: this.#now() },
        report,
      );
    }
    const store = this.#o.store;
    const lease = await store.acquireDispatchLease(
      { id: this.id, host: this.host, pid: process.pid },
      this.#d.dispatcher_lease,
    );
    if (!lease.active) {
      report.standby_for = lease.holder?.id ?? null;
      return report;
    }
    report.active = true;
    report.took_over_from = lease.tookOverFrom;
    if (lease.tookOverFrom) this.#log(`took over the board from ${lease.tookOverFrom}`);
    await this.#reap(report);
    const open = await store.openRuns();
    await this.#adopt(open, report);
    await this.#watch(open, report);
    report.promoted = await store.promoteDue(this.#actor);
    if (!this.#draining) await this.#fill(report);
    report.missing_profiles.push(...await this.#missingProfiles());
    this.#notify();
    report.workers = this.#workers.size;
    await store.recordDispatcherTick(this.id, summary(report));
    return report;
  }

  /**
   * #missingProfiles groups the ready queue by assignee, at most once per poll interval: a pass
   * runs on every board write, and the grouping reads every ready task.
   */
  async #missingProfiles(): Promise<PassReport["missing_profiles"]> {
    const now = Date.now();
    if (!this.#queueReport || now - this.#queueReport.at >= this.#d.poll_interval) {
      this.#queueReport = {
        at: now,
        missing: await missingProfiles(this.#o.store, this.#o.config.profiles),
      };
    }
    return this.#queueReport.missing;
  }

  /**
   * Starts a notification round unless one is still going: a slow webhook must never hold up
   * claims and stops, so delivery runs beside the passes (in order per subscription).
   */
  #notify(): void {
    if (this.#notifying) return;
    this.#notifying = deliverNotifications(this.#o.store, { now: this.#now })
      .then((r) => {
        this.#lastNotify = r;
      })
      .catch((err) => this.#log(`notifications: ${(err as Error).message}`))
      .finally(() => {
        this.#notifying = null;
      });
  }

  /** settle waits for a notification round in flight (before the store is closed). */
  async settle(): Promise<void> {
    await this.#notifying;
  }

  /** Ends the runs of workers that exited (after their process group is gone). */
  async #reap(report: PassReport): Promise<void> {
    for (const w of [...this.#workers.values()]) {
      if (w.child === null && w.exit === null && liveness(w.pid, w.startTime) !== "alive") {
        w.exit = { code: null, signal: null }; // adopted: we cannot know its exit status
      }
      if (w.exit === null) continue;
      if (w.stop && w.stop.result === null) continue; // still stopping
      if (!w.stop) {
        // The worker exited; anything it left in its group goes too.
        this.#startStop(w, null, "worker exited; stopping what it left behind", report);
        if (w.stop!.result === null) continue;
      }
      this.#workers.delete(w.runId);
      const run = await this.#o.store.getRun(w.runId);
      const { code, signal } = w.exit;
      const preset = presetOf(this.#o.config.profiles[w.profile]);
      // a run still open ended without a report: it failed, and its last words say why
      const failed = run.open && !w.stop?.outcome;
      const { usage, lastWords } = runOutput(w.logPath, preset, failed);
      if (!run.open) {
        await this.#o.store.recordExit(w.runId, code, signal, this.#actor, usage);
        report.reaped.push({
          run: w.runId,
          task: w.taskId,
          outcome: run.outcome ?? "?",
          exit_code: code,
          signal,
        });
        continue;
      }
      const [outcome, reason] = this.#classify(w);
      // a crash or an exit without a report says why, in the CLI's own last words
      const error = lastWords === null ? reason : `${reason}: ${lastWords}`;
      const r = await this.#o.store.endRun(
        w.runId,
        { outcome, error, exit_code: code, signal, policy: this.#policy, usage },
        this.#actor,
      );
      report.reaped.push({ run: w.runId, task: w.taskId, outcome, exit_code: code, signal });
      this.#log(
        `run ${w.runId} (${w.taskId}) ended: ${outcome}${
          error ? ` (${error})` : ""
        } -> ${r.task.status}`,
      );
    }
  }

  #classify(w: Worker): [Outcome, string | null] {
    if (w.stop?.outcome) return [w.stop.outcome, w.stop.reason];
    const { code, signal } = w.exit!;
    if (w.child === null) {
      return ["crashed", "the worker exited while no dispatcher watched it; exit status unknown"];
    }
    if (signal) return ["crashed", `killed by ${signal}`];
    if (code === this.#d.transient_exit_code) {
      return ["transient", `exit code ${code}: retry later`];
    }
    if (code === 0) return ["no_report", "exited 0 without complete or block"];
    return ["crashed", `exit code ${code}`];
  }

  /** Adopts live workers this dispatcher does not know; ends runs whose process is gone. */
  async #adopt(open: Run[], report: PassReport): Promise<void> {
    const now = this.#now();
    for (const run of open) {
      if (this.#workers.has(run.id)) continue;
      const expired = run.lease_expires !== null && Date.parse(run.lease_expires) < now;
      if (run.pid !== null && run.host === this.host) {
        const pidStart = run.pid_start_time;
        const state = liveness(run.pid, pidStart);
        if (state === "alive") {
          this.#workers.set(run.id, this.#worker(run, run.pid, pidStart, null, run.log_path));
          report.adopted.push({ run: run.id, task: run.task_id, pid: run.pid });
          this.#log(`adopted run ${run.id} (${run.task_id}), pid ${run.pid}`);
          continue;
        }
        await this.#end(
          run,
          expired ? "lost" : "crashed",
          `worker process ${run.pid} is ${state}`,
          report,
        );
      } else if (expired) {
        await this.#end(run, "lost", "lease expired and no worker process is known", report);
      }
    }
  }

  async #end(run: Run, outcome: Outcome, reason: string, report: PassReport): Promise<void> {
    try {
      await this.#o.store.endRun(
        run.id,
        { outcome, error: reason, policy: this.#policy },
        this.#actor,
      );
      report.ended.push({ run: run.id, task: run.task_id, outcome, reason });
      this.#log(`run ${run.id} (${run.task_id}) ended: ${outcome} (${reason})`);
    } catch (err) {
      this.#log(`could not end run ${run.id}: ${(err as Error).message}`);
    }
  }

  /** Progress, lease renewal, and stops for stalled, over-time and closed runs. */
  async #watch(open: Run[], report: PassReport): Promise<void> {
    const now = this.#now();
    const byId = new Map(open.map((r) => [r.id, r]));
    for (const w of this.#workers.values()) {
      if (w.exit !== null || w.stop) continue;
      const run = byId.get(w.runId);
      if (!run) {
        // The run was closed (the worker reported, or a person cancelled it) while the
        // process still runs: a worker that reported gets exit_grace to exit by itself.
        w.closedSeenAt ??= now;
        const closed = await this.#o.store.getRun(w.runId);
        const reported = closed.outcome === "completed" || closed.outcome === "blocked";
        if (!reported || now - w.closedSeenAt >= this.#d.exit_grace) {
          this.#startStop(w, null, `run ${closed.outcome}; stopping the worker`, report);
        }
        continue;
      }
      if (w.logPath !== null) {
        rotateLog(w.logPath, this.#d.log_max_bytes);
        const size = logSize(w.logPath);
        if (size !== w.logBytes) {
          w.logBytes = size;
          w.lastProgressAt = now;
        }
      }
      if (run.heartbeat_at !== w.heartbeatAt) {
        w.heartbeatAt = run.heartbeat_at;
        w.lastProgressAt = now;
      }
      if (now - w.startedAt > w.maxRuntimeMs) {
        this.#startStop(w, "timed_out", `ran longer than ${w.maxRuntimeMs / 1000}s`, report);
      } else if (now - w.lastProgressAt > w.stallMs) {
        this.#startStop(
          w,
          "stalled",
          `no output and no heartbeat for ${w.stallMs / 1000}s`,
          report,
        );
      } else {
        const left = run.lease_expires === null ? 0 : Date.parse(run.lease_expires) - now;
        if (left < this.#d.lease / 2) await this.#o.store.renewRun(w.runId);
      }
    }
  }

  #startStop(w: Worker, outcome: Outcome | null, reason: string, report: PassReport): void {
    if (w.stop) return;
    const stop: NonNullable<Worker["stop"]> = { outcome, reason, result: null };
    w.stop = stop;
    report.stopping.push({ run: w.runId, task: w.taskId, reason });
    if (outcome) this.#log(`stopping run ${w.runId} (${w.taskId}): ${reason}`);
    void stopGroup(w.pid, this.#d.stop_grace).then((result) => {
      stop.result = result;
      if (w.child === null) w.exit ??= { code: null, signal: null };
      if (result.survivors.length > 0) {
        this.#log(`run ${w.runId}: processes ${result.survivors.join(", ")} survived SIGKILL`);
      }
      this.#wakeUp();
    });
  }

  /** Claims ready tasks and spawns their workers within the global and per-profile caps. */
  async #fill(report: PassReport): Promise<void> {
    const profiles = this.#o.config.profiles;
    for (;;) {
      const free = this.#d.max_workers - this.#workers.size;
      const eligible = this.#eligible(report);
      if (free <= 0 || eligible.length === 0) break;
      const claim = await this.#o.store.claim(
        { assignees: eligible, leaseMs: this.#d.lease, host: this.host },
        this.#actor,
      );
      if (!claim) break;
      const profile = profiles[claim.task.assignee!]!;
      await this.#spawn(claim, profile, report);
    }
  }

  /** Profiles with room under their max_concurrent (records the full ones in the report). */
  #eligible(report: PassReport | null): string[] {
    const running = new Map<string, number>();
    for (const w of this.#workers.values()) {
      running.set(w.profile, (running.get(w.profile) ?? 0) + 1);
    }
    const out: string[] = [];
    for (const [name, p] of Object.entries(this.#o.config.profiles)) {
      const n = running.get(name) ?? 0;
      if (n < p.max_concurrent) out.push(name);
      else if (report && !report.capped.some((c) => c.profile === name)) {
        report.capped.push({ profile: name, running: n, max: p.max_concurrent });
      }
    }
    return out;
  }

  async #spawn(claim: Claim, profile: Profile, report: PassReport): Promise<void> {
    const { task, run } = claim;
    const key = boardKey(this.#o.board);
    const logPath = runLogPath(join(this.#d.logs, key), task.id, run.id);
    const worker = this.#worker(run, 0, null, null, logPath, profile);
    try {
      const cwd = prepareWorkspace(task.workspace, task.id, {
        root: join(this.#d.workspaces, key),
        repository: this.#d.repository,
      });
      const prompt = await workerPrompt(this.#o.store, task.id, profile);
      const file = (name: string) => runFile(logPath, name);
      const promptFile = file("prompt.md");
      const { argv, env, files, stdin } = launchPlan({
        claim,
        profile,
        prompt,
        runFile: file,
        cwd,
        board: this.#o.board,
        bin: this.#o.kanbanBin,
        env: this.#o.env ?? process.env,
      });
      // written first: a worker may read $KANBAN_PROMPT_FILE as soon as it starts
      mkdirSync(dirname(promptFile), { recursive: true });
      writeFileSync(promptFile, prompt);
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, content, { mode: 0o600 });
      }
      this.#workers.set(run.id, worker); // counts against the caps from now on
      const spawned = await spawnWorker(argv, {
        cwd,
        env,
        logPath,
        ...(stdin !== null ? { stdinFile: stdin } : {}),
      });
      worker.pid = spawned.pid;
      worker.startTime = spawned.startTime;
      worker.child = spawned.child;
      spawned.child.once("exit", (code, signal) => {
        worker.exit = { code, signal };
        this.#wakeUp();
      });
      await this.#o.store.recordSpawn(run.id, {
        pid: spawned.pid,
        pid_start_time: spawned.startTime,
        host: this.host,
        log_path: logPath,
        workspace: cwd,
      }, this.#actor);
      report.spawned.push({
        run: run.id,
        task: task.id,
        profile: task.assignee!,
        pid: spawned.pid,
      });
      this.#log(`run ${run.id}: started ${argv[0]} for ${task.id} (pid ${spawned.pid})`);
    } catch (err) {
      this.#workers.delete(run.id);
      const error = (err as Error).message;
      report.spawn_failed.push({ run: run.id, task: task.id, error });
      this.#log(`run ${run.id}: spawn failed for ${task.id}: ${error}`);
      await this.#o.store.endRun(
        run.id,
        { outcome: "spawn_failed", error, policy: this.#policy },
        this.#actor,
      );
    }
  }

  #worker(
    run: Run,
    pid: number,
    startTime: number | null,
    child: ChildProcess | null,
    logPath: string | null,
    profile?: Profile,
  ): Worker {
    const p = profile ?? this.#o.config.profiles[run.profile ?? ""];
    const task = run.task_id;
    return {
      runId: run.id,
      taskId: task,
      profile: run.profile ?? "",
      pid,
      startTime,
      child,
      exit: null,
      startedAt: Date.parse(run.started_at),
      maxRuntimeMs: p?.max_runtime ?? this.#d.max_runtime,
      stallMs: p?.stall_timeout ?? this.#d.stall_timeout,
      logPath,
      logBytes: logPath ? logSize(logPath) : 0,
      heartbeatAt: run.heartbeat_at,
      lastProgressAt: this.#now(),
      closedSeenAt: null,
      stop: null,
    };
  }

  /**
   * run repeats passes until `signal` aborts, then drains: it stops claiming and keeps
   * supervising until its workers have exited (call stopWorkers() to end them at once), and
   * gives the board's lease up.
   */
  async run(signal: AbortSignal, onPass?: (r: PassReport) => void): Promise<void> {
    let lastVersion = this.#o.store.dataVersion();
    let failures = 0;
    for (;;) {
      if (signal.aborted) this.#draining = true;
      let interval = this.#d.poll_interval;
      try {
        const report = await this.runOnce();
        failures = 0;
        onPass?.(report);
        if (!report.active) interval = Math.min(interval, this.#d.dispatcher_lease / 3);
      } catch (err) {
        // A pass that fails (the disk is full, the board turned read-only, a lock held too
        // long) must not take the supervisor down with it: its workers still need watching.
        // Retry with backoff; everything a pass does is safe to repeat.
        failures++;
        interval = Math.min(this.#d.poll_interval * 2 ** Math.min(failures, 5), 30_000);
        this.#log(
          `pass failed (${failures} in a row), retrying in ${interval} ms: ${
            (err as Error).message
          }`,
        );
      }
      if (this.#draining && this.#workers.size === 0) break;
      lastVersion = await this.#waitForWake(interval, signal, lastVersion);
    }
    await this.settle();
    try {
      await this.#o.store.releaseDispatchLease(this.id);
    } catch (err) {
      this.#log(`could not give the lease up: ${(err as Error).message}`);
    }
  }

  /**
   * detach lets this process exit while its workers go on (after `--once`): the next
   * dispatcher adopts them by pid and start time.
   */
  detach(): void {
    for (const w of this.#workers.values()) w.child?.unref();
  }

  /** stopWorkers stops every worker (outcome `stopped`: retried at once, not counted). */
  stopWorkers(): void {
    const report = this.#newReport();
    for (const w of this.#workers.values()) {
      this.#startStop(w, "stopped", "dispatcher shutting down", report);
    }
    this.#wakeUp();
  }

  /** #wakeUp ends the current wait, or the next one at once if none is in progress. */
  #wakeUp(): void {
    if (this.#wake) this.#wake();
    else this.#wakePending = true;
  }

  /** Sleeps until the timer, a board write by another process, a worker exit, or abort. */
  async #waitForWake(ms: number, signal: AbortSignal, version: number): Promise<number> {
    if (this.#wakePending) {
      this.#wakePending = false;
      return version;
    }
    const until = Date.now() + ms;
    let woken = false;
    this.#wake = () => (woken = true);
    const onAbort = () => (woken = true);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!woken && Date.now() < until) {
        await sleep(Math.min(25, Math.max(1, until - Date.now())));
        const v = this.#o.store.dataVersion();
        if (v !== version) return v;
      }
      return this.#o.store.dataVersion();
    } finally {
      this.#wake = null;
      signal.removeEventListener("abort", onAbort);
    }
  }
}
