/**
 * Replayed reports. A worker whose `complete` or `block` met a broken connection cannot tell
 * whether the board committed it before the connection broke, so it sends the same report
 * again until it hears back. The second delivery of a report that already ended its run must
 * then succeed and change nothing, while any other write with that token stays refused.
 *
 * "The same report" is judged against the event that ended the run, which holds the report as
 * it was given (the `completed` event: summary, metadata, result; the `blocked` event: the
 * reason): same token (so the same run), an outcome that is that report's, and the same fields.
 * Usage is left out: it is accounting attached to the report, which the dispatcher may replace
 * with what it read from the CLI's output. No column is needed, so every driver has it as is.
 */
import type { RunRow, TaskRow } from "./_rows.ts";
import { EVENT_KIND, type Kernel } from "./_kernel.ts";

/**
 * How many of a task's newest events are searched for the report's event. A retry comes within
 * one lease of the report, and a task gathers few events in that time; a replay that finds no
 * event within this window is treated as a different report (refused, never applied twice).
 */
export const REPLAY_WINDOW = 500;

/**
 * The report a replay is compared with: a completion's (or a review request's) handoff, or a
 * block's or a review verdict's reason.
 */
export type Report =
  | {
    kind: "complete" | "request_review";
    summary?: unknown;
    metadata?: unknown;
    result?: unknown;
  }
  | { kind: "block"; reason: string }
  | { kind: "approve_review" | "request_changes"; reason: string | undefined };

/**
 * replayed tells whether the report of the worker whose token's run is `run` (read with
 * tokenRun, in the same transaction) already ended that run on `task` (true: the caller
 * returns the task as it is and writes nothing). False for a person (no token: null), for a
 * run still open, or for a run that ended any other way or with another report. Only a run
 * that ended reads the task's events.
 */
export async function replayed(
  k: Kernel,
  task: TaskRow,
  run: RunRow | null | undefined,
  report: Report,
): Promise<boolean> {
  if (!run || run.task_id !== task.id || run.ended_at === null) return false;
  // a transient block ends its run as `transient`, any other block as `blocked`
  const outcomes = report.kind === "block" ? ["blocked", "transient"] : ["completed"];
  if (run.outcome === null || !outcomes.includes(run.outcome)) return false;
  const kind = EVENT_KIND[report.kind];
  const events = await k.q.eventsOf(task.id, REPLAY_WINDOW);
  const ended = events.findLast((e) => e.run_id === run.id && e.kind === kind);
  if (ended === undefined) return false;
  const data = JSON.parse(ended.data) as Record<string, unknown>;
  if (report.kind === "block") return data["reason"] === report.reason;
  if (report.kind === "approve_review" || report.kind === "request_changes") {
    return canonical(data["reason"]) === canonical(report.reason);
  }
  const handoff = report as Extract<Report, { summary?: unknown }>;
  return (["summary", "metadata", "result"] as const).every((f) =>
    canonical(data[f]) === canonical(handoff[f])
  );
}

/** canonical is JSON with object keys sorted: {a, b} and {b, a} are one report. */
export function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
        : v,
  ) ?? "undefined";
}
