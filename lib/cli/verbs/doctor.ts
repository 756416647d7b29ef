/**
 * `kanban doctor`: checks the board (SQLite integrity and foreign keys, the store's
 * invariants) and warns about open runs nobody is ending. Exit code 0 when healthy, 1 when a
 * problem was found; each finding is one line naming the check and the ids involved.
 */
import type { Command } from "@commander-js/extra-typings";
import type { Finding } from "../../store/mod.ts";
import { type CliContext, session } from "../context.ts";
import { emit, ReportedError } from "../output.ts";
import { parseDuration } from "../parse.ts";

function line(label: string, f: Finding): string {
  const ids = f.ids.length > 0 ? `: ${f.ids.join(", ")}` : "";
  const message = f.message ? ` (${f.message})` : "";
  return `${label}: ${f.check}${ids}${message}${f.hint ? `\n  hint: ${f.hint}` : ""}`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command("doctor")
    .description("check the board's integrity and invariants; exit 1 on problems")
    .option(
      "--stale-after <age>",
      "warn about open runs whose lease expired this long ago (default 15m)",
      (v: string) => parseDuration(v) * 1000,
    )
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
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
