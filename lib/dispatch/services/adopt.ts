/**
 * The adopt service: after a restart, adopts live workers of this host that this dispatcher
 * does not know, and ends runs whose process is gone. A worker is found by its recorded pid,
 * or, when the pid was never recorded (the previous dispatcher died between the spawn and the
 * record) or the recorded process is gone, by its run: its cgroup and the lease token in its
 * environment. A found worker is adopted; what is left of one whose leader is gone is stopped
 * before the run ends, so the task is never claimed again while anything of the run still runs.
 * A run of another host is ended as lost once its lease expired.
 */
import { tailLines } from "../output.ts";
import { presetOf } from "../profiles.ts";
import { classifyRun } from "../quota.ts";
import { holdFor } from "./quota.ts";
import { authBlockReason, type Outcome, type Run, type Store } from "../../store/mod.ts";
import { liveness, readStat } from "../proc.ts";
import { runProcesses } from "../contain.ts";
import { guardStopped } from "../guard.ts";
import { settlePending } from "../pending.ts";
import {
  type ConfigSource,
  DISPATCHER_ACTOR,
  type Now,
  retryPolicy,
  type Service,
} from "./service.ts";
import type { Stopping, WorkerTable } from "./workers.ts";

export interface AdoptReport {
  adopted: { run: number; task: string; pid: number }[];
  ended: { run: number; task: string; outcome: string; reason: string }[];
  stopping: Stopping[];
}

export interface AdoptDeps {
  store: Store;
  config: ConfigSource;
  workers: WorkerTable;
  host: string;
  log: (line: string) => void;
}

export class AdoptService implements Service<AdoptReport> {
  readonly name = "adopt";
  readonly #d: AdoptDeps;

  constructor(deps: AdoptDeps) {
    this.#d = deps;
  }

  async runOnce(now: Now): Promise<AdoptReport> {
    const { store, workers, host } = this.#d;
    const report: AdoptReport = { adopted: [], ended: [], stopping: [] };
    for (const run of await store.openRuns()) {
      if (workers.has(run.id)) continue;
      const expired = run.lease_expires !== null && Date.parse(run.lease_expires) < now.wall;
      if (run.host !== host) {
        if (expired) {
          await this.#end(run, "lost", "lease expired and no worker process is known", report);
        }
        continue;
      }
      const token = await store.runToken(run.id);
      if (run.pid !== null && liveness(run.pid, run.pid_start_time) === "alive") {
        this.#take(run, run.pid, run.pid_start_time, token, report, "");
        continue;
      }
      const found = runProcesses(workers.containment, run.id, token);
      if (run.pid === null) {
        // the worker leads its group and is the run's first process (a setsid daemon it
        // started leads a group too, but started later)
        const leader = found.filter((p) => readStat(p.pid)?.pgrp === p.pid)
          .sort((a, b) => a.startTime - b.startTime)[0];
        if (leader) {
          await store.recordSpawn(run.id, {
            pid: leader.pid,
            pid_start_time: leader.startTime,
            host,
            log_path: run.log_path ?? "",
            workspace: run.workspace ?? "",
          }, DISPATCHER_ACTOR);
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
        const w = workers.make(run, 0, null, null, run.log_path, token);
        workers.set(w);
        workers.startStop(
          w,
          "crashed",
          `its worker process is gone; stopping ${found.length} process(es) it left`,
          report.stopping,
        );
        continue;
      }
      if (run.pid !== null) {
        await this.#gone(run, token, expired, now, report);
      } else if (expired) {
        await this.#end(run, "lost", "lease expired and no worker process is known", report);
      }
    }
    return report;
  }

  /**
   * #gone ends a run of this host whose worker went while no dispatcher watched it. A report
   * the worker could not deliver meanwhile (its dispatcher's socket went with the dispatcher)
   * is delivered now while the lease holds, as the reap service does, or ends the run as
   * `no_report`; a worker stopped by its lease guard (guard.ts) ends as `lost`, saying so.
   */
  async #gone(
    run: Run,
    token: string | null,
    expired: boolean,
    now: Now,
    report: AdoptReport,
  ): Promise<void> {
    const pending = await settlePending(run, {
      store: this.#d.store,
      actor: { name: run.profile ?? "worker", token },
      wallNow: now.wall,
    });
    if (pending.kind === "delivered") {
      const outcome = pending.report === "complete" ? "completed" : "blocked";
      const reason = "delivered the report its worker could not";
      report.ended.push({ run: run.id, task: run.task_id, outcome, reason });
      this.#d.log(`run ${run.id} (${run.task_id}): ${reason}`);
      return;
    }
    const guard = run.log_path !== null && guardStopped(run.log_path)
      ? "its dispatcher was gone and the lease could not be renewed: the run's lease guard " +
        `stopped ${run.gate_pending ? "its completion gate" : "the worker"} before the lease ` +
        "could expire"
      : null;
    if (pending.kind === "undelivered") {
      await this.#end(
        run,
        "no_report",
        guard ? `${pending.error} (${guard})` : pending.error,
        report,
      );
    } else if (guard !== null) {
      await this.#end(run, "lost", guard, report);
    } else {
      // a CLI that exited on a rate limit, a quota or a failed sign-in while no dispatcher
      // watched: its profile is held, and the run is not the task's failure (as in reap)
      const profile = run.profile;
      const found = profile === null ? null : classifyRun(
        presetOf(this.#d.config().profiles[profile]),
        tailLines(run.log_path),
        null,
        now.wall,
      );
      if (found !== null && profile !== null) {
        const w = { profile, taskId: run.task_id, runId: run.id };
        const { error } = await holdFor(this.#d.store, w, found, this.#d.host);
        const block = found.kind === "auth" ? authBlockReason(profile) : undefined;
        await this.#end(run, "transient", error, report, block);
        return;
      }
      const state = liveness(run.pid!, run.pid_start_time);
      await this.#end(
        run,
        expired ? "lost" : "crashed",
        `worker process ${run.pid} is ${state}`,
        report,
      );
    }
  }

  #take(
    run: Run,
    pid: number,
    startTime: number | null,
    token: string | null,
    report: AdoptReport,
    how: string,
  ): void {
    this.#d.workers.set(this.#d.workers.make(run, pid, startTime, null, run.log_path, token));
    report.adopted.push({ run: run.id, task: run.task_id, pid });
    this.#d.log(`adopted run ${run.id} (${run.task_id}), pid ${pid}${how}`);
  }

  async #end(
    run: Run,
    outcome: Outcome,
    reason: string,
    report: AdoptReport,
    block?: string,
  ): Promise<void> {
    try {
      await this.#d.store.endRun(
        run.id,
        { outcome, error: reason, policy: retryPolicy(this.#d.config().dispatch), block },
        DISPATCHER_ACTOR,
      );
      report.ended.push({ run: run.id, task: run.task_id, outcome, reason });
      this.#d.log(`run ${run.id} (${run.task_id}) ended: ${outcome} (${reason})`);
    } catch (err) {
      this.#d.log(`could not end run ${run.id}: ${(err as Error).message}`);
    }
  }
}
