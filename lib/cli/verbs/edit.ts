/** `kanban edit ID` changes title, body, priority or needed labels; `kanban assign ID PROFILE` the assignee. */
import type { Command } from "@commander-js/extra-typings";
import { type CliContext, session, UsageError } from "../context.ts";
import { collect, parseCount, parseDuration, parseGate, parsePriority } from "../parse.ts";
import { emit } from "../output.ts";
import { taskLine } from "../render.ts";
import { readBody } from "./create.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("edit")
    .description(
      "change a task's title, body, priority, the labels it needs, its reviewer or its gate",
    )
    .argument("<id>", "task id or unique prefix")
    .option("--title <title>", "new title")
    .option("--body <markdown>", "new description")
    .option("--body-file <path>", "read the new description from a file (- for stdin)")
    .option("--priority <n>", "integer, higher first; or low|normal|high|urgent", parsePriority)
    .option(
      "--needs <label>",
      "a label the host that runs it must offer (repeatable; replaces the task's labels)",
      collect,
    )
    .option("--no-needs", "the task needs no labels (any host may run it)")
    .option("--reviewer <profile>", "the profile that reviews the task's work")
    .option("--no-reviewer", "no profile reviews it")
    .option("--review-rounds <n>", "rounds of review before a person decides", parseCount)
    .option(
      "--gate <command>",
      "must exit 0 before the task is done (split like a shell line, run without one)",
      parseGate,
    )
    .option("--no-gate", "no completion gate, not even its profile's")
    .option("--gate-timeout <duration>", "the gate's time limit", parseDuration)
    .option("--gate-rounds <n>", "failed gates before the task is blocked", parseCount)
    .action(async (id, opts, cmd) => {
      using s = session(ctx, cmd);
      const body = await readBody(ctx, opts);
      const task = await s.store.editTask(id, {
        ...(opts.title !== undefined ? { title: opts.title } : {}),
        ...(body !== undefined ? { body } : {}),
        ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
        ...(opts.needs !== undefined ? { needs: opts.needs === false ? [] : opts.needs } : {}),
        ...(opts.reviewer !== undefined
          ? { reviewer: opts.reviewer === false ? null : opts.reviewer }
          : {}),
        ...(opts.reviewRounds !== undefined ? { review_rounds: opts.reviewRounds } : {}),
        ...(opts.gate !== undefined ? { gate: opts.gate === false ? [] : opts.gate } : {}),
        ...(opts.gateTimeout !== undefined ? { gate_timeout_ms: opts.gateTimeout * 1000 } : {}),
        ...(opts.gateRounds !== undefined ? { gate_rounds: opts.gateRounds } : {}),
      }, s.actor);
      emit(ctx, s.json, task, () => taskLine(task));
    });

  program.command("assign")
    .description("set (or with --none, clear) a task's assignee")
    .argument("<id>", "task id or unique prefix")
    .argument("[assignee]", "profile that should work on it")
    .option("--none", "leave the task unassigned")
    .action(async (id, assignee, opts, cmd) => {
      if ((assignee === undefined) === (opts.none !== true)) {
        throw new UsageError("Give an assignee, or --none to unassign");
      }
      using s = session(ctx, cmd);
      const task = await s.store.assignTask(id, assignee ?? null, s.actor);
      emit(ctx, s.json, task, () => `${taskLine(task)}  -> ${task.assignee ?? "unassigned"}`);
    });
}
