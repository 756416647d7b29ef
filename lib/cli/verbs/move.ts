/**
 * The status verbs people use: unblock, promote, review, cancel, archive, unarchive, reopen.
 * Each goes through the store's one transition table; bulk verbs take several ids.
 */
import type { Command } from "@commander-js/extra-typings";
import { type PersonAction, runAction } from "../../store/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { bulk } from "../output.ts";
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
    .description("approve or reject a task waiting in review")
    .argument("<id>", "task id or unique prefix")
    .option("--approve", "accept the work: the task is done")
    .option("--reject", "send it back for another attempt")
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
      using s = session(ctx, cmd);
      const comments = opts.comment.length > 0
        ? await reviewComments(ctx, cmd, s.store, id, opts.comment)
        : undefined;
      const action = opts.approve ? "approve" : "reject";
      await bulk(
        ctx,
        s.json,
        [id],
        (ref) => runAction(s.store, ref, action, { reason: opts.reason, comments }, s.actor),
      );
    });
}
