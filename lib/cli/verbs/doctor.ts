/**
 * `kanban doctor`: checks the board (SQLite integrity and foreign keys, the store's
 * invariants) and warns about open runs nobody is ending. Exit code 0 when healthy, 1 when a
 * problem was found; each finding is one line naming the check and the ids involved.
 */
import type { Command } from "@commander-js/extra-typings";
import { hostname } from "node:os";
import type { Finding, Store } from "../../store/mod.ts";
import { liveness } from "../../dispatch/proc.ts";
import { type CliContext, session } from "../context.ts";
import { emit, ReportedError } from "../output.ts";
import { parseDuration } from "../parse.ts";

function line(label: string, f: Finding): string {
  const ids = f.ids.length > 0 ? `: ${f.ids.join(", ")}` : "";
  const message = f.message ? ` (${f.message})` : "";
  return `${label}: ${f.check}${ids}${message}${f.hint ? `\n  hint: ${f.hint}` : ""}`;
}

/**
 * repairLostRuns ends the open runs whose lease has expired and whose worker is not alive
 * here (pid + start time), as a dispatcher pass would: the task returns to the queue (or is
 * blocked at its failure limit). Returns one line per repaired run.
 */
export async function repairLostRuns(store: Store, now: number): Promise<string[]> {
  const out: string[] = [];
  const host = hostname();
  for (const run of await store.openRuns()) {
    if (run.lease_expires === null || Date.parse(run.lease_expires) >= now) continue;
    if (
      run.pid !== null && run.host === host && liveness(run.pid, run.pid_start_time) === "alive"
    ) {
      continue; // a live worker: its dispatcher (or the next one) will renew or end it
    }
    const r = await store.endRun(run.id, {
      outcome: "lost",
      error: "lease expired and no live worker; ended by kanban doctor --repair",
    }, { name: "doctor" });
    out.push(
      `repaired: run ${run.id} of ${run.task_id} ended as lost; the task is ${r.task.status}`,
    );
  }
  return out;
}

export function register(program: Command, ctx: CliContext): void {
  program.command("doctor")
    .description("check the board's integrity and invariants; exit 1 on problems")
    .option(
      "--stale-after <age>",
      "warn about open runs whose lease expired this long ago (default 15m)",
      (v: string) => parseDuration(v) * 1000,
    )
    .option("--repair", "end open runs whose lease expired and whose worker is not alive (as lost)")
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      if (opts.repair) {
        for (const line of await repairLostRuns(s.store, Date.now())) ctx.stderr(`${line}\n`);
      }
      const r = await s.store.doctor(
        opts.staleAfter !== undefined ? { staleAfterMs: opts.staleAfter } : {},
      );
      emit(ctx, s.json, r, () =>
        [
          ...r.problems.map((f) => line("problem", f)),
          ...r.warnings.map((f) => line("warning", f)),
          r.ok
            ? `ok: ${r.path}: integrity, foreign keys and invariants hold` +
              (r.warnings.length > 0 ? ` (${r.warnings.length} warning(s))` : "")
            : `${r.problems.length} problem(s) found in ${r.path}`,
        ].join("\n"));
      if (!r.ok) throw new ReportedError(`${r.problems.length} problem(s)`);
    });
}
