/**
 * The worker writes: `heartbeat`, `comment`, `complete`, `block`, each running the tool of
 * the same name. Inside a worker the task id defaults to `$KANBAN_TASK` and the run's lease
 * token is attached, so a stale worker's write is refused; a write to another task is
 * refused too. A person (no token) may also comment, complete and block. Inside a worker,
 * `complete` and `block` are retried while the board is out of reach (lib/tools/deliver.ts):
 * opening the board and the write, for as long as the run's lease; an undelivered report is
 * left for the dispatcher and the command exits 3.
 */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { deliver, readTarget, runTool, type Tool, TOOLS } from "../../tools/mod.ts";
import {
  type CliContext,
  globals,
  type HasGlobals,
  type Session,
  session,
  UsageError,
  workerDelivery,
} from "../context.ts";
import { decodeWorkerEnv, workerBindingOf } from "../../worker_env.ts";
import { BLOCK_KINDS, type BlockKind, isBlockKind, type Task } from "../../store/mod.ts";
import { parseDuration, parseJsonObject } from "../parse.ts";
import { bulk, emit } from "../output.ts";
import { blockNote, heldLine, taskLine } from "../render.ts";
import type { Held } from "../../tools/complete.ts";

/** parseBlockKind reads --kind, refusing a kind that is not one of BLOCK_KINDS. */
function parseBlockKind(text: string): BlockKind {
  if (isBlockKind(text)) return text;
  throw new InvalidArgumentError(`"${text}" is not a block kind (${BLOCK_KINDS.join(", ")})`);
}

/** idAndText reads `[ID] TEXT`: one argument is the text (the id comes from the worker). */
function idAndText(args: string[], what: string): [string | undefined, string] {
  if (args.length === 2) return [args[0], args[1]!];
  if (args.length === 1) return [undefined, args[0]!];
  throw new UsageError(`Expected [ID] ${what}`);
}

/**
 * report runs a report tool (complete, block, request_review, review) for task `id` (the worker's own when undefined).
 * Inside a worker each try opens the board afresh if the last could not (a board locked
 * exclusively cannot even be opened), and the tool gets no delivery of its own: one deadline.
 */
export async function report<T>(
  ctx: CliContext,
  cmd: HasGlobals,
  tool: Tool,
  input: Record<string, unknown>,
): Promise<T> {
  const d = workerDelivery(ctx);
  if (d === null) {
    using s = session(ctx, cmd);
    return await runTool(tool, s.tools, input) as T;
  }
  let s: Session | null = null;
  try {
    const { id, ...fields } = input;
    const task = typeof id === "string" ? id : decodeWorkerEnv(ctx.env).task!;
    return await deliver({ task, kind: tool.report!, input: fields }, async () => {
      s ??= session(ctx, cmd);
      return await runTool(tool, s.tools, input) as T;
    }, d);
  } finally {
    (s as Session | null)?.[Symbol.dispose]();
  }
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
      const worker = workerBindingOf(decodeWorkerEnv(ctx.env));
      const refs = ids.length > 0 ? ids : [readTarget({ worker }, undefined)];
      await bulk(
        ctx,
        globals(cmd).json,
        refs,
        (id) =>
          report<Held<Task>>(ctx, cmd, TOOLS.complete as Tool, {
            id,
            summary: opts.summary,
            metadata: opts.metadata,
            result: opts.result,
            usage: opts.usage,
          }),
        heldLine,
      );
    });

  program.command("request-review")
    .description(
      "hand the worker's work in for review with a handoff (as complete takes): the task goes " +
        "to its reviewer, or to a person",
    )
    .argument("[id]", "task id (default: $KANBAN_TASK)")
    .option("--summary <text>", "what was done and where, for the reviewer")
    .option(
      "--metadata <json>",
      "machine-readable results (a JSON object)",
      (v) => parseJsonObject(v, "--metadata"),
    )
    .option("--result <text>", "the result itself, if short")
    .option(
      "--usage <json>",
      "what the run used, as for complete --usage",
      (v) => parseJsonObject(v, "--usage"),
    )
    .action(async (id, opts, cmd) => {
      const worker = workerBindingOf(decodeWorkerEnv(ctx.env));
      const ref = readTarget({ worker }, id);
      const task = await report<Task>(ctx, cmd, TOOLS.request_review as Tool, {
        id: ref,
        summary: opts.summary,
        metadata: opts.metadata,
        result: opts.result,
        usage: opts.usage,
      });
      emit(ctx, globals(cmd).json, task, () => taskLine(task));
    });

  program.command("block")
    .description(
      "stop work on a task for a reason, by kind (default: a question for a person): " +
        "kanban block [ID] REASON",
    )
    .argument("<args...>", "[ID] REASON")
    .option(
      "--kind <kind>",
      `${BLOCK_KINDS.join(", ")} (default needs_input): needs_input waits for a person; ` +
        "dependency waits for the task --on; transient is retried later without counting a " +
        "failure; capability asks for another profile (--profile, else triage)",
      parseBlockKind,
    )
    .option("--on <id>", "dependency: the task to wait for (linked as a parent)")
    .option(
      "--retry-after <duration>",
      "transient: retry after this long, e.g. 10m (default: the failure backoff)",
      parseDuration,
    )
    .option("--profile <name>", "capability: the profile that should take the task")
    .option(
      "--usage <json>",
      "what the run used, as for complete --usage",
      (v) => parseJsonObject(v, "--usage"),
    )
    .action(async (args, opts, cmd) => {
      const [id, reason] = idAndText(args, "REASON");
      const task = await report<Task>(ctx, cmd, TOOLS.block as Tool, {
        id,
        reason,
        kind: opts.kind,
        on: opts.on,
        retry_after_seconds: opts.retryAfter,
        profile: opts.profile,
        usage: opts.usage,
      });
      emit(ctx, globals(cmd).json, task, () => `${taskLine(task)}  (${blockNote(task)})`);
    });
}
