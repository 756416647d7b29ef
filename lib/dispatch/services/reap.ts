/**
 * The reap service: ends the runs of workers that exited, once their process group (or
 * cgroup) is gone too. A run its worker closed (completed, blocked) only records the exit;
 * one still open failed, and the worker's last words say why, unless the worker left a report
 * it could not deliver (pending.ts): that is delivered now, or the run says why it was not.
 * A run whose worker completed a task with a completion gate (docs/gates.md) stays open when
 * its worker exits: the gate starts here, beside the passes, and a later pass reports its
 * result to the board (the held report delivered, or the task sent back).
 */
import { dismissGuard } from "../guard.ts";
import {
  authBlockReason,
  GATE_TIMEOUT_DEFAULT_MS,
  type Outcome,
  type Run,
  StaleLeaseError,
  type Store,
} from "../../store/mod.ts";
import type { BoardRef, Env } from "../../config/paths.ts";
import { fillGate } from "../gate.ts";
import { gateEnv } from "../launch.ts";
import { liveness } from "../proc.ts";
import { release } from "../contain.ts";
import { presetOf } from "../profiles.ts";
import { runOutput } from "../output.ts";
import { classifyRun } from "../quota.ts";
import { heldNow, holdFor, type QuotaGate } from "./quota.ts";
import { settlePending } from "../pending.ts";
import {
  type ConfigSource,
  DISPATCHER_ACTOR,
  type Now,
  retryPolicy,
  type Service,
} from "./service.ts";
import type { Stopping, Worker, WorkerTable } from "./workers.ts";

export interface ReapReport {
  reaped: {
    run: number;
    task: string;
    outcome: string;
    exit_code: number | null;
    signal: string | null;
  }[];
  /** Stops started for what an exited worker left behind in its group. */
  stopping: Stopping[];
}

export interface ReapDeps {
  store: Store;
  config: ConfigSource;
  workers: WorkerTable;
  host: string;
  log: (line: string) => void;
  /** The profiles' holds as the quota service last read them (services/quota.ts). */
  quota?: QuotaGate | undefined;
  /** What a gate's placeholders and environment are filled from (docs/gates.md). */
  gates?: GateDeps;
}

/** Where the gates this dispatcher runs get `{board}`, `{kanban}` and their environment. */
export interface GateDeps {
  board: BoardRef;
  /** The dispatcher's worker socket, which stands for the board where workers get one. */
  socket: string | null;
  kanbanBin: string;
  env?: Env | undefined;
}

export class ReapService implements Service<ReapReport> {
  readonly name = "reap";
  readonly #d: ReapDeps;

  constructor(deps: ReapDeps) {
    this.#d = deps;
  }

  async runOnce(now: Now): Promise<ReapReport> {
    const { store, workers } = this.#d;
    const report: ReapReport = { reaped: [], stopping: [] };
    for (const w of workers.all()) {
      if (w.gate !== null) {
        if (w.gate.result !== null) await this.#settleGate(w, report);
        continue; // still running: the liveness service renews its run's lease meanwhile
      }
      if (w.child === null && w.exit === null && liveness(w.pid, w.startTime) !== "alive") {
        w.exit = { code: null, signal: null }; // adopted: we cannot know its exit status
      }
      if (w.exit === null) continue;
      if (w.stop && w.stop.result === null) continue; // still stopping
      if (!w.stop) {
        // The worker exited; anything it left in its group goes too.
        workers.startStop(w, null, "worker exited; stopping what it left behind", report.stopping);
        if (w.stop!.result === null) continue;
      }
      const config = this.#d.config();
      const run = await store.getRun(w.runId);
      const { code, signal } = w.exit;
      const preset = presetOf(config.profiles[w.profile]);
      // A report the worker could not deliver: delivered now while the lease holds, else the
      // run ends saying so (pending.ts). A board still out of reach fails the pass before
      // the worker leaves the table, so the next pass tries again.
      const pending = run.open
        ? await settlePending(run, {
          store,
          actor: { name: w.profile || "worker", token: w.token },
          wallNow: now.wall,
        })
        : { kind: "none" as const };
      // a run still open ended without a report: it failed, and its last words say why
      const failed = run.open && pending.kind !== "delivered" && !w.stop?.outcome;
      const { usage, lastWords, tail } = runOutput(w.logPath, preset, failed);
      if (!run.open && w.stop?.cutOff) {
        // Stopped while cut off from the board, and the run was ended meanwhile (by another
        // host, or a person): it is no longer this worker's, so nothing is written to it.
        this.#forget(w);
        this.#d.log(
          `run ${w.runId} (${w.taskId}) was ended elsewhere (${run.outcome}); left as is`,
        );
        continue;
      }
      // a completion held for the task's gate (delivered by the worker, or just now): the run
      // stays open and the gate runs
      const held = run.gate_pending
        ? run
        : pending.kind === "delivered"
        ? await store.getRun(w.runId)
        : null;
      if (held?.open && held.gate_pending && !w.stop?.outcome && !w.stop?.cutOff) {
        if (pending.kind === "delivered") {
          this.#d.log(`run ${w.runId} (${w.taskId}): delivered the report its worker could not`);
        }
        await store.recordExit(w.runId, code, signal, DISPATCHER_ACTOR, usage);
        await this.#startGate(w, held);
        continue;
      }
      if (!run.open || pending.kind === "delivered") {
        await store.recordExit(w.runId, code, signal, DISPATCHER_ACTOR, usage);
        this.#forget(w);
        const outcome = pending.kind === "delivered"
          ? (pending.report === "complete" ? "completed" : "blocked")
          : run.outcome ?? "?";
        // a profile that works again after a hold: its next hold's backoff starts over
        const quota = this.#d.quota;
        if (
          outcome === "completed" && quota?.holds.has(w.profile) &&
          heldNow(quota, w.profile, now.wall) === null
        ) {
          await store.clearHold(w.profile, DISPATCHER_ACTOR);
        }
        if (pending.kind === "delivered") {
          this.#d.log(`run ${w.runId} (${w.taskId}): delivered the report its worker could not`);
        }
        report.reaped.push({ run: w.runId, task: w.taskId, outcome, exit_code: code, signal });
        continue;
      }
      let [outcome, reason] = pending.kind === "undelivered"
        ? ["no_report" as const, pending.error]
        : classify(w, config.dispatch.transient_exit_code);
      // a crash or an exit without a report says why, in the CLI's own last words
      let error = lastWords === null || pending.kind === "undelivered"
        ? reason
        : `${reason}: ${lastWords}`;
      // a CLI that exited on a rate limit, an exhausted quota or a failed sign-in: its
      // profile is held, and the run is not the task's failure
      let quota = w.quota;
      if (outcome === "crashed" && quota === undefined) {
        quota = classifyRun(preset, tail ?? [], code, now.wall) ?? undefined;
        if (quota !== undefined) {
          outcome = "transient";
          error = (await holdFor(store, w, quota, this.#d.host, this.#d.quota)).error;
        }
      }
      let r;
      try {
        r = await store.endRun(
          w.runId,
          {
            outcome,
            error,
            exit_code: code,
            signal,
            policy: retryPolicy(config.dispatch),
            usage,
            block: quota?.kind === "auth" ? authBlockReason(w.profile) : undefined,
          },
          DISPATCHER_ACTOR,
        );
      } catch (err) {
        // Ended since it was read (the fence of endRun): by its worker, a person or another
        // host. Nothing more to write; the next pass would only find it closed.
        if (!(err instanceof StaleLeaseError)) throw err;
        this.#forget(w);
        continue;
      }
      this.#forget(w);
      report.reaped.push({ run: w.runId, task: w.taskId, outcome, exit_code: code, signal });
      this.#d.log(
        `run ${w.runId} (${w.taskId}) ended: ${outcome}${
          error ? ` (${error})` : ""
        } -> ${r.task.status}`,
      );
    }
    return report;
  }

  /** #startGate starts the task's gate in its workspace, its placeholders filled. */
  async #startGate(w: Worker, run: Run): Promise<void> {
    const task = await this.#d.store.getTask(w.taskId);
    if (task.gate === null || task.gate.argv.length === 0) {
      // a person removed the gate since the report was held: nothing to run, it passes
      const output = "the task has no gate any more (a person removed it): nothing ran";
      this.#d.log(`run ${w.runId} (${w.taskId}): completed; ${output}`);
      w.gate = {
        abort: new AbortController(),
        result: { passed: true, exit_code: null, output, duration_ms: 0, timed_out: false },
        stopped: null,
        pid: null,
        guard: null,
      };
      return;
    }
    // the run records where its worker ran (recordSpawn); a run that could not: here
    const workspace = run.workspace ?? process.cwd();
    const g = this.#d.gates;
    const board = g === undefined ? "" : g.socket ?? g.board.path;
    const profile = this.#d.config().profiles[w.profile];
    const argv = fillGate(task.gate.argv, {
      task: task.id,
      workspace,
      profile: w.profile,
      board,
      kanban: g?.kanbanBin ?? "kanban",
    });
    const env = gateEnv({
      env: g?.env ?? process.env,
      board: g?.board ?? { name: "", path: "" },
      socket: g?.socket ?? null,
      profileEnv: profile?.env ?? {},
      task: task.id,
      workspace,
      profile: w.profile,
    });
    this.#d.log(`run ${w.runId} (${w.taskId}): completed; running its gate: ${argv.join(" ")}`);
    this.#d.workers.startGate(w, {
      argv,
      cwd: workspace,
      env,
      timeoutMs: task.gate.timeout_ms ?? GATE_TIMEOUT_DEFAULT_MS,
    });
  }

  /**
   * #settleGate reports a gate that ended: to the board with the run's own token (passed: the
   * held report delivered; failed: the task sent back), or, for a gate stopped on shutdown or
   * cut off from the board, the run ends as its stop says.
   */
  async #settleGate(w: Worker, report: ReapReport): Promise<void> {
    const { store } = this.#d;
    const job = w.gate!;
    const result = job.result!;
    try {
      if (job.stopped !== null) {
        if (job.stopped.outcome !== null) {
          await store.endRun(w.runId, {
            outcome: job.stopped.outcome,
            error: `its completion gate was stopped: ${job.stopped.reason}`,
            policy: retryPolicy(this.#d.config().dispatch),
          }, DISPATCHER_ACTOR);
        }
        this.#forget(w);
        report.reaped.push({
          run: w.runId,
          task: w.taskId,
          outcome: job.stopped.outcome ?? "ended elsewhere",
          exit_code: null,
          signal: null,
        });
        return;
      }
      const settled = await store.settleGate(w.taskId, result, {
        name: w.profile || "worker",
        token: w.token ?? await store.runToken(w.runId) ?? "",
      });
      this.#forget(w);
      const outcome = settled.verdict === "passed" ? "gate_passed" : "gate_failed";
      report.reaped.push({ run: w.runId, task: w.taskId, outcome, exit_code: null, signal: null });
      this.#d.log(
        `run ${w.runId} (${w.taskId}): completion gate ${settled.verdict} (round ${settled.round} ` +
          `of ${settled.rounds}, exit code ${
            result.exit_code ?? "none"
          }, ${result.duration_ms} ms) -> ${settled.task.status}`,
      );
    } catch (err) {
      // Ended since the gate started (a person moved the task, its lease was lost): nothing
      // more to write. Anything else (the board out of reach) fails the pass; the next tries.
      if (!(err instanceof StaleLeaseError)) throw err;
      this.#forget(w);
      this.#d.log(`run ${w.runId} (${w.taskId}) ended while its gate ran; its result dropped`);
    }
  }

  /** #forget drops a reaped worker from the table, and its cgroup (empty now). */
  #forget(w: Worker): void {
    this.#d.workers.delete(w.runId);
    release(this.#d.workers.containment, w.runId);
    // its guard exits at its next look (an exited worker the dispatcher did not start may
    // linger as a zombie, which keeps its process group, and so the guard, alive)
    if (w.logPath !== null) dismissGuard(w.logPath);
  }
}

/** classify says how an exited worker's still-open run ended, and why. */
export function classify(w: Worker, transientExitCode: number): [Outcome, string | null] {
  if (w.stop?.outcome) return [w.stop.outcome, w.stop.reason];
  const { code, signal } = w.exit!;
  if (w.child === null) {
    return ["crashed", "the worker exited while no dispatcher watched it; exit status unknown"];
  }
  if (signal) return ["crashed", `killed by ${signal}`];
  if (code === transientExitCode) return ["transient", `exit code ${code}: retry later`];
  if (code === 0) return ["no_report", "exited 0 without complete or block"];
  return ["crashed", `exit code ${code}`];
}
