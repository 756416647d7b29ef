/**
 * The worker writes: `heartbeat`, `comment`, `complete`, `block`, each running the tool of
 * the same name. Inside a worker the task id defaults to `$KANBAN_TASK` and the run's lease
 * token is attached, so a stale worker's write is refused; a write to another task is
 * refused too. A person (no token) may also comment, complete and block.
 */
import type { Command } from "@commander-js/extra-typings";
import { readTarget, runTool, TOOLS } from "../../tools/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { parseJsonObject } from "../parse.ts";
import { bulk, emit } from "../output.ts";
import { taskLine } from "../render.ts";

/** idAndText reads `[ID] TEXT`: one argument is the text (the id comes from the worker). */
function idAndText(args: string[], what: string): [string | undefined, string] {
  if (args.length === 2) return [args[0], args[1]!];
  if (args.length === 1) return [undefined, args[0]!];
  throw new UsageError(`Expected [ID] ${what}`);
}

export function register(program: Command, ctx: CliContext): void {
  program.command("heartbeat")
    .description("renew the worker's lease and record progress (workers only)")
    .argument("[id]", "task id (default: $KANBAN_TASK)")
    .option("--note <text>", "what the worker is doing now")
    .action(async (id, opts, cmd) => {
      using s = session(ctx, cmd);
      const run = await runTool(TOOLS.heartbeat, s.tools, { id, note: opts.note });
      emit(ctx, s.json, run, () => `${run.task_id}: lease renewed until ${run.lease_expires}`);
    });

  program.command("comment")
    .description("add a comment: kanban comment [ID] TEXT")
    .argument("<args...>", "[ID] TEXT")
    .option("--author <name>", "comment as this name (default: you)")
    .action(async (args, opts, cmd) => {
      const [id, body] = idAndText(args, "TEXT");
      using s = session(ctx, cmd);
      const comment = await runTool(TOOLS.comment, s.tools, { id, body, author: opts.author });
      emit(ctx, s.json, comment, () => `${comment.task_id}: comment ${comment.id} added`);
    });

  program.command("complete")
    .description("finish tasks with a handoff for the tasks that wait on them")
    .argument("[ids...]", "task ids (default: $KANBAN_TASK)")
    .option("--summary <text>", "what was done, for people and the next tasks")
    .option(
      "--metadata <json>",
      "machine-readable results (a JSON object)",
      (v) => parseJsonObject(v, "--metadata"),
    )
    .option("--result <text>", "the result itself, if short (a URL, a verdict, ...)")
    .option(
      "--usage <json>",
      'what the run used, for agents whose output kanban does not read (docs/agents.md): {"input_tokens":..,"output_tokens":..,"cost_usd":..}',
      (v) => parseJsonObject(v, "--usage"),
    )
    .action(async (ids, opts, cmd) => {
      using s = session(ctx, cmd);
      const refs = ids.length > 0 ? ids : [readTarget(s.tools, undefined)];
      await bulk(ctx, s.json, refs, (id) =>
        runTool(TOOLS.complete, s.tools, {
          id,
          summary: opts.summary,
          metadata: opts.metadata,
          result: opts.result,
          usage: opts.usage,
        }));
    });

  program.command("block")
    .description("park a task with a question or reason: kanban block [ID] REASON")
    .argument("<args...>", "[ID] REASON")
    .option(
      "--usage <json>",
      "what the run used, as for complete --usage",
      (v) => parseJsonObject(v, "--usage"),
    )
    .action(async (args, opts, cmd) => {
      const [id, reason] = idAndText(args, "REASON");
      using s = session(ctx, cmd);
      const task = await runTool(TOOLS.block, s.tools, { id, reason, usage: opts.usage });
      emit(ctx, s.json, task, () => `${taskLine(task)}  (${task.blocked_reason})`);
    });
}
