/**
 * The liveness service: watches the progress of every supervised worker (its log grows, its
 * run's heartbeat moves), renews the leases of those alive and making progress, and stops the
 * stalled (no progress for stall_timeout), the over-time (past max_runtime) and those whose run
 * was closed while the process still runs. While a run's completion gate runs (reap.ts), it
 * renews that run's lease, and stops the gate if the run was ended meanwhile. Every duration is
 * on the monotonic clock.
 */
import type { Run, Store } from "../../store/mod.ts";
import { logSize, rotateLog } from "../logs.ts";
import type { ConfigSource, Now, Service } from "./service.ts";
import type { Stopping, Worker, WorkerTable } from "./workers.ts";

export interface LivenessReport {
  stopping: Stopping[];
}

export interface LivenessDeps {
  store: Store;
  config: ConfigSource;
  workers: WorkerTable;
}

export class LivenessService implements Service<LivenessReport> {
  readonly name = "liveness";
  readonly #d: LivenessDeps;

  constructor(deps: LivenessDeps) {
    this.#d = deps;
  }

  async runOnce(now: Now): Promise<LivenessReport> {
    const { store, workers } = this.#d;
    const d = this.#d.config().dispatch;
    const report: LivenessReport = { stopping: [] };
    const open = new Map((await store.openRuns()).map((r) => [r.id, r]));
    for (const w of workers.all()) {
      if (w.gate !== null) {
        if (w.gate.result !== null) continue; // ended: the reap service reports it
        const run = open.get(w.runId);
        if (!run) {
          // a person moved the task, or another host ended the run: the gate is moot
          workers.stopGate(w, null, "its run ended while the gate ran", report.stopping);
        } else {
          if (this.#renewDue(run, w, now)) {
            await store.renewRun(w.runId);
            w.renewedAt = now.mono;
          }
          // the gate's guard follows the renewal, as a worker's does
          workers.guardGate(w);
        }
        continue;
      }
      if (w.exit !== null || w.stop) continue;
      const run = open.get(w.runId);
      if (!run) {
        // The run was closed (the worker reported, or a person cancelled it) while the
        // process still runs: a worker that reported gets exit_grace to exit by itself.
        w.closedSeenAt ??= now.mono;
        const closed = await store.getRun(w.runId);
        const reported = closed.outcome === "completed" || closed.outcome === "blocked";
        if (!reported || now.mono - w.closedSeenAt >= d.exit_grace) {
          workers.startStop(w, null, `run ${closed.outcome}; stopping the worker`, report.stopping);
        }
        continue;
      }
      if (w.logPath !== null) {
        rotateLog(w.logPath, d.log_max_bytes);
        const size = logSize(w.logPath);
        if (size !== w.logBytes) {
          w.logBytes = size;
          w.lastProgressAt = now.mono;
        }
      }
      if (run.heartbeat_at !== w.heartbeatAt) {
        w.heartbeatAt = run.heartbeat_at;
        w.lastProgressAt = now.mono;
      }
      // It completed and its gate waits for it to exit (reap.ts): as a worker that reported, it
      // gets exit_grace (no stall or time limit judges it now), then is stopped with no outcome
      // and its gate runs all the same.
      const held = run.gate_pending;
      if (held) w.closedSeenAt ??= now.mono;
      if (held && now.mono - w.closedSeenAt! >= d.exit_grace) {
        const reason = "completed; stopping the worker so that its gate can run";
        workers.startStop(w, null, reason, report.stopping);
      } else if (!held && now.mono - w.startedAt > w.maxRuntimeMs) {
        const reason = `ran longer than ${w.maxRuntimeMs / 1000}s`;
        workers.startStop(w, "timed_out", reason, report.stopping);
      } else if (!held && now.mono - w.lastProgressAt > w.stallMs) {
        const reason = `no output and no heartbeat for ${w.stallMs / 1000}s`;
        workers.startStop(w, "stalled", reason, report.stopping);
      } else {
        if (this.#renewDue(run, w, now)) {
          await store.renewRun(w.runId);
          w.renewedAt = now.mono;
        }
        // its guard's deadline follows the renewal (and an adopted worker gets a guard)
        workers.guard(w);
      }
    }
    return report;
  }

  /**
   * #renewDue: renewed on our own clock's schedule, and at once when the board's wall-clock
   * lease runs short (after a step of the wall clock, say).
   */
  #renewDue(run: Run, w: Worker, now: Now): boolean {
    const d = this.#d.config().dispatch;
    const left = run.lease_expires === null ? 0 : Date.parse(run.lease_expires) - now.wall;
    return left < d.lease / 2 || now.mono - w.renewedAt >= d.lease / 3;
  }
}
