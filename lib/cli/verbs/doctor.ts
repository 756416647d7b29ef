/**
 * `kanban doctor`: checks the board (SQLite integrity and foreign keys, the store's
 * invariants) and warns about open runs nobody is ending. Exit code 0 when healthy, 1 when a
 * problem was found; each finding is one line naming the check and the ids involved. On a
 * damaged file it says what SQLite found and how to restore the newest backup.
 */
import type { Command } from "@commander-js/extra-typings";
import { hostname } from "node:os";
import {
  CorruptBoardError,
  type DoctorReport,
  FILE_CHECKS,
  type Finding,
  isCorrupt,
  type Store,
} from "../../store/mod.ts";
import { type Env, resolveBoard } from "../../config/paths.ts";
import { liveness } from "../../dispatch/proc.ts";
import { type CliContext, globals, session } from "../context.ts";
import { emit, ReportedError } from "../output.ts";
import { parseDuration } from "../parse.ts";
import { backupFolders, type FoundBackup, newestBackup } from "./backup.ts";

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

/** What to do about a damaged board file: the newest backup found, and the steps. */
export interface Restore {
  /** The newest backup found, or null. */
  backup: FoundBackup | null;
  /** Where backups were looked for. */
  searched: string[];
  /** Shell commands (and one instruction), in order. */
  steps: string[];
}

/** A report, and for a damaged file how to restore it (schema_version null: not readable). */
type Report = Omit<DoctorReport, "schema_version"> & {
  schema_version: number | null;
  restore?: Restore;
};

/** sh quotes a path for a POSIX shell. */
function sh(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}

/**
 * restorePlan says how to put the newest backup in place of the damaged board `board`: the
 * damaged file and its `-wal`/`-shm` are moved aside (kept: a later look may save more), the
 * backup is copied in, and doctor checks the result. Nothing here is run by doctor.
 */
export function restorePlan(board: string, env: Env): Restore {
  const searched = backupFolders(board, env);
  const backup = newestBackup(board, searched);
  if (!backup) return { backup, searched, steps: [] };
  const files = [board, `${board}-wal`, `${board}-shm`].map(sh).join(" ");
  const steps = [
    "stop every kanban dispatch and kanban serve that uses this board",
    `for f in ${files}; do if [ -e "$f" ]; then mv "$f" "$f.corrupt"; fi; done`,
    `cp ${sh(backup.path)} ${sh(board)}`,
    `kanban --db ${sh(board)} doctor`,
  ];
  return { backup, searched, steps };
}

function restoreText(r: Restore): string {
  if (!r.backup) {
    return `hint: the board file is damaged and no backup was found in ${
      r.searched.join(" or ")
    }; keep a copy of the file (with its -wal and -shm files) before anything else, and take ` +
      "backups from now on (kanban backup, docs/operations.md)";
  }
  return [
    `hint: the board file is damaged. The newest backup found is ${r.backup.path} ` +
    `(written ${r.backup.modified}; changes made since then are lost). To restore it:`,
    ...r.steps.map((step, i) => `  ${i + 1}. ${step}`),
  ].join("\n");
}

function text(r: Report): string {
  return [
    ...r.problems.map((f) => line("problem", f)),
    ...r.warnings.map((f) => line("warning", f)),
    r.ok
      ? `ok: ${r.path}: integrity, foreign keys and invariants hold` +
        (r.warnings.length > 0 ? ` (${r.warnings.length} warning(s))` : "")
      : `${r.problems.length} problem(s) found in ${r.path}`,
    ...(r.restore ? [restoreText(r.restore)] : []),
  ].join("\n");
}

/**
 * check runs the doctor on the board. A board too damaged to open is a report too (one
 * `open` problem), not an error: that is when the restore plan matters most.
 */
async function check(
  ctx: CliContext,
  cmd: Command,
  opts: { repair?: true | undefined; staleAfter?: number | undefined },
): Promise<{ report: Report; json: boolean }> {
  const json = globals(cmd).json;
  let s;
  try {
    s = session(ctx, cmd);
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    const path = resolveBoard(globals(cmd), ctx.env, ctx.cwd).path;
    const message = err instanceof CorruptBoardError ? err.detail : (err as Error).message;
    const problem = { check: "open", ids: [], message: `cannot open the board: ${message}` };
    return {
      json,
      report: {
        ok: false,
        path,
        schema_version: null,
        problems: [problem],
        warnings: [],
        restore: restorePlan(path, ctx.env),
      },
    };
  }
  using _s = s;
  if (opts.repair) {
    try {
      for (const line of await repairLostRuns(s.store, Date.now())) ctx.stderr(`${line}\n`);
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      // a damaged file is for the report below; nothing is repaired on it
      ctx.stderr("not repaired: the board file is damaged\n");
    }
  }
  const r: Report = await s.store.doctor(
    opts.staleAfter !== undefined ? { staleAfterMs: opts.staleAfter } : {},
  );
  if (r.problems.some((p) => FILE_CHECKS.includes(p.check))) {
    r.restore = restorePlan(r.path, ctx.env);
  }
  return { json, report: r };
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
      const { report: r, json } = await check(ctx, cmd, opts);
      emit(ctx, json, r, () => text(r));
      if (!r.ok) throw new ReportedError(`${r.problems.length} problem(s)`);
    });
}
