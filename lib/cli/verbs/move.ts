/**
 * The status verbs people use: unblock, promote, review, cancel, archive, unarchive, reopen.
 * Each goes through the store's one transition table; bulk verbs take several ids.
 */
import type { Command } from "@commander-js/extra-typings";
import { type PersonAction, runAction, type Task } from "../../store/mod.ts";
import {
  type CliContext,
  globals,
  type HasGlobals,
  type Session,
  session,
  UsageError,
} from "../context.ts";
import { bulk, emit } from "../output.ts";
import { readTarget, type Tool, TOOLS } from "../../tools/mod.ts";
import { decodeWorkerEnv, workerBindingOf } from "../../worker_env.ts";
import { heldLine } from "../render.ts";
import type { Held } from "../../tools/complete.ts";
import { report } from "./report.ts";
import { collect } from "../parse.ts";
import { reviewComments } from "./diff.ts";

/** The bulk verbs: each is the action of the same name (lib/store/actions.ts). */
const BULK: { verb: PersonAction; description: string; reason?: boolean }[] = [
  {
    verb: "unblock",
    description: "return blocked tasks to the queue (resets their failure count)",
  },
  {
    verb: "promote",
    description: "move tasks out of triage into the queue",
  },
  {
    verb: "cancel",
    description: "drop tasks that should not be done (stops a running worker's run)",
    reason: true,
  },
  {
    verb: "archive",
    description: "put tasks away (stops a running worker's run)",
  },
  {
    verb: "unarchive",
    description: "bring archived tasks back",
  },
  {
    verb: "reopen",
    description: "send done tasks back to the queue",
  },
];

export function register(program: Command, ctx: CliContext): void {
  for (const { verb, description, reason } of BULK) {
    const cmd = program.command(verb).description(description)
      .argument("<ids...>", "task ids or unique prefixes");
    if (reason) cmd.option("--reason <text>", "why (recorded in the task's events)");
    cmd.action(async (ids, opts, c) => {
      using s = session(ctx, c);
      const why = (opts as { reason?: string }).reason;
      await bulk(ctx, s.json, ids, (id) => runAction(s.store, id, verb, { reason: why }, s.actor));
    });
  }

  program.command("review")
    .description(
      "approve or reject a task waiting in review; inside a reviewer's worker, its verdict on " +
        "the task under its review",
    )
    .argument("[id]", "task id or unique prefix (default in a worker: $KANBAN_TASK)")
    .option("--approve", "accept the work: the task is done")
    .option("--reject", "send it back for another attempt (request changes)")
    .option("--reason <text>", "why (a rejection's reason becomes a comment the worker reads)")
    .option(
      "--comment <text>",
      'with --reject: "path:line: text" on a line of the diff, "path: text" on a file ' +
        "(repeatable; the worker reads them with the lines quoted)",
      collect,
      [],
    )
    .action(async (id, opts, cmd) => {
      if (opts.approve === opts.reject) {
        throw new UsageError("Give exactly one of --approve or --reject");
      }
      if (opts.comment.length > 0 && !opts.reject) {
        throw new UsageError("--comment goes with --reject (request changes)");
      }
      const worker = workerBindingOf(decodeWorkerEnv(ctx.env));
      const ref = readTarget({ worker }, id);
      if (worker !== null) {
        // a reviewer's verdict: a report, retried while the board is out of reach
        const comments = opts.comment.length > 0
          ? await withSession(ctx, cmd, (s) => reviewComments(ctx, cmd, s.store, ref, opts.comment))
          : undefined;
        const task = await report<Held<Task>>(ctx, cmd, TOOLS.review as Tool, {
          id: ref,
          verdict: opts.approve ? "approve" : "changes",
          reason: opts.reason,
          comments,
        });
        emit(ctx, globals(cmd).json, task, () => heldLine(task));
        return;
      }
      using s = session(ctx, cmd);
      const comments = opts.comment.length > 0
        ? await reviewComments(ctx, cmd, s.store, ref, opts.comment)
        : undefined;
      const action = opts.approve ? "approve" : "reject";
      await bulk(
        ctx,
        s.json,
        [ref],
        (r) => runAction(s.store, r, action, { reason: opts.reason, comments }, s.actor),
      );
    });
}

/** withSession runs `fn` with a session that is closed when it ends. */
async function withSession<T>(
  ctx: CliContext,
  cmd: HasGlobals,
  fn: (s: Session) => Promise<T>,
): Promise<T> {
  using s = session(ctx, cmd);
  return await fn(s);
}
