/** `kanban show ID`: a task with its links, runs, comments and events (the `show` tool). */
import type { Command } from "@commander-js/extra-typings";
import { runTool, TOOLS } from "../../tools/mod.ts";
import type { ShowOutput } from "../../tools/show.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";
import { taskDetail } from "../render.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("show")
    .description("show a task with parents, children, comments, events and runs")
    .argument("[id]", "task id or unique prefix (default: $KANBAN_TASK)")
    .action(async (id, _opts, cmd) => {
      using s = session(ctx, cmd);
      // No caps on the CLI: the full shape.
      const detail = await runTool(TOOLS.show, s.tools, { id }) as ShowOutput;
      emit(ctx, s.json, detail, () => taskDetail(detail));
    });
}
