/** `kanban runs [ID]`: the attempts at a task (or the latest runs on the board). */
import type { Command } from "@commander-js/extra-typings";
import { type CliContext, session, UsageError } from "../context.ts";
import { emit } from "../output.ts";
import { runRows } from "../render.ts";

/** countOption parses `flag`'s value as an integer of at least `min` (1 or 0). */
export function countOption(flag: string, min: 0 | 1 = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new UsageError(
        `${flag} "${v}" is not a ${min === 0 ? "non-negative" : "positive"} integer`,
      );
    }
    return n;
  };
}

export function register(program: Command, ctx: CliContext): void {
  program.command("runs")
    .description("list runs (attempts) of a task, or the latest on the board")
    .argument("[id]", "task id or unique prefix")
    .option("-n, --limit <n>", "at most this many (default 100)", countOption("--limit"))
    .action(async (id, opts, cmd) => {
      using s = session(ctx, cmd);
      const runs = await s.store.listRuns(id, opts.limit ?? 100);
      emit(ctx, s.json, runs, () => runRows(runs));
    });
}
