/** `kanban stats` (board counts) and `kanban assignees` (work per profile). */
import type { Command } from "@commander-js/extra-typings";
import { type CliContext, session } from "../context.ts";
import { runTool, TOOLS } from "../../tools/mod.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("stats")
    .description("task counts by status, run outcomes, queue age")
    .option("--tenant <name>", "only this tenant")
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      const st = await runTool(TOOLS.stats, s.tools, { tenant: opts.tenant });
      emit(ctx, s.json, st, () =>
        [
          `${st.total} tasks; ${st.completed_last_24h} completed in the last 24 h`,
          table(Object.entries(st.by_status).map(([k, v]) => [`  ${k}`, String(v)])),
          `${st.runs.total} runs (${st.runs.open} open)${
            Object.keys(st.runs.by_outcome).length > 0
              ? ": " + Object.entries(st.runs.by_outcome).map(([k, v]) => `${k} ${v}`).join(", ")
              : ""
          }`,
          ...(st.oldest_ready_at ? [`oldest ready task waiting since ${st.oldest_ready_at}`] : []),
        ].join("\n"));
    });

  program.command("assignees")
    .description("assignees (profiles) with their tasks by status")
    .action(async (_opts, cmd) => {
      using s = session(ctx, cmd);
      const list = await s.store.assignees();
      emit(ctx, s.json, list, () =>
        list.length === 0 ? "No tasks." : table([
          ["ASSIGNEE", "TOTAL", "BY STATUS"],
          ...list.map((a) => [
            a.assignee ?? "(unassigned)",
            String(a.total),
            Object.entries(a.by_status).map(([k, v]) => `${k} ${v}`).join(", "),
          ]),
        ]));
    });
}
