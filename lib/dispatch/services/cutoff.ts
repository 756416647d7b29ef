/**
 * The cutoff service: a host that cannot renew its workers' leases stops those workers before
 * the leases can expire, so that another host (or this one's next dispatcher) can never start
 * a second worker on a task while the first still runs. It looks only at this process's own
 * monotonic clock and its record of the last renewal the board acknowledged, never at the
 * board (which is what cannot be reached), and so it runs after every pass, failed or not, and
 * on a timer of its own set to the next deadline (a pass may be stuck waiting for the board).
 *
 * A worker whose lease went unrenewed for `lease - margin` is stopped: SIGTERM, and SIGKILL
 * after a grace that ends, at the latest, half a margin before the lease can expire, or a
 * quarter when the stop first waited for a pass to renew (see cutoffMargin, cutoffGrace and
 * cutoffRenewFirst). Its run is ended later, by the reap service, once the board
 * is back: as `lost` if the run is still this worker's, and not touched at all if another
 * host ended or re-assigned it meanwhile.
 */
import type { ConfigSource, Now, Service } from "./service.ts";
import type { Stopping, Worker, WorkerTable } from "./workers.ts";

/**
 * The least time kept between the stop and the lease's expiry: room for SIGTERM, a grace and
 * SIGKILL, and for a pass that was late to notice (a busy board holds a pass for its busy
 * timeout), on even the shortest lease.
 */
export const CUTOFF_MIN_MARGIN_MS = 2_000;

/**
 * The share of the lease kept as margin on longer leases: the renewal schedule (every third
 * of a lease) never comes near it, and it grows with the lease because so do the pauses a
 * long-leased fleet tolerates (a 120 s lease keeps 24 s: a 10 s busy wait and a 10 s grace).
 */
export const CUTOFF_MARGIN_SHARE = 0.2;

/**
 * cutoffMargin is how long before a lease's expiry its worker is stopped: the larger of
 * CUTOFF_MIN_MARGIN_MS and CUTOFF_MARGIN_SHARE of the lease, but never more than half the
 * lease (a very short lease, in tests, keeps half of itself for the worker; renewals come
 * every third of a lease, so a healthy run is never stopped).
 */
export function cutoffMargin(leaseMs: number): number {
  return Math.min(Math.max(CUTOFF_MIN_MARGIN_MS, leaseMs * CUTOFF_MARGIN_SHARE), leaseMs / 2);
}

/**
 * cutoffGrace is the SIGTERM-to-SIGKILL grace of a cutoff stop: stop_grace, but at most half
 * the margin, so that SIGKILL is sent at least half a margin before the lease can expire (a
 * quarter after waiting for a renewal, cutoffRenewFirst; the rest absorbs a late check and the
 * kill itself).
 */
export function cutoffGrace(leaseMs: number, stopGraceMs: number): number {
  return Math.min(stopGraceMs, cutoffMargin(leaseMs) / 2);
}

/**
 * cutoffRenewFirst is how long a due cutoff may wait for a pass to renew the lease first (the
 * dispatcher's timer found it due between passes, or a worker was adopted with its cutoff
 * already past): a quarter of the margin. With the grace (at most half the margin), SIGKILL
 * still comes at least a quarter of the margin before the lease can expire.
 */
export function cutoffRenewFirst(leaseMs: number): number {
  return cutoffMargin(leaseMs) / 4;
}

/** cutoffAt is the monotonic ms at which `w` is stopped unless its lease is renewed first. */
export function cutoffAt(w: Worker): number {
  return w.renewedAt + w.leaseMs - cutoffMargin(w.leaseMs);
}

export interface CutoffReport {
  stopping: Stopping[];
}

export interface CutoffDeps {
  config: ConfigSource;
  workers: WorkerTable;
  log: (line: string) => void;
}

export class CutoffService implements Service<CutoffReport> {
  readonly name = "cutoff";
  readonly #d: CutoffDeps;

  constructor(deps: CutoffDeps) {
    this.#d = deps;
  }

  runOnce(now: Now): Promise<CutoffReport> {
    const report: CutoffReport = { stopping: [] };
    const grace = this.#d.config().dispatch.stop_grace;
    for (const w of this.#d.workers.all()) {
      // A gate runs only while its run's lease holds: cut off, it is stopped like a worker
      // (its run then ends as lost, once the board is back, if no one else ended it).
      if (w.gate !== null && w.gate.result === null && now.mono >= cutoffAt(w)) {
        this.#d.workers.stopGate(
          w,
          "lost",
          "lease could not be renewed: cut off from the board",
          report.stopping,
        );
        continue;
      }
      // A worker that exited is not done with until its group is stopped (the reap service
      // does that, on the board): what it started may still run, a report it sent, say.
      if (w.stop || now.mono < cutoffAt(w)) continue;
      const since = Math.round((now.mono - w.renewedAt) / 1000);
      const reason =
        `lease could not be renewed: cut off from the board (no renewal for ${since} s ` +
        `of a ${Math.round(w.leaseMs / 1000)} s lease)`;
      const what = w.exit === null ? "its worker" : "what its exited worker left running";
      this.#d.log(
        `run ${w.runId} (${w.taskId}): ${reason}; stopping ${what} before the lease can expire`,
      );
      // an exited worker's run ends as the worker did, when it is reaped (no outcome here)
      this.#d.workers.startStop(w, w.exit === null ? "lost" : null, reason, report.stopping, {
        graceMs: cutoffGrace(w.leaseMs, grace),
        cutOff: true,
      });
    }
    return Promise.resolve(report);
  }

  /** renewFirst is the shortest cutoffRenewFirst among the workers not yet stopped (0: none). */
  renewFirst(): number {
    let ms: number | null = null;
    for (const w of this.#d.workers.all()) {
      if (!leased(w)) continue;
      const t = cutoffRenewFirst(w.leaseMs);
      if (ms === null || t < ms) ms = t;
    }
    return ms ?? 0;
  }

  /** next is the monotonic ms of the next cutoff among the workers not yet stopped, or null. */
  next(): number | null {
    let at: number | null = null;
    for (const w of this.#d.workers.all()) {
      if (!leased(w)) continue;
      const t = cutoffAt(w);
      if (at === null || t < at) at = t;
    }
    return at;
  }
}

/** leased: `w` still needs its lease (not being stopped, or its completion gate runs). */
function leased(w: Worker): boolean {
  return !w.stop || (w.gate !== null && w.gate.result === null && w.gate.stopped === null);
}
