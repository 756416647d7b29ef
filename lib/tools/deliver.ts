/**
 * Delivering a worker's report (`complete`, `block`) through a board that is briefly out of
 * reach: the call is sent again, with capped backoff, for as long as the run's lease may
 * still hold, and the store takes the same report twice as one (lib/store/replay.ts), so a
 * report whose answer was lost is never applied twice. Only failures to reach the board are
 * retried (transientReason, lib/store/transient.ts); a refusal is an answer and is returned
 * at once. From the first failed try the report waits in the run's report file too (removed
 * once it is delivered), so that a worker stopped while it retries (its host cut off, its
 * dispatcher gone: services/cutoff.ts, dispatch/guard.ts) still leaves it for the dispatcher.
 * A report still undelivered when the lease is spent stays there, and the call fails with
 * `undelivered` (the CLI's exit code 3).
 */
import { transientReason, UndeliveredError } from "../store/mod.ts";
import { type PendingReport, removePendingReport, writePendingReport } from "../pending_report.ts";

/** The first pause between two tries; each later one doubles, up to MAX_RETRY_MS. */
export const FIRST_RETRY_MS = 250;
/**
 * The longest pause between two tries: short enough that a board back from a blip is seen
 * within seconds, long enough that a worker waiting out a long outage costs nothing.
 */
export const MAX_RETRY_MS = 5_000;

/** Delivery: what a worker's surface knows to retry its report (lib/worker_env.ts). */
export interface Delivery {
  /**
   * How long to keep trying, from the first try: the run's lease length. The dispatcher
   * renews the lease while this worker lives; once a lease length has passed without the
   * board, the lease may have run out, and the dispatcher (cut off too) stops its worker.
   */
  leaseMs: number;
  /** Where an undelivered report is left for the dispatcher, or null (nowhere). */
  reportFile: string | null;
  /** The run, as the worker knows it. */
  run: number | null;
  /** Monotonic ms: a step of the wall clock neither ends nor stretches the retries. */
  mono: () => number;
  sleep: (ms: number) => Promise<void>;
  /** One short line per failed try (stderr: an agent reading the output sees why it waits). */
  log: (line: string) => void;
}

/** The report being delivered: for the report file, should it not get through. */
export interface Outgoing {
  task: string;
  kind: PendingReport["kind"];
  input: Record<string, unknown>;
}

/**
 * deliver runs `attempt` until it answers (its result, or its refusal), retrying failures to
 * reach the board until `d.leaseMs` has passed since the first try.
 */
export async function deliver<T>(
  report: Outgoing,
  attempt: () => Promise<T>,
  d: Delivery,
): Promise<T> {
  const started = d.mono();
  const what = `${report.kind} of task "${report.task}"`;
  let saved = false;
  for (let n = 1, wait = FIRST_RETRY_MS;; n++, wait = Math.min(2 * wait, MAX_RETRY_MS)) {
    try {
      const answer = await attempt();
      if (saved) removePendingReport(d.reportFile!);
      return answer;
    } catch (err) {
      const why = transientReason(err);
      if (why === null) {
        if (saved) removePendingReport(d.reportFile!);
        throw err;
      }
      const left = started + d.leaseMs - d.mono();
      if (left <= 0) throw undelivered(report, d, n, why);
      if (!saved && d.reportFile !== null) saved = save(report, d, why);
      const pause = Math.min(wait, left);
      d.log(`kanban: ${what} not delivered (try ${n}: ${why}); trying again in ${pause} ms`);
      await d.sleep(pause);
    }
  }
}

/** save writes the report to the run's report file; false (and a line) if it cannot. */
function save(report: Outgoing, d: Delivery, why: string): boolean {
  try {
    writePendingReport(d.reportFile!, pendingOf(report, d, why));
    return true;
  } catch (err) {
    d.log(`kanban: could not keep the report in ${d.reportFile}: ${(err as Error).message}`);
    return false;
  }
}

function pendingOf(report: Outgoing, d: Delivery, why: string): PendingReport {
  return {
    version: 1,
    task: report.task,
    run: d.run,
    kind: report.kind,
    input: report.input,
    error: why,
    at: new Date().toISOString(),
  };
}

/** undelivered leaves the report for the dispatcher and says so. */
function undelivered(report: Outgoing, d: Delivery, tries: number, why: string): Error {
  const head = `Could not deliver the ${report.kind} of task "${report.task}" within its ` +
    `lease (${Math.round(d.leaseMs / 1000)} s, ${tries} tries): ${why}`;
  if (d.reportFile === null) {
    return new UndeliveredError(`${head}; nothing was saved (KANBAN_REPORT_FILE is not set)`);
  }
  try {
    writePendingReport(d.reportFile, pendingOf(report, d, why));
  } catch (err) {
    return new UndeliveredError(
      `${head}; saving it to ${d.reportFile} failed too: ${(err as Error).message}`,
    );
  }
  return new UndeliveredError(
    `${head}; saved to ${d.reportFile}: the dispatcher delivers it when this worker exits, ` +
      "so stop working now",
  );
}
