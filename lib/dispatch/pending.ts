/**
 * The report a worker could not deliver (lib/pending_report.ts), dealt with when the worker
 * has exited and its run is still open: while the run's lease holds, the dispatcher delivers
 * it with the run's own token (fenced like the worker's own write, and one report even if the
 * worker's last try did land: lib/store/replay.ts); once the lease has run out, or if the board
 * refuses it, the run ends as `no_report` saying the report could not be delivered and why.
 * Either way the task never stays running.
 */
import { KanbanError, type Run, type Store, transientReason } from "../store/mod.ts";
import { readPendingReport, removePendingReport, type ReportKind } from "../pending_report.ts";
import { runFile } from "./logs.ts";

/** reportFileOf is the run's report file, beside its log (the worker's $KANBAN_REPORT_FILE). */
export function reportFileOf(logPath: string | null): string | null {
  return logPath === null ? null : runFile(logPath, "report.json");
}

/** What became of a pending report. */
export type Settled =
  /** Nothing was left (the usual case): the run ends as the worker's exit says. */
  | { kind: "none" }
  /** Delivered: the run is closed by the worker's own report. */
  | { kind: "delivered"; report: ReportKind }
  /** Not delivered: end the run as `no_report` with this error. */
  | { kind: "undelivered"; error: string };

export interface PendingDeps {
  store: Store;
  /** The worker's actor name (its profile) and the run's token, if known. */
  actor: { name: string; token: string | null };
  wallNow: number;
}

/**
 * settlePending delivers or gives up the report left beside `run`'s log. The file is removed
 * once its report was delivered or given up; a board still out of reach throws (the caller's
 * pass fails and the next one tries again, the file still there).
 */
export async function settlePending(run: Run, d: PendingDeps): Promise<Settled> {
  const file = reportFileOf(run.log_path);
  if (file === null) return { kind: "none" };
  const pending = readPendingReport(file);
  if (pending === null) return { kind: "none" };
  const give = (why: string): Settled => {
    removePendingReport(file);
    return { kind: "undelivered", error: `report could not be delivered: ${why}` };
  };
  if (typeof pending === "string") return give(pending);
  if (pending.task !== run.task_id || (pending.run !== null && pending.run !== run.id)) {
    return give(`${file} holds a report for another run`);
  }
  const expires = run.lease_expires === null ? 0 : Date.parse(run.lease_expires);
  const token = d.actor.token ?? await d.store.runToken(run.id);
  if (token === null || expires <= d.wallNow) return give(pending.error);
  const actor = { name: d.actor.name, token };
  const input = pending.input;
  try {
    const usage = input["usage"] as Parameters<Store["block"]>[3];
    const reason = typeof input["reason"] === "string" ? input["reason"] : undefined;
    switch (pending.kind) {
      case "complete":
        await d.store.complete(run.task_id, input, actor);
        break;
      case "request_review":
        await d.store.requestReview(run.task_id, input, actor);
        break;
      case "review": {
        const comments = input["comments"] as Parameters<Store["review"]>[4];
        const decision = input["verdict"] === "approve" ? "approve" : "reject";
        await d.store.review(run.task_id, decision, reason, actor, comments, usage);
        break;
      }
      case "block":
        await d.store.block(run.task_id, reason ?? "", actor, usage);
    }
  } catch (err) {
    // A refusal (an invalid report, a run ended meanwhile) is an answer: give the report up.
    // Anything else (the board still out of reach) fails the pass; the file waits for the next.
    if (!(err instanceof KanbanError) || transientReason(err) !== null) throw err;
    return give(`${pending.error}; delivered by the dispatcher, it was refused: ${err.message}`);
  }
  removePendingReport(file);
  return { kind: "delivered", report: pending.kind };
}
