/**
 * Worker confinement, enforced by the store on every write of a confined connection. A
 * process started for one run (KANBAN_TASK / KANBAN_TOKEN) opens the board confined to that
 * run: each write transaction is audited before it commits, and one that touches anything
 * but the run's own task and the follow-ups the run creates and links is rolled back.
 *
 * The audit reads what the transaction did, not which store method was called: every change
 * to a task appends an event naming the task (the board's audit trail), so a write method
 * added later is confined without knowing about confinement. A change that appends no task
 * event (a notification subscription, a dispatcher row) is board-wide and refused too.
 */
import { EVENT_KIND, type Kernel } from "./_kernel.ts";
import type { EventRow, RunRow } from "./_rows.ts";
import { createdByRun } from "./origins.ts";
import { PLAN_DONE } from "./plans.ts";
import { ConflictError, KanbanError, StaleLeaseError } from "./errors.ts";
import type { Confinement } from "./types.ts";

/** Where the board stood when a confined write began. */
export interface WriteMark {
  /** The driver's count of rows written by this connection so far (writesSoFar). */
  changes: number;
  /** The run the token belongs to, read before the write (which may end it: complete). */
  run: RunRow | null;
}

/**
 * markWrite notes the board's state at the start of a confined write transaction (call it
 * inside that transaction, before the write).
 */
export async function markWrite(k: Kernel, c: Confinement): Promise<WriteMark> {
  // two reads asked together (one round trip on a server)
  const [changes, run] = await Promise.all([
    k.q.writesSoFar(),
    c.token === null ? null : k.q.runWithToken(c.token),
  ]);
  return { changes, run: run ?? null };
}

/** The verb for an event kind, for error messages ("Cannot cancel task ..."). */
const VERB: Record<string, string> = {
  ...Object.fromEntries(Object.entries(EVENT_KIND).map(([action, kind]) => [kind, action])),
  edited: "edit",
  assigned: "assign",
  linked: "link",
  unlinked: "unlink",
  commented: "comment on",
  attached: "attach to",
  detached: "detach from",
  heartbeat: "heartbeat",
};

const RULE = "a worker writes only to its own task, and creates and links its own follow-ups";

/**
 * liveRun is the run a confined write acts for. Throws when there is none to act for: no
 * token (worker_forbidden), a token this board does not know (another board, or a guess),
 * a run that has ended (stale_lease), or a token of another task than the one named.
 */
function liveRun(board: string, c: Confinement, run: RunRow | null): RunRow {
  if (c.token === null) {
    throw new KanbanError(
      "worker_forbidden",
      `Cannot write to the board from the worker of task "${c.task}" without its run's lease token (KANBAN_TOKEN is not set)`,
    );
  }
  if (run === null) {
    throw new StaleLeaseError(
      `Cannot write to board "${board}": the worker's lease token belongs to no run of this board (a worker writes only to the board of its run)`,
    );
  }
  if (c.task !== null && run.task_id !== c.task) {
    throw new ConflictError(
      "foreign_task",
      `Cannot write for task "${c.task}": the worker's lease token belongs to task "${run.task_id}"`,
    );
  }
  if (run.ended_at !== null) {
    throw new StaleLeaseError(
      `Cannot write: run ${run.id} of task "${run.task_id}" has ended (${run.outcome}); its worker may only read`,
    );
  }
  return run;
}

/**
 * auditWrite checks a confined write transaction before it commits; throwing rolls it back,
 * so a refused write changes nothing. A transaction that wrote nothing passes. Otherwise
 * the run must be live, and each event the transaction appended must be on the run's task,
 * a re-derived status (a consequence of another write, e.g. children becoming ready when
 * the worker completes), or the creation of or a link to a task this run created. `events`
 * are the events the transaction wrote (flushEvents), whatever others commit meanwhile. `board` is
 * where the board lives as it may be shown (Driver.where: a URL without its password), for the
 * message about a token of another board.
 */
export async function auditWrite(
  k: Kernel,
  c: Confinement,
  mark: WriteMark,
  events: readonly EventRow[],
  board: string,
): Promise<void> {
  if (await k.q.writesSoFar() === mark.changes) return;
  const run = liveRun(board, c, mark.run);
  const boardWide = (what: string) =>
    new KanbanError(
      "worker_forbidden",
      `Cannot ${what} from the worker of task "${run.task_id}": board-wide changes are for a person (${RULE})`,
    );
  if (events.length === 0) throw boardWide("change the board");
  for (const e of events) {
    if (e.task_id === null) throw boardWide(`record "${e.kind}"`);
    if (e.task_id === run.task_id || e.kind === EVENT_KIND.derive || planDone(e)) continue;
    const followUp = (e.kind === EVENT_KIND.create || e.kind === "linked") &&
      await createdByRun(k, e.task_id, run.id);
    if (followUp) continue;
    throw new ConflictError(
      "foreign_task",
      `Cannot ${
        VERB[e.kind] ?? `change (${e.kind})`
      } task "${e.task_id}" from the worker of task "${run.task_id}": ${RULE}`,
    );
  }
}

/**
 * planDone tells whether `e` is the completion of a plan's root by its last task finishing (a
 * consequence, like a re-derived status: plans.ts reviewedByPerson), not a write of its own.
 */
function planDone(e: EventRow): boolean {
  return e.kind === EVENT_KIND.complete && e.data.includes(PLAN_DONE) &&
    (JSON.parse(e.data) as { plan?: unknown }).plan === "done";
}

/**
 * directRefusal is the error for a confined connection's write outside an audited
 * transaction (gc's pruning, doctor --repair, a backup): the driver refuses those
 * (`writesOnlyInTx`), and the store refuses the maintenance that would open its own.
 */
export function directRefusal(what: string): KanbanError {
  return new KanbanError(
    "worker_forbidden",
    `Cannot ${what} inside a worker: board maintenance is for a person`,
  );
}
