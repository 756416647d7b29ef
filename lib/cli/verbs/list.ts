/** `kanban list`: tasks by status, priority and age (archived ones only when asked). */
import type { Command } from "@commander-js/extra-typings";
import { isStatus, type Status, STATUSES } from "../../store/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { collect } from "../parse.ts";
import { emit } from "../output.ts";
import { taskRows } from "../render.ts";

export function parseStatuses(values: string[]): Status[] {
  const out = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  for (const v of out) {
    if (!isStatus(v)) {
      throw new UsageError(`Unknown status "${v}" (one of ${STATUSES.join(", ")})`);
    }
  }
  return out as Status[];
}

export function register(program: Command, ctx: CliContext): void {
  program.command("list")
    .alias("ls")
    .description("list tasks")
    .option(
      "-s, --status <status>",
      "only these statuses (repeatable, or comma-separated)",
      collect,
      [],
    )
    .option("-a, --assignee <profile>", "only this assignee")
    .option("--tenant <name>", "only this tenant")
    .option("--archived", "include archived tasks")
    .option("-n, --limit <n>", "at most this many", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) {
        throw new UsageError(`--limit "${v}" is not a positive integer`);
      }
      return n;
    })
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      const tasks = await s.store.listTasks({
        statuses: parseStatuses(opts.status),
        assignee: opts.assignee,
        tenant: opts.tenant,
        archived: opts.archived === true,
        limit: opts.limit,
      });
      emit(ctx, s.json, tasks, () => taskRows(tasks));
    });
}
