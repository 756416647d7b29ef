/** `kanban claim [ID]`: take a ready task by hand (what the dispatcher does for workers). */
import type { Command } from "@commander-js/extra-typings";
import { type CliContext, session } from "../context.ts";
import { parseDuration } from "../parse.ts";
import { emit } from "../output.ts";
import { NotFoundError } from "../../store/mod.ts";
import { WORKER_VARS as V } from "../../worker_env.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("claim")
    .description("claim a ready task (the best one, or ID): prints the run's lease token")
    .argument("[id]", "task id or unique prefix (default: highest priority, oldest)")
    .option("-a, --assignee <profile>", "only tasks for this assignee")
    .option("--tenant <name>", "only tasks of this tenant")
    .option("--profile <name>", "profile that will run it (default: the assignee)")
    .option(
      "--lease <duration>",
      "lease length before it must be renewed (default 2m)",
      parseDuration,
    )
    .action(async (id, opts, cmd) => {
      using s = session(ctx, cmd);
      const claim = await s.store.claim({
        taskId: id,
        assignee: opts.assignee,
        tenant: opts.tenant,
        profile: opts.profile,
        leaseMs: opts.lease === undefined ? undefined : opts.lease * 1000,
      }, s.actor);
      if (!claim) throw new NotFoundError("No ready task to claim");
      emit(ctx, s.json, claim, () =>
        [
          `Claimed ${claim.task.id} (run ${claim.run.id}, lease until ${claim.run.lease_expires}): ${claim.task.title}`,
          `export ${V.task}=${claim.task.id} ${V.run}=${claim.run.id} ${V.token}=${claim.token}`,
        ].join("\n"));
    });
}
