/** `kanban link PARENT CHILD` makes CHILD wait for PARENT; `unlink` removes that. */
import type { Command } from "@commander-js/extra-typings";
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
          ? await s.store.link(parent, child, s.actor)
          : await s.store.unlink(parent, child, s.actor);
        const child_ = await s.store.getTask(r.child);
        emit(
          ctx,
          s.json,
          { ...r, child_status: child_.status },
          () =>
            `${r.parent} -> ${r.child}: ${
              verb === "link" ? (r.changed ? "linked" : "already linked") : "unlinked"
            } (child is ${child_.status})`,
        );
      });
  }
}
