/**
 * The pending report: a worker's `complete` or `block` that could not reach the board before
 * its run's lease ran out, left in the run's report file ($KANBAN_REPORT_FILE) by the worker's
 * CLI or MCP server, and read by the dispatcher when that worker exits (it then delivers the
 * report itself while the lease allows, else ends the run saying why). Both ends use this
 * module, so they agree on the file by construction. A leaf, like lib/worker_env.ts.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

/** The reports a worker makes, each of which ends its run. */
export const REPORT_KINDS = ["complete", "block", "request_review", "review"] as const;
export type ReportKind = typeof REPORT_KINDS[number];

/** PendingReport is what the file holds (JSON, one object). */
export interface PendingReport {
  version: 1;
  /** The task the report is for (the worker's own). */
  task: string;
  /** The run it ends, as the worker knows it (KANBAN_RUN), or null. */
  run: number | null;
  kind: ReportKind;
  /** The report's fields, as the tool took them: complete's summary, metadata, result, usage; block's reason, usage. */
  input: Record<string, unknown>;
  /** Why it could not be delivered: the last failure the worker met. */
  error: string;
  /** When the worker gave up (ISO 8601). */
  at: string;
}

/**
 * writePendingReport writes `r` to `path` whole or not at all (a temporary file, then a
 * rename), private to the user: a report may hold anything the agent wrote.
 */
export function writePendingReport(path: string, r: PendingReport): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(r)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * readPendingReport reads the report left at `path`: null when there is none, or a string
 * saying what is wrong with a file that is there but holds no report kanban can deliver.
 */
export function readPendingReport(path: string): PendingReport | string | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    return `cannot read ${path}: ${(err as Error).message}`;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return `${path} is not JSON`;
  }
  const r = v as Partial<PendingReport>;
  const ok = r !== null && typeof r === "object" && r.version === 1 &&
    typeof r.task === "string" && (REPORT_KINDS as readonly unknown[]).includes(r.kind) &&
    r.input !== null && typeof r.input === "object" && !Array.isArray(r.input) &&
    typeof r.error === "string";
  return ok ? r as PendingReport : `${path} holds no report of this version of kanban`;
}

/** removePendingReport deletes the file once its report was dealt with (missing is fine). */
export function removePendingReport(path: string): void {
  rmSync(path, { force: true });
}
