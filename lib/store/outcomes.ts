/**
 * Run outcomes: how an attempt ended. Migration 001 mirrors this list in a CHECK constraint;
 * a new outcome needs a new migration.
 */
export const OUTCOMES = [
  "completed", // the worker called complete
  "blocked", // the worker called block (asked a human)
  "completed_by_human", // a person completed the task while it ran
  "blocked_by_human", // a person blocked the task while it ran
  "cancelled", // a person cancelled the task while it ran
  "archived", // a person archived the task while it ran
  "spawn_failed", // the worker process could not be started
  "crashed", // the worker exited non-zero or was killed by a signal
  "no_report", // the worker exited 0 without complete or block
  "stalled", // no output and no heartbeat for stall_timeout
  "timed_out", // ran past max_runtime, counted from this run's start
  "lost", // lease expired with no live process (e.g. after a dispatcher crash)
  "transient", // exit code 75: retry later, not counted as a failure
  "stopped", // the dispatcher stopped the worker on shutdown; not counted
  "failed", // reported failed by a caller of endRun without a more specific reason
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes that return the task for another attempt and count toward failure_limit. */
export const COUNTED_FAILURES: readonly Outcome[] = [
  "spawn_failed",
  "crashed",
  "no_report",
  "stalled",
  "timed_out",
  "lost",
  "failed",
];
