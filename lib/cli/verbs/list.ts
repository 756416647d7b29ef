/**
 * `kanban list`: tasks by status, priority and age (archived ones only when asked), through
 * the `list` tool; `--limit` and `--offset` page through them.
 */
import type { Command } from "@commander-js/extra-typings";
import { isStatus, type Status, STATUSES, type TaskSummary } from "../../store/mod.ts";
import { runTool, TOOLS } from "../../tools/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { collect } from "../parse.ts";
import { emit } from "../output.ts";
import { taskRows } from "../render.ts";
import { countOption } from "./runs.ts";

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
    .option("-n, --limit <n>", "at most this many", countOption("--limit"))
    .option(
      "--offset <n>",
      "skip this many first (with --limit: pages)",
      countOption("--offset", 0),
    )
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      const statuses = parseStatuses(opts.status);
      const page = await runTool(TOOLS.list, s.tools, {
        status: statuses.length > 0 ? statuses : undefined,
        assignee: opts.assignee,
        tenant: opts.tenant,
        archived: opts.archived === true,
        limit: opts.limit,
        offset: opts.offset,
      });
      // The CLI prints the tasks of the page (its v1 shape, an array); no caps: full rows.
      const tasks = page.tasks as TaskSummary[];
      emit(ctx, s.json, tasks, () => taskRows(tasks));
    });
}
