/**
 * The reap service: ends the runs of workers that exited, once their process group (or
 * cgroup) is gone too. A run its worker closed (completed, blocked) only records the exit;
 * one still open failed, and the worker's last words say why.
 */
import type { Outcome, Store } from "../../store/mod.ts";
import { liveness } from "../proc.ts";
import { release } from "../contain.ts";
import { presetOf } from "../profiles.ts";
import { runOutput } from "../output.ts";
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
  log: (line: string) => void;
}

export class ReapService implements Service<ReapReport> {
  readonly name = "reap";
  readonly #d: ReapDeps;

  constructor(deps: ReapDeps) {
    this.#d = deps;
  }

  async runOnce(_now: Now): Promise<ReapReport> {
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
      workers.delete(w.runId);
      release(workers.containment, w.runId); // its cgroup, empty now
      const config = this.#d.config();
      const run = await store.getRun(w.runId);
      const { code, signal } = w.exit;
      const preset = presetOf(config.profiles[w.profile]);
      // a run still open ended without a report: it failed, and its last words say why
      const failed = run.open && !w.stop?.outcome;
      const { usage, lastWords } = runOutput(w.logPath, preset, failed);
      if (!run.open) {
        await store.recordExit(w.runId, code, signal, DISPATCHER_ACTOR, usage);
        report.reaped.push({
          run: w.runId,
          task: w.taskId,
          outcome: run.outcome ?? "?",
          exit_code: code,
          signal,
        });
        continue;
      }
      const [outcome, reason] = classify(w, config.dispatch.transient_exit_code);
      // a crash or an exit without a report says why, in the CLI's own last words
      const error = lastWords === null ? reason : `${reason}: ${lastWords}`;
      const r = await store.endRun(
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
      report.reaped.push({ run: w.runId, task: w.taskId, outcome, exit_code: code, signal });
      this.#d.log(
        `run ${w.runId} (${w.taskId}) ended: ${outcome}${
          error ? ` (${error})` : ""
        } -> ${r.task.status}`,
      );
    }
    return report;
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
