/**
 * `kanban link PARENT CHILD` makes CHILD wait for PARENT (the `link` tool: inside a worker it
 * carries the run's token, and links only tasks the run created); `unlink` removes that.
 */
import type { Command } from "@commander-js/extra-typings";
import { runTool, TOOLS } from "../../tools/mod.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";

export function register(program: Command, ctx: CliContext): void {
  for (const verb of ["link", "unlink"] as const) {
    program.command(verb)
      .description(verb === "link" ? "make CHILD wait for PARENT" : "remove a dependency")
      .argument("<parent>", "the task to wait for")
      .argument("<child>", "the waiting task")
      .action(async (parent, child, _opts, cmd) => {
        using s = session(ctx, cmd);
        const r = verb === "link"
          ? await runTool(TOOLS.link, s.tools, { parent, child })
          : await s.store.unlink(parent, child, s.actor);
        emit(
          ctx,
          s.json,
          r,
          () =>
            `${r.parent} -> ${r.child}: ${
              verb === "link" ? (r.changed ? "linked" : "already linked") : "unlinked"
            } (child is ${r.child_status})`,
        );
      });
  }
}
