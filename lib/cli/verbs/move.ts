/**
 * The status verbs people use: unblock, promote, review, cancel, archive, unarchive, reopen.
 * Each goes through the store's one transition table; bulk verbs take several ids.
 */
import type { Command } from "@commander-js/extra-typings";
import type { Actor, Store, Task } from "../../store/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { bulk } from "../output.ts";
import { collect } from "../parse.ts";
import { reviewComments } from "./diff.ts";

type Op = (store: Store, id: string, actor: Actor, reason?: string) => Promise<Task>;

const BULK: { verb: string; description: string; op: Op; reason?: boolean }[] = [
  {
    verb: "unblock",
    description: "return blocked tasks to the queue (resets their failure count)",
    op: (st, id, a) => st.unblock(id, a),
  },
  {
    verb: "promote",
    description: "move tasks out of triage into the queue",
    op: (st, id, a) => st.promote(id, a),
  },
  {
    verb: "cancel",
    description: "drop tasks that should not be done (stops a running worker's run)",
    op: (st, id, a, r) => st.cancel(id, r, a),
    reason: true,
  },
  {
    verb: "archive",
    description: "put tasks away (stops a running worker's run)",
    op: (st, id, a) => st.archive(id, a),
  },
  {
    verb: "unarchive",
    description: "bring archived tasks back",
    op: (st, id, a) => st.unarchive(id, a),
  },
  {
    verb: "reopen",
    description: "send done tasks back to the queue",
    op: (st, id, a) => st.reopen(id, a),
  },
];

export function register(program: Command, ctx: CliContext): void {
  for (const { verb, description, op, reason } of BULK) {
    const cmd = program.command(verb).description(description)
      .argument("<ids...>", "task ids or unique prefixes");
    if (reason) cmd.option("--reason <text>", "why (recorded in the task's events)");
    cmd.action(async (ids, opts, c) => {
      using s = session(ctx, c);
      const why = (opts as { reason?: string }).reason;
      await bulk(ctx, s.json, ids, (id) => op(s.store, id, s.actor, why));
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
      await bulk(
        ctx,
        s.json,
        [id],
        (ref) =>
          s.store.review(ref, opts.approve ? "approve" : "reject", opts.reason, s.actor, comments),
      );
    });
}
