/**
 * The fill service: claims ready tasks, highest priority first, and spawns their workers
 * within this host's cap (max_workers) and each profile's max_concurrent, which holds across
 * every host dispatching the board (the claim counts every host's open runs), and none for a
 * profile held for its account's limits (services/quota.ts). Nothing is
 * claimed while the dispatcher drains, nor while the machine is under memory or load pressure
 * (pressure.ts: running workers go on; the log says once when holding starts and when it ends).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import type { Profile } from "../../config/config.ts";
import { boardKey, type BoardRef, type Env } from "../../config/paths.ts";
import type { Claim, ClaimOptions, Store } from "../../store/mod.ts";
import { prepareWorkspace } from "../../workspace/workspace.ts";
import { materializeAttachments } from "../../workspace/attachments.ts";
import { runFile, runLogPath } from "../logs.ts";
import { promptOf } from "../prompt.ts";
import { spawnWorker } from "../spawn.ts";
import { launchPlan } from "../launch.ts";
import { memoryControl } from "../contain.ts";
import { judgePressure, type Pressure, type PressureReader, readMachine } from "../pressure.ts";
import {
  type ConfigSource,
  DISPATCHER_ACTOR,
  type Now,
  retryPolicy,
  type Service,
} from "./service.ts";
import type { WorkerTable } from "./workers.ts";
import type { BudgetGate } from "./budgets.ts";
import { heldNow, type QuotaGate } from "./quota.ts";

export interface FillReport {
  spawned: { run: number; task: string; profile: string; pid: number }[];
  spawn_failed: { run: number; task: string; error: string }[];
  /** Profiles at their max_concurrent. */
  capped: { profile: string; running: number; max: number }[];
  /** The machine's pressure this pass: held, new workers wait (running ones go on). */
  pressure: Pressure;
}

export interface FillDeps {
  store: Store;
  config: ConfigSource;
  workers: WorkerTable;
  board: BoardRef;
  host: string;
  /** The kanban binary workers call. */
  kanbanBin: string;
  /** Environment workers inherit (KANBAN_* variables are replaced). */
  env?: Env | undefined;
  /** The dispatcher's worker socket, through which workers reach the board; null: directly. */
  socket?: string | null | undefined;
  /** True while the dispatcher drains (it claims nothing then). */
  draining: () => boolean;
  log: (line: string) => void;
  /** Reads the machine's memory and load (default: /proc); tests inject their own. */
  pressure?: PressureReader | undefined;
  /** What the budget service holds back this pass (services/budgets.ts); none when absent. */
  budgets?: BudgetGate | undefined;
  /** The profiles' holds (services/quota.ts): a held profile's tasks are not claimed. */
  quota?: QuotaGate | undefined;
}

export class FillService implements Service<FillReport> {
  readonly name = "fill";
  readonly #d: FillDeps;
  /** Whether the last pass held new workers for pressure (the log says so on each change). */
  #held = false;
  /** Why a memory_limit cannot be applied here (null: it can), found once; said once. */
  #memoryWhy: string | null | undefined;

  #pressureNow: Pressure | null = null;

  constructor(deps: FillDeps) {
    this.#d = deps;
  }

  /** The machine's pressure as the last pass judged it (null before the first pass). */
  get pressure(): Pressure | null {
    return this.#pressureNow;
  }

  async runOnce(now: Now): Promise<FillReport> {
    const pressure = this.#pressure();
    const report: FillReport = { spawned: [], spawn_failed: [], capped: [], pressure };
    if (this.#d.draining() || pressure.held) return report;
    const { store, workers } = this.#d;
    // Other hosts' open runs, by profile: the caps are the fleet's (the claim counts again).
    const elsewhere = new Map<string, number>();
    for (const r of await store.openRuns()) {
      if (r.host === this.#d.host || r.profile === null || workers.has(r.id)) continue;
      elsewhere.set(r.profile, (elsewhere.get(r.profile) ?? 0) + 1);
    }
    const holds = this.#d.budgets?.holds ?? null;
    for (;;) {
      const config = this.#d.config();
      const free = config.dispatch.max_workers - workers.size;
      const eligible = this.#eligible(report, elsewhere)
        .filter((p) => holds === null || !holds.profiles.has(p))
        .filter((p) => heldNow(this.#d.quota, p, now.wall) === null);
      if (free <= 0 || eligible.length === 0) break;
      const caps = Object.fromEntries(
        Object.entries(config.profiles).map(([name, p]) => [name, p.max_concurrent]),
      );
      const claim = await store.claim(
        {
          assignees: eligible,
          caps,
          ...reviewClaim(config.profiles),
          gates: gateClaim(config.profiles),
          labels: config.dispatch.labels,
          leaseMs: config.dispatch.lease,
          host: this.#d.host,
          ...(holds === null ? {} : {
            notTenants: [...holds.tenants.keys()],
            notTasks: [...holds.tasks.keys()],
          }),
        },
        DISPATCHER_ACTOR,
      );
      if (!claim) break;
      await this.#spawn(claim, config.profiles[claim.task.assignee!]!, report);
    }
    return report;
  }

  /** #pressure reads the machine and logs when holding new workers starts or ends. */
  #pressure(): Pressure {
    const d = this.#d.config().dispatch;
    const p = judgePressure((this.#d.pressure ?? readMachine)(), {
      min_free_memory: d.min_free_memory,
      max_load: d.max_load,
    });
    if (p.held && !this.#held) this.#d.log(`holding new workers: ${p.detail}`);
    if (!p.held && this.#held) this.#d.log("no more pressure: starting new workers again");
    this.#held = p.held;
    this.#pressureNow = p;
    return p;
  }

  /** #memoryMax is the worker's memory.max, when it has one and this host can apply it. */
  #memoryMax(profile: Profile): number | null {
    const limit = profile.memory_limit ?? this.#d.config().dispatch.memory_limit ?? null;
    if (limit === null) return null;
    if (this.#memoryWhy === undefined) {
      this.#memoryWhy = memoryControl(this.#d.workers.containment);
      if (this.#memoryWhy !== null) {
        this.#d.log(`memory_limit not applied to workers: ${this.#memoryWhy}`);
      }
    }
    return this.#memoryWhy === null ? limit : null;
  }

  /**
   * Profiles with room under their max_concurrent, counting this host's workers and the open
   * runs of others (records the full ones in the report).
   */
  #eligible(report: FillReport, elsewhere: ReadonlyMap<string, number>): string[] {
    const running = this.#d.workers.running();
    const out: string[] = [];
    for (const [name, p] of Object.entries(this.#d.config().profiles)) {
      const n = (running.get(name) ?? 0) + (elsewhere.get(name) ?? 0);
      if (n < p.max_concurrent) out.push(name);
      else if (!report.capped.some((c) => c.profile === name)) {
        report.capped.push({ profile: name, running: n, max: p.max_concurrent });
      }
    }
    return out;
  }

  async #spawn(claim: Claim, profile: Profile, report: FillReport): Promise<void> {
    const { store, workers } = this.#d;
    const d = this.#d.config().dispatch;
    const { task, run } = claim;
    const key = boardKey(this.#d.board);
    const logPath = runLogPath(join(d.logs, key), task.id, run.id);
    const worker = workers.make(run, 0, null, null, logPath, claim.token, profile);
    worker.spawning = true;
    let spawned: Awaited<ReturnType<typeof spawnWorker>>;
    let argv0: string;
    let cwd: string;
    try {
      cwd = prepareWorkspace(task.workspace, task.id, {
        root: join(d.workspaces, key),
        repository: d.repository,
      });
      const context = await store.context(task.id);
      const prompt = promptOf(context, profile, cwd);
      // the worker finds its task's files, and its parents', in its workspace, where its
      // prompt says they are
      await materializeAttachments(store, task.id, cwd);
      for (const parent of new Set(context.parent_attachments.map((a) => a.task))) {
        await materializeAttachments(store, parent, cwd);
      }
      const file = (name: string) => runFile(logPath, name);
      const promptFile = file("prompt.md");
      const { argv, env, files, stdin } = launchPlan({
        claim,
        profile,
        prompt,
        runFile: file,
        cwd,
        board: this.#d.board,
        socket: this.#d.socket ?? null,
        bin: this.#d.kanbanBin,
        env: this.#d.env ?? process.env,
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
      // the record of the pid, the next one finds the worker by its run (the adopt service).
      if (!await store.recordLaunch(run.id, { log_path: logPath, workspace: cwd })) {
        this.#d.log(`run ${run.id} (${task.id}) ended before its worker started; not started`);
        return;
      }
      workers.set(worker); // counts against the caps from now on
      spawned = await spawnWorker(argv, {
        cwd,
        env,
        logPath,
        contain: {
          containment: workers.containment,
          runId: run.id,
          memoryMax: this.#memoryMax(profile),
        },
        ...(stdin !== null ? { stdinFile: stdin } : {}),
      });
    } catch (err) {
      workers.delete(run.id);
      const error = (err as Error).message;
      report.spawn_failed.push({ run: run.id, task: task.id, error });
      this.#d.log(`run ${run.id}: spawn failed for ${task.id}: ${error}`);
      await store.endRun(
        run.id,
        { outcome: "spawn_failed", error, policy: retryPolicy(d) },
        DISPATCHER_ACTOR,
      );
      return;
    }
    worker.pid = spawned.pid;
    worker.startTime = spawned.startTime;
    worker.child = spawned.child;
    worker.spawning = false;
    spawned.child.once("exit", (code, signal) => workers.exited(worker, code, signal));
    workers.signalStop(worker); // a stop asked for while it was being spawned
    workers.guard(worker); // before anything else can fail: it stops the worker if we die
    report.spawned.push({ run: run.id, task: task.id, profile: task.assignee!, pid: spawned.pid });
    this.#d.log(`run ${run.id}: started ${argv0} for ${task.id} (pid ${spawned.pid})`);
    try {
      await store.recordSpawn(run.id, {
        pid: spawned.pid,
        pid_start_time: spawned.startTime,
        host: this.#d.host,
        log_path: logPath,
        workspace: cwd,
      }, DISPATCHER_ACTOR);
    } catch (err) {
      // The worker runs and is supervised all the same; a later dispatcher finds it by its run.
      this.#d.log(
        `run ${run.id}: could not record pid ${spawned.pid}: ${(err as Error).message}`,
      );
    }
  }
}

/**
 * reviewClaim is what a claim takes of the profiles' review settings (lib/store/reviews.ts):
 * each profile's reviewer and rounds, and the profiles whose work a person approves last.
 */
export function reviewClaim(
  profiles: Readonly<Record<string, Profile>>,
): Pick<ClaimOptions, "reviewers" | "approvals"> {
  const reviewers: Record<string, { reviewer: string; rounds?: number | undefined }> = {};
  const approvals: string[] = [];
  for (const [name, p] of Object.entries(profiles)) {
    if (p.reviewer !== undefined) {
      reviewers[name] = { reviewer: p.reviewer, rounds: p.review_rounds };
    }
    if (p.require_approval) approvals.push(name);
  }
  return { reviewers, approvals };
}

/**
 * gateClaim is what a claim takes of the profiles' completion gates (lib/store/gates.ts): each
 * profile's gate with its time limit and rounds, copied onto a task that has none.
 */
export function gateClaim(
  profiles: Readonly<Record<string, Profile>>,
): NonNullable<ClaimOptions["gates"]> {
  const gates: Record<string, { argv: string[]; timeoutMs?: number; rounds?: number }> = {};
  for (const [name, p] of Object.entries(profiles)) {
    if (p.gate === undefined) continue;
    gates[name] = {
      argv: p.gate,
      ...(p.gate_timeout !== undefined ? { timeoutMs: p.gate_timeout } : {}),
      ...(p.gate_rounds !== undefined ? { rounds: p.gate_rounds } : {}),
    };
  }
  return gates;
}
