/**
 * The reap service: ends the runs of workers that exited, once their process group (or
 * cgroup) is gone too. A run its worker closed (completed, blocked) only records the exit;
 * one still open failed, and the worker's last words say why, unless the worker left a report
 * it could not deliver (pending.ts): that is delivered now, or the run says why it was not.
 */
import { dismissGuard } from "../guard.ts";
import { type Outcome, StaleLeaseError, type Store } from "../../store/mod.ts";
import { liveness } from "../proc.ts";
import { release } from "../contain.ts";
import { presetOf } from "../profiles.ts";
import { runOutput, tailLines } from "../output.ts";
import { classifyRun } from "../quota.ts";
import { blockForAuth, holdFor, type QuotaGate } from "./quota.ts";
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
      const { usage, lastWords } = runOutput(w.logPath, preset, failed);
      if (!run.open && w.stop?.cutOff) {
        // Stopped while cut off from the board, and the run was ended meanwhile (by another
        // host, or a person): it is no longer this worker's, so nothing is written to it.
        this.#forget(w);
        this.#d.log(
          `run ${w.runId} (${w.taskId}) was ended elsewhere (${run.outcome}); left as is`,
        );
        continue;
      }
      if (!run.open || pending.kind === "delivered") {
        await store.recordExit(w.runId, code, signal, DISPATCHER_ACTOR, usage);
        this.#forget(w);
        const outcome = pending.kind === "delivered"
          ? (pending.report === "complete" ? "completed" : "blocked")
          : run.outcome ?? "?";
        // a profile that works again after a hold: its next hold's backoff starts over
        if (outcome === "completed" && this.#d.quota?.holds.get(w.profile)?.active === false) {
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
        quota = classifyRun(preset, tailLines(w.logPath), code, now.wall) ?? undefined;
        if (quota !== undefined) {
          outcome = "transient";
          error = (await holdFor(store, w, quota, this.#d.host)).error;
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
      if (quota?.kind === "auth") await blockForAuth(store, w.taskId, w.profile);
      report.reaped.push({ run: w.runId, task: w.taskId, outcome, exit_code: code, signal });
      this.#d.log(
        `run ${w.runId} (${w.taskId}) ended: ${outcome}${
          error ? ` (${error})` : ""
        } -> ${r.task.status}`,
      );
    }
    return report;
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
