/**
 * The dispatcher: a supervisor that claims ready tasks and runs the configured agent for
 * each as a process it watches. `runOnce()` is one pass and returns a report; `run()` repeats
 * passes until its signal aborts, waking within milliseconds of any board write (the board's
 * change feed) and of any worker exit.
 *
 * A pass is a list of small services (lib/dispatch/services/), run in order, whose reports
 * merge into the pass report: take or renew the board's dispatch lease (else stand by; the
 * holder applies a wall-clock step) -> reap exited workers -> adopt live workers of a previous
 * dispatcher, end runs whose process is gone -> watch liveness, renew leases, stop stalled,
 * over-time and closed runs (whole process group) -> promote scheduled tasks -> claim and
 * spawn within the caps, highest priority first -> report the ready queue -> notify.
 */
import { hostname } from "node:os";
import process from "node:process";
import { performance } from "node:perf_hooks";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import { boardKey, type BoardRef, type Env } from "../config/paths.ts";
import type { Store } from "../store/mod.ts";
import { type Containment, containment, retire } from "./contain.ts";
import { profileWarnings } from "./profiles.ts";
import { dryRun } from "./dry_run.ts";
import { mergeReport, type PassReport, summary } from "./report.ts";
import { boardFileProblem, configChanges, fileIdentity, fileStamp } from "./reload.ts";
import { pause } from "../pause.ts";
import { socketPathFor, workerAccess, WorkerSocket } from "./worker_socket.ts";
import { cutoffAt, cutoffRenewFirst, CutoffService } from "./services/cutoff.ts";
import {
  type Clock,
  type Kept,
  LeaseService,
  passServices,
  readNow,
  type Service,
  type Worker,
  WorkerTable,
} from "./services/mod.ts";

import type { PressureReader } from "./pressure.ts";

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
  /** Reads the machine's memory and load for the pressure check (default: /proc). */
  pressure?: PressureReader;
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
  readonly #clock: Clock;
  /** The board file's device and inode when opened (null: not a file, e.g. in memory). */
  readonly #boardFile: string | null;
  #boardGone: string | null = null;
  #configStamp: string | null = null;
  #reloadWanted = false;
  /** How this dispatcher's workers are contained: a cgroup per run, or their process group. */
  readonly containment: Containment;
  readonly #workers: WorkerTable;
  readonly #lease: LeaseService;
  /** The pass's services after the lease, in order (services/mod.ts). */
  readonly #services: Service[];
  readonly #kept: Kept;
  /** Where this dispatcher's workers reach the board, when they do not open it themselves. */
  readonly #socket: WorkerSocket | null;
  /** Stops this host's workers whose leases it could not renew (runs whether passes fail or not). */
  readonly #cutoff: CutoffService;
  #cutoffTimer: ReturnType<typeof setTimeout> | null = null;
  /** The monotonic ms the cutoff timer fires at (Infinity while it is not armed). */
  #cutoffTimerAt = Infinity;
  /** run()'s loop is on: the cutoff timer is kept armed only then (not for a lone runOnce()). */
  #looping = false;
  /** A pass is in progress (it may be waiting for an unreachable board). */
  #inPass = false;
  #draining = false;
  #wake: (() => void) | null = null;
  /** A wake-up that came while no wait was in progress (during a pass): not to be lost. */
  #wakePending = false;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#config = options.config;
    this.#clock = {
      now: options.now ?? Date.now,
      mono: options.mono ?? (() => performance.now()),
    };
    this.#boardFile = options.dryRun ? null : fileIdentity(options.board.path);
    if (options.configFile !== undefined) this.#configStamp = fileStamp(options.configFile);
    this.containment = options.containment ??
      (options.dryRun
        ? { kind: "group", root: null, why: "dry run" }
        : containment(containmentScope(options.board), options.config.dispatch.containment));
    this.host = options.host ?? hostname();
    this.id = options.id ?? `${this.host}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.warnings = profileWarnings(options.config.profiles, options.env ?? process.env);
    const config = () => this.#config;
    const log = (line: string) => this.#log(line);
    // How workers reach the board is fixed at start (a reload does not move running workers).
    const access = options.dryRun
      ? "direct"
      : workerAccess(options.board.path, options.config.dispatch.worker_access);
    this.#socket = access === "socket"
      ? new WorkerSocket({
        store: options.store,
        path: socketPathFor(join(options.config.dispatch.logs, boardKey(options.board)), this.host),
        log,
      })
      : null;
    this.#workers = new WorkerTable({
      clock: this.#clock,
      config,
      containment: this.containment,
      log,
      wake: () => this.#wakeUp(),
      added: (w) => this.#workerAdded(w),
      guard: !options.dryRun,
    });
    this.#lease = new LeaseService({
      store: options.store,
      config,
      me: { id: this.id, host: this.host },
      log,
    });
    const { list, kept } = passServices({
      store: options.store,
      config,
      clock: this.#clock,
      workers: this.#workers,
      board: options.board,
      host: this.host,
      kanbanBin: options.kanbanBin,
      env: options.env,
      socket: this.#socket?.path ?? null,
      draining: () => this.#draining,
      log,
      pressure: options.pressure,
    });
    this.#services = list;
    this.#kept = kept;
    this.#cutoff = new CutoffService({ config, workers: this.#workers, log });
  }

  get #d() {
    return this.#config.dispatch;
  }

  /** The config this dispatcher runs with now (config.toml as last loaded). */
  get config(): Config {
    return this.#config;
  }

  /** workerCount is how many worker processes this dispatcher supervises now. */
  get workerCount(): number {
    return this.#workers.size;
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }

  #newReport(at: number): PassReport {
    return {
      at: new Date(at).toISOString(),
      dispatcher: this.id,
      active: false,
      leader: false,
      dry_run: this.#o.dryRun === true,
      standby_for: null,
      took_over_from: null,
      reaped: [],
      adopted: [],
      ended: [],
      stopping: [],
      promoted: 0,
      decomposing: [],
      routines_fired: [],
      routines_failed: [],
      would_fire: [],
      spawned: [],
      spawn_failed: [],
      would_spawn: [],
      missing_profiles: [],
      capped: [],
      budget_held: [],
      quota_held: [],
      warnings: this.warnings,
      workers: this.#workers.size,
      max_workers: this.#d.max_workers,
      max_workers_from: this.#d.max_workers_from,
      pressure: null,
      held: [],
      holds: {},
      draining: this.#draining,
      notifications: this.#kept.notify.last,
    };
  }

  /**
   * runOnce does one pass and returns what it did (or, with dryRun, would do): the lease
   * service, then, holding the board, every other service in order, their reports merged.
   */
  async runOnce(): Promise<PassReport> {
    const now = readNow(this.#clock);
    const report = this.#newReport(now.wall);
    if (this.#o.dryRun) {
      return await dryRun(
        { store: this.#o.store, config: this.#config, host: this.host, now: now.wall },
        report,
      );
    }
    const lease = await this.#lease.runOnce(now);
    mergeReport(report, lease);
    if (!lease.active) return report;
    // Served from the first pass this dispatcher holds the board for its host: before the
    // adopt service, so a previous dispatcher's workers find the socket again at once.
    await this.#socket?.listen();
    for (const service of this.#services) {
      if (service.boardWide && !lease.leader) continue;
      mergeReport(report, await service.runOnce(now));
    }
    mergeReport(report, await this.#cutoff.runOnce(readNow(this.#clock)));
    report.workers = this.#workers.size;
    await this.#o.store.recordDispatcherTick(this.id, summary(report, this.#config));
    return report;
  }

  /** settle waits for a notification round in flight (before the store is closed). */
  async settle(): Promise<void> {
    await this.#kept.notify.settle();
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
      await this.closeSocket();
    }
  }

  /** The unix socket this dispatcher's workers reach the board through, or null (direct). */
  get socketPath(): string | null {
    return this.#socket?.path ?? null;
  }

  /**
   * closeSocket stops serving workers and removes the socket (run() does it when it ends; after
   * `--once`, call it before the process exits). Safe to repeat.
   */
  async closeSocket(): Promise<void> {
    await this.#socket?.close();
  }

  /** #passes is run()'s loop: a pass, then a wait for the timer or a wake-up, until drained. */
  async #passes(signal: AbortSignal, onPass?: (r: PassReport) => void): Promise<void> {
    let failures = 0;
    this.#looping = true;
    for (;;) {
      if (signal.aborted) this.#draining = true;
      this.#checkBoardFile();
      this.#maybeReload();
      let interval = this.#d.poll_interval;
      try {
        this.#inPass = true;
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
      this.#inPass = false;
      // A failed pass renewed no lease: stop the workers whose leases may soon expire, and
      // arm the timer that wakes the loop (or stops them) by the next cutoff.
      await this.#guardCutoff();
      if (this.#draining && this.#workers.size === 0) break;
      await this.#waitForWake(interval, signal);
    }
    this.#looping = false;
    this.#disarmCutoff();
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

  /**
   * #guardCutoff runs the cutoff service now and arms its timer for the next cutoff. Passes
   * renew every third of a lease, well before a cutoff; see #cutoffDue for when the timer fires.
   * It never needs the board.
   */
  async #guardCutoff(): Promise<void> {
    await this.#cutoff.runOnce(readNow(this.#clock));
    this.#disarmCutoff();
    const next = this.#cutoff.next();
    if (next !== null) this.#armCutoff(next, () => this.#cutoffDue());
  }

  /**
   * #cutoffDue: the timer found a cutoff due. During a pass, that pass is stuck on the board:
   * the cutoff runs at once. Between passes it wakes the loop, whose pass tries to renew first
   * (a healthy board is never cut off by timing); should that pass get stuck on the board too,
   * the cutoff runs all the same, cutoffRenewFirst later.
   */
  #cutoffDue(): void {
    if (this.#inPass) {
      void this.#guardCutoff();
      return;
    }
    this.#wakeUp();
    const at = this.#clock.mono() + this.#cutoff.renewFirst();
    this.#armCutoff(at, () => void this.#guardCutoff());
  }

  /**
   * #workerAdded arms the cutoff timer for a worker just spawned or adopted: the pass that
   * added it, which would arm it when it ends, may be stuck on the board. A worker adopted with
   * its cutoff already past gets that pass's renewal first (cutoffRenewFirst).
   */
  #workerAdded(w: Worker): void {
    if (!this.#looping) return;
    const at = Math.max(cutoffAt(w), this.#clock.mono() + cutoffRenewFirst(w.leaseMs));
    this.#armCutoff(at, () => this.#cutoffDue());
  }

  /** #armCutoff makes the cutoff timer fire by monotonic `at` (one armed earlier stays). */
  #armCutoff(at: number, fire: () => void): void {
    if (this.#cutoffTimer !== null && this.#cutoffTimerAt <= at) return;
    this.#disarmCutoff();
    this.#cutoffTimerAt = at;
    this.#cutoffTimer = setTimeout(() => {
      this.#cutoffTimer = null;
      this.#cutoffTimerAt = Infinity;
      fire();
    }, Math.max(0, Math.ceil(at - this.#clock.mono())));
  }

  #disarmCutoff(): void {
    if (this.#cutoffTimer !== null) clearTimeout(this.#cutoffTimer);
    this.#cutoffTimer = null;
    this.#cutoffTimerAt = Infinity;
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
    this.#kept.queue.forget();
    this.#kept.hold.forget();
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
    this.#workers.detach();
  }

  /** stopWorkers stops every worker (outcome `stopped`: retried at once, not counted). */
  stopWorkers(reason = "dispatcher shutting down"): void {
    this.#workers.stopAll("stopped", reason);
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
