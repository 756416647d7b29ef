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
import { performance } from "node:perf_hooks";
import { createHash, randomBytes } from "node:crypto";
import type { Config, Profile } from "../config/config.ts";
import { boardKey, type BoardRef, type Env } from "../config/paths.ts";
import {
  type Actor,
  type Claim,
  type Dispatcher as StoreDispatcher,
  holderKey,
  type Outcome,
  type RetryPolicy,
  type Run,
  type Store,
  type Takeover,
} from "../store/mod.ts";
import { prepareWorkspace } from "../workspace/workspace.ts";
import { logSize, rotateLog, runFile, runLogPath } from "./logs.ts";
import { liveness, readStat, type StopResult } from "./proc.ts";
import {
  type Containment,
  containment,
  release,
  retire,
  runProcesses,
  stopRun,
} from "./contain.ts";
import { presetOf, profileWarnings, workerPrompt } from "./profiles.ts";
import { runOutput } from "./output.ts";
import { spawnWorker } from "./spawn.ts";
import { deliverNotifications, type NotifyReport } from "./notify.ts";
import { launchPlan } from "./launch.ts";
import { dryRun } from "./dry_run.ts";
import { missingProfiles, type PassReport, summary } from "./report.ts";
import { boardFileProblem, configChanges, fileIdentity, fileStamp } from "./reload.ts";
import { pause } from "../pause.ts";

export type { PassReport } from "./report.ts";

export interface DispatcherOptions {
  store: Store;
  config: Config;
  board: BoardRef;
  /** The kanban binary workers call (put first on their PATH, and in $KANBAN_BIN). */
  kanbanBin: string;
  /** Environment workers inherit (KANBAN_* variables are replaced). */
  env?: Env;
  /** Wall clock (timestamps, deadlines stored on the board); pass the store's clock. */
  now?: () => number;
  /**
   * Monotonic clock (ms) for every duration the dispatcher measures itself (stall, max
   * runtime, lease renewal): a step of the wall clock must not stop healthy workers.
   */
  mono?: () => number;
  /**
   * Reloads config.toml (the dispatcher calls it when `configFile` changes, and on
   * reloadConfig()); throws when the new file is invalid, and the old config stays.
   */
  loadConfig?: () => Config;
  /** The file to watch for changes (config.toml, whether or not it exists yet). */
  configFile?: string;
  /** How workers are contained (default: found at start, contain.ts `containment()`). */
  containment?: Containment;
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
  /** Monotonic ms of the last lease renewal. */
  renewedAt: number;
  maxRuntimeMs: number;
  stallMs: number;
  logPath: string | null;
  logBytes: number;
  heartbeatAt: string | null;
  lastProgressAt: number;
  /** When the run was seen closed while the process still ran. */
  closedSeenAt: number | null;
  stop: {
    outcome: Outcome | null;
    reason: string;
    /** Signals were sent (a worker still being spawned has no pid to signal yet). */
    signalled: boolean;
    result: StopResult | null;
  } | null;
}

/** A jump between the wall and monotonic clocks at least this big is a clock step. */
const CLOCK_STEP_MS = 2_000;

/**
 * containmentScope names a board's cgroup folder: its key plus a hash of its path, since two
 * boards of the same name (in two homes) on one host must never share run cgroups.
 */
function containmentScope(board: BoardRef): string {
  const hash = createHash("sha256").update(board.path).digest("hex").slice(0, 10);
  return `${boardKey(board).slice(0, 40)}-${hash}`;
}

/** BoardGoneError: the board file was deleted or replaced under a running dispatcher. */
export class BoardGoneError extends Error {}

export class Dispatcher {
  readonly id: string;
  readonly host: string;
  /** What will keep a profile's workers from running here, found when it was made. */
  warnings: string[];
  readonly #o: DispatcherOptions;
  #config: Config;
  readonly #now: () => number;
  readonly #mono: () => number;
  /** wall - monotonic at the last pass, to see a step of the wall clock. */
  #clockOffset: number | null = null;
  /** The holder of the board's lease as last seen ticking, by the monotonic clock. */
  #holderSeen: { id: string; tick: string; at: number } | null = null;
  /** The board file's device and inode when opened (null: not a file, e.g. in memory). */
  readonly #boardFile: string | null;
  #boardGone: string | null = null;
  #configStamp: string | null = null;
  #reloadWanted = false;
  /** How this dispatcher's workers are contained: a cgroup per run, or their process group. */
  readonly containment: Containment;
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
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#mono = options.mono ?? (() => performance.now());
    this.#boardFile = options.dryRun ? null : fileIdentity(options.board.path);
    if (options.configFile !== undefined) this.#configStamp = fileStamp(options.configFile);
    this.containment = options.containment ??
      (options.dryRun
        ? { kind: "group", root: null, why: "dry run" }
        : containment(containmentScope(options.board), options.config.dispatch.containment));
    this.host = options.host ?? hostname();
    this.id = options.id ?? `${this.host}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.#actor = { name: "dispatcher" };
    this.warnings = profileWarnings(options.config.profiles, options.env ?? process.env);
  }

  get #d() {
    return this.#config.dispatch;
  }

  /** The config this dispatcher runs with now (config.toml as last loaded). */
  get config(): Config {
    return this.#config;
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
        { store: this.#o.store, config: this.#config, host: this.host, now: this.#now() },
        report,
      );
    }
    const store = this.#o.store;
    const step = this.#clockStep();
    const lease = await store.acquireDispatchLease(
      { id: this.id, host: this.host, pid: process.pid },
      this.#d.dispatcher_lease,
      { takeover: this.#takeover() },
    );
    if (!lease.active) {
      report.standby_for = lease.holder?.id ?? null;
      this.#sawHolder(lease.holder);
      return report;
    }
    this.#holderSeen = null;
    report.active = true;
    if (step !== 0) {
      // Only the lease holder moves the board's deadlines, so a step is applied once.
      const shifted = await store.shiftDeadlines(step, this.#actor);
      report.clock_step = shifted;
      this.#log(
        `the wall clock stepped by ${Math.round(step / 1000)}s; shifted ${shifted.retries} ` +
          `retry backoff(s), ${shifted.leases} lease(s), ${shifted.notifications} ` +
          `notification retry(ies) by the same amount`,
      );
    }
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
    await store.recordDispatcherTick(this.id, summary(report, this.#config));
    return report;
  }

  /**
   * #clockStep returns how far the wall clock jumped against the monotonic clock since the last
   * pass (0 below CLOCK_STEP_MS: drift and slewing are not steps).
   */
  #clockStep(): number {
    const offset = this.#now() - this.#mono();
    const last = this.#clockOffset;
    this.#clockOffset = offset;
    if (last === null) return 0;
    const step = offset - last;
    return Math.abs(step) >= CLOCK_STEP_MS ? Math.round(step) : 0;
  }

  /**
   * #takeover: may this pass take the board from its holder? A holder seen ticking within a
   * lease period of our own monotonic clock keeps it, even if a step of the wall clock makes
   * its lease look expired; one not seen ticking for a lease period loses it, even if a step
   * back makes its lease look unexpired.
   */
  #takeover(): Takeover {
    const seen = this.#holderSeen;
    if (seen === null) return "expired";
    return this.#mono() - seen.at < this.#d.dispatcher_lease ? "never" : { unchanged: seen.tick };
  }

  #sawHolder(holder: StoreDispatcher | null): void {
    if (holder === null) {
      this.#holderSeen = null;
      return;
    }
    const tick = holderKey(holder);
    const seen = this.#holderSeen;
    if (seen === null || seen.id !== holder.id || seen.tick !== tick) {
      this.#holderSeen = { id: holder.id, tick, at: this.#mono() };
    }
  }

  /**
   * #missingProfiles groups the ready queue by assignee, at most once per poll interval: a pass
   * runs on every board write, and the grouping reads every ready task.
   */
  async #missingProfiles(): Promise<PassReport["missing_profiles"]> {
    const now = this.#mono();
    if (!this.#queueReport || now - this.#queueReport.at >= this.#d.poll_interval) {
      this.#queueReport = {
        at: now,
        missing: await missingProfiles(this.#o.store, this.#config.profiles),
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
      release(this.containment, w.runId); // its cgroup, empty now
      const run = await this.#o.store.getRun(w.runId);
      const { code, signal } = w.exit;
      const preset = presetOf(this.#config.profiles[w.profile]);
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

  /**
   * Adopts live workers of this host that this dispatcher does not know, and ends runs whose
   * process is gone. A worker is found by its recorded pid, or, when the pid was never recorded
   * (the previous dispatcher died between the spawn and the record) or the recorded process is
   * gone, by its run: its cgroup and the lease token in its environment. A found worker is
   * adopted; what is left of one whose leader is gone is stopped before the run ends, so the
   * task is never claimed again while anything of the run still runs.
   */
  async #adopt(open: Run[], report: PassReport): Promise<void> {
    const now = this.#now();
    for (const run of open) {
      if (this.#workers.has(run.id)) continue;
      const expired = run.lease_expires !== null && Date.parse(run.lease_expires) < now;
      if (run.host !== this.host) {
        if (expired) {
          await this.#end(run, "lost", "lease expired and no worker process is known", report);
        }
        continue;
      }
      const token = await this.#o.store.runToken(run.id);
      if (run.pid !== null && liveness(run.pid, run.pid_start_time) === "alive") {
        this.#take(run, run.pid, run.pid_start_time, token, report, "");
        continue;
      }
      const found = runProcesses(this.containment, run.id, token);
      if (run.pid === null) {
        // the worker leads its group and is the run's first process (a setsid daemon it
        // started leads a group too, but started later)
        const leader = found.filter((p) => readStat(p.pid)?.pgrp === p.pid)
          .sort((a, b) => a.startTime - b.startTime)[0];
        if (leader) {
          await this.#o.store.recordSpawn(run.id, {
            pid: leader.pid,
            pid_start_time: leader.startTime,
            host: this.host,
            log_path: run.log_path ?? "",
            workspace: run.workspace ?? "",
          }, this.#actor);
          this.#take(
            run,
            leader.pid,
            leader.startTime,
            token,
            report,
            " (its pid was never recorded)",
          );
          continue;
        }
      }
      if (found.length > 0) {
        // The worker is gone (or never showed itself) but processes of its run live on.
        const w = this.#worker(run, 0, null, null, run.log_path, token);
        this.#workers.set(run.id, w);
        this.#startStop(
          w,
          "crashed",
          `its worker process is gone; stopping ${found.length} process(es) it left`,
          report,
        );
        continue;
      }
      if (run.pid !== null) {
        const state = liveness(run.pid, run.pid_start_time);
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

  #take(
    run: Run,
    pid: number,
    startTime: number | null,
    token: string | null,
    report: PassReport,
    how: string,
  ): void {
    this.#workers.set(run.id, this.#worker(run, pid, startTime, null, run.log_path, token));
    report.adopted.push({ run: run.id, task: run.task_id, pid });
    this.#log(`adopted run ${run.id} (${run.task_id}), pid ${pid}${how}`);
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
    const now = this.#mono();
    const wall = this.#now();
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
        // Renewed on our own clock's schedule, and at once when the board's wall-clock lease
        // runs short (after a step of the wall clock, say).
        const left = run.lease_expires === null ? 0 : Date.parse(run.lease_expires) - wall;
        if (left < this.#d.lease / 2 || now - w.renewedAt >= this.#d.lease / 3) {
          await this.#o.store.renewRun(w.runId);
          w.renewedAt = now;
        }
      }
    }
  }

  #startStop(w: Worker, outcome: Outcome | null, reason: string, report: PassReport): void {
    if (w.stop) return;
    w.stop = { outcome, reason, signalled: false, result: null };
    report.stopping.push({ run: w.runId, task: w.taskId, reason });
    if (outcome) this.#log(`stopping run ${w.runId} (${w.taskId}): ${reason}`);
    this.#signalStop(w);
  }

  /**
   * #signalStop stops the worker's processes once it has a pid: a worker still being spawned
   * (pid 0) is stopped by #spawn as soon as its pid is known, never by signalling pid 0 (which
   * would be the dispatcher's own process group).
   */
  #signalStop(w: Worker): void {
    const stop = w.stop;
    if (!stop || stop.signalled || w.spawning) return;
    stop.signalled = true;
    const run = { runId: w.runId, pgid: w.pid > 1 ? w.pid : null, token: w.token };
    void stopRun(this.containment, run, this.#d.stop_grace).then((result) => {
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
    const profiles = this.#config.profiles;
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
    for (const [name, p] of Object.entries(this.#config.profiles)) {
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
    const worker = this.#worker(run, 0, null, null, logPath, claim.token, profile);
    worker.spawning = true;
    let spawned: Awaited<ReturnType<typeof spawnWorker>>;
    let argv0: string;
    let cwd: string;
    try {
      cwd = prepareWorkspace(task.workspace, task.id, {
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
      argv0 = argv[0]!;
      // written first: a worker may read $KANBAN_PROMPT_FILE as soon as it starts
      mkdirSync(dirname(promptFile), { recursive: true });
      writeFileSync(promptFile, prompt);
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, content, { mode: 0o600 });
      }
      // Recorded before the process exists: should this dispatcher die between the spawn and
      // the record of the pid, the next one finds the worker by its run (#adopt).
      if (!await this.#o.store.recordLaunch(run.id, { log_path: logPath, workspace: cwd })) {
        this.#log(`run ${run.id} (${task.id}) ended before its worker started; not started`);
        return;
      }
      this.#workers.set(run.id, worker); // counts against the caps from now on
      spawned = await spawnWorker(argv, {
        cwd,
        env,
        logPath,
        contain: { containment: this.containment, runId: run.id },
        ...(stdin !== null ? { stdinFile: stdin } : {}),
      });
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
      return;
    }
    worker.pid = spawned.pid;
    worker.startTime = spawned.startTime;
    worker.child = spawned.child;
    worker.spawning = false;
    spawned.child.once("exit", (code, signal) => {
      worker.exit = { code, signal };
      this.#wakeUp();
    });
    this.#signalStop(worker); // a stop asked for while it was being spawned
    report.spawned.push({ run: run.id, task: task.id, profile: task.assignee!, pid: spawned.pid });
    this.#log(`run ${run.id}: started ${argv0} for ${task.id} (pid ${spawned.pid})`);
    try {
      await this.#o.store.recordSpawn(run.id, {
        pid: spawned.pid,
        pid_start_time: spawned.startTime,
        host: this.host,
        log_path: logPath,
        workspace: cwd,
      }, this.#actor);
    } catch (err) {
      // The worker runs and is supervised all the same; a later dispatcher finds it by its run.
      this.#log(`run ${run.id}: could not record pid ${spawned.pid}: ${(err as Error).message}`);
    }
  }

  #worker(
    run: Run,
    pid: number,
    startTime: number | null,
    child: ChildProcess | null,
    logPath: string | null,
    token: string | null,
    profile?: Profile,
  ): Worker {
    const p = profile ?? this.#config.profiles[run.profile ?? ""];
    const task = run.task_id;
    const mono = this.#mono();
    // an adopted run started before this process: its age so far comes from the wall clock
    const age = child === null && pid > 0
      ? Math.max(0, this.#now() - Date.parse(run.started_at))
      : 0;
    return {
      runId: run.id,
      taskId: task,
      profile: run.profile ?? "",
      pid,
      spawning: false,
      token,
      startTime,
      child,
      exit: null,
      startedAt: mono - age,
      renewedAt: mono,
      maxRuntimeMs: p?.max_runtime ?? this.#d.max_runtime,
      stallMs: p?.stall_timeout ?? this.#d.stall_timeout,
      logPath,
      logBytes: logPath ? logSize(logPath) : 0,
      heartbeatAt: run.heartbeat_at,
      lastProgressAt: mono,
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
    const feed = new AbortController();
    const following = this.#followBoard(feed.signal);
    try {
      await this.#passes(signal, onPass);
    } finally {
      feed.abort();
      await following;
    }
  }

  /** #passes is run()'s loop: a pass, then a wait for the timer or a wake-up, until drained. */
  async #passes(signal: AbortSignal, onPass?: (r: PassReport) => void): Promise<void> {
    let failures = 0;
    for (;;) {
      if (signal.aborted) this.#draining = true;
      this.#checkBoardFile();
      this.#maybeReload();
      let interval = this.#d.poll_interval;
      try {
        const report = await this.runOnce();
        failures = 0;
        onPass?.(report);
        // the holder renews its lease every pass, a standby looks for a lapsed one: both pass
        // well within a lease period, whatever poll_interval says
        interval = Math.min(interval, this.#d.dispatcher_lease / 3);
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
      await this.#waitForWake(interval, signal);
    }
    await this.settle();
    retire(this.containment);
    try {
      await this.#o.store.releaseDispatchLease(this.id);
    } catch (err) {
      this.#log(`could not give the lease up: ${(err as Error).message}`);
    }
    if (this.#boardGone !== null) {
      throw new BoardGoneError(
        `${this.#boardGone}; the dispatcher stopped its workers and exits: start it again ` +
          "(a supervisor such as systemd does) to run the board now at that path",
      );
    }
  }

  /**
   * #checkBoardFile: once the board file is deleted or replaced, this dispatcher works on a
   * file nobody else uses. It stops its workers (their tasks may be claimed on the new file),
   * claims nothing more, and run() ends with a BoardGoneError.
   */
  #checkBoardFile(): void {
    if (this.#boardFile === null || this.#boardGone !== null) return;
    const problem = boardFileProblem(this.#o.board.path, this.#boardFile);
    if (problem === null) return;
    this.#boardGone = problem;
    this.#draining = true;
    this.#log(`${problem}: stopping ${this.#workers.size} worker(s), then exiting`);
    this.stopWorkers("the board file was deleted or replaced");
  }

  /** reloadConfig asks for config.toml to be read again before the next pass (SIGHUP). */
  reloadConfig(): void {
    this.#reloadWanted = true;
    this.#wakeUp();
  }

  /**
   * #maybeReload reads config.toml again when it changed (or was asked to): a valid file
   * replaces the config for every later decision (running workers keep the limits they started
   * with), and what changed is logged; an invalid one is reported and the old config stays.
   */
  #maybeReload(): void {
    const file = this.#o.configFile;
    const load = this.#o.loadConfig;
    if (file === undefined || load === undefined) return;
    const stamp = fileStamp(file);
    if (!this.#reloadWanted && stamp === this.#configStamp) return;
    this.#reloadWanted = false;
    this.#configStamp = stamp;
    let next: Config;
    try {
      next = load();
    } catch (err) {
      this.#log(`config not reloaded, keeping the previous one: ${(err as Error).message}`);
      return;
    }
    const changes = configChanges(this.#config, next);
    this.#config = next;
    this.warnings = profileWarnings(next.profiles, this.#o.env ?? process.env);
    this.#queueReport = null;
    this.#log(
      `config reloaded from ${file}: ${changes.length === 0 ? "no changes" : changes.join("; ")}`,
    );
    for (const w of this.warnings) this.#log(`warning: ${w}`);
  }

  /**
   * detach lets this process exit while its workers go on (after `--once`): the next
   * dispatcher adopts them by pid and start time.
   */
  detach(): void {
    for (const w of this.#workers.values()) w.child?.unref();
  }

  /** stopWorkers stops every worker (outcome `stopped`: retried at once, not counted). */
  stopWorkers(reason = "dispatcher shutting down"): void {
    const report = this.#newReport();
    for (const w of this.#workers.values()) {
      this.#startStop(w, "stopped", reason, report);
    }
    this.#wakeUp();
  }

  /** #wakeUp ends the current wait, or the next one at once if none is in progress. */
  #wakeUp(): void {
    if (this.#wake) this.#wake();
    else this.#wakePending = true;
  }

  /**
   * #followBoard wakes the pass loop on every batch of the board's change feed: any write with
   * an event, by any process or by this one (a server sharing the connection, say). Should the
   * feed fail, passes go on by their timer and it is followed again a poll interval later.
   */
  async #followBoard(signal: AbortSignal): Promise<void> {
    let cursor: number | null = null;
    let failing = false;
    while (!signal.aborted) {
      try {
        cursor ??= await this.#o.store.eventHead();
        for await (const batch of this.#o.store.follow(cursor, { signal })) {
          cursor = batch[batch.length - 1]!.id;
          failing = false;
          this.#wakeUp();
        }
      } catch (err) {
        if (!failing) this.#log(`the change feed failed: ${(err as Error).message}`);
        failing = true;
        await pause(this.#d.poll_interval, signal);
      }
    }
  }

  /** Sleeps until the timer, a board write (the change feed), a worker exit, or abort. */
  #waitForWake(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#wakePending) {
      this.#wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
