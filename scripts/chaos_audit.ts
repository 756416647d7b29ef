/**
 * scripts/chaos_audit.ts: what the multi-host chaos run (scripts/chaos_hosts.ts) reads from the
 * board at its end: which tasks are lost, and the traces stale writes would leave.
 */
import type { Run, Store, TaskSummary } from "../lib/store/mod.ts";

/**
 * unsettled lists the created tasks (`parents`: each one's parent, or null) that are missing
 * from the board or not settled. A settled task is done; or blocked (its failures ran out:
 * the agent crashes, hangs, exits without a report at random); or waiting for a parent that
 * will not be done (blocked, or waiting itself). Anything else, once the hosts had time to
 * finish, is a task the fleet lost.
 */
export function unsettled(
  tasks: readonly TaskSummary[],
  parents: ReadonlyMap<string, string | null>,
): string[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const memo = new Map<string, boolean>();
  /** stuck: the task will not be done (blocked, or waiting on one that will not be). */
  const stuck = (id: string): boolean => {
    const t = byId.get(id);
    if (t === undefined) return false;
    if (t.status === "blocked") return t.blocked_reason !== null;
    if (t.status !== "todo") return false;
    if (!memo.has(id)) {
      const p = parents.get(id) ?? null;
      memo.set(id, p !== null && stuck(p));
    }
    return memo.get(id)!;
  };
  return [...parents.keys()].filter((id) => byId.get(id)?.status !== "done" && !stuck(id));
}

/** The events of a worker's write to its run (and of a write to a worker's process). */
const RUN_WRITES = new Set(["heartbeat", "commented", "completed", "blocked", "spawned"]);
/** The events that end a run: its report, or its end by a supervisor. */
const RUN_ENDS = new Set(["completed", "blocked", "failed"]);

/**
 * staleTraces reads the whole event log for writes to a run after it ended (a heartbeat, a
 * comment, a report, a spawn: each one a stale write that took effect), and `runs` for a task
 * completed by more than one run. Empty on a healthy board.
 */
export async function staleTraces(store: Store, runs: readonly Run[]): Promise<string[]> {
  const out: string[] = [];
  const ended = new Map<number, number>(); // run -> the event that ended it
  for (let cursor = 0;;) {
    const batch = await store.eventsSince(cursor, 1_000);
    if (batch.length === 0) break;
    for (const e of batch) {
      cursor = e.id;
      if (e.run_id === null) continue;
      const end = ended.get(e.run_id);
      if (end !== undefined && RUN_WRITES.has(e.kind)) {
        out.push(
          `run ${e.run_id} (${e.task_id}): "${e.kind}" by ${e.actor} (event ${e.id}) after ` +
            `the run ended (event ${end})`,
        );
      }
      if (end === undefined && RUN_ENDS.has(e.kind)) ended.set(e.run_id, e.id);
    }
  }
  const completed = new Map<string, number[]>();
  for (const r of runs) {
    if (r.outcome === "completed") {
      completed.set(r.task_id, [...completed.get(r.task_id) ?? [], r.id]);
    }
  }
  for (const [task, ids] of completed) {
    if (ids.length > 1) out.push(`task ${task} was completed by runs ${ids.join(", ")}`);
  }
  return out;
}
