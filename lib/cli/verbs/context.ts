/** `kanban context [ID]`: exactly the task context a worker is given. */
import type { Command } from "@commander-js/extra-typings";
import { renderContext } from "../../store/mod.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";
import { requireId } from "./show.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("context")
    .description("print the context a worker receives for a task (capped sections)")
    .argument("[id]", "task id or unique prefix (default: $KANBAN_TASK)")
    .action(async (id, _opts, cmd) => {
      using s = session(ctx, cmd);
      const c = await s.store.context(requireId(id, s.worker?.task));
      emit(ctx, s.json, c, () => renderContext(c).trimEnd());
    });
}
