/** `kanban stats` (board counts) and `kanban assignees` (work per profile). */
import type { Command } from "@commander-js/extra-typings";
import { type CliContext, session } from "../context.ts";
import { runTool, TOOLS } from "../../tools/mod.ts";
import { emit } from "../output.ts";
import { table, usageRows } from "../render.ts";
import { parseSince } from "../parse.ts";
import type { UsageStats } from "../../store/mod.ts";

/** usageText: what the runs of the window used, for the board, per profile and per tenant. */
function usageText(u: UsageStats): string {
  const window = u.since === null ? "all time" : `since ${u.since}`;
  if (u.total.runs_with_usage === 0) {
    return `Usage (${window}): no run reported usage (${u.total.runs} ended runs)`;
  }
  return [
    `Usage (${window}; costs only where the agent CLI reported them):`,
    usageRows("BOARD", [{ ...u.total, key: "all" }]),
    "",
    usageRows("PROFILE", u.by_profile.map((r) => ({ ...r, key: r.profile ?? "-" }))),
    ...(u.by_tenant.some((t) => t.tenant !== null)
      ? ["", usageRows("TENANT", u.by_tenant.map((r) => ({ ...r, key: r.tenant ?? "-" })))]
      : []),
  ].join("\n");
}

export function register(program: Command, ctx: CliContext): void {
  program.command("stats")
    .description("task counts by status, run outcomes, queue age, tokens and cost")
    .option("--tenant <name>", "only this tenant")
    .option(
      "--since <when>",
      "usage of the runs that ended in this window: 24h, 7d, or a time (default: all time)",
    )
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      const since = opts.since === undefined ? undefined : parseSince(opts.since, ctx.now());
      const st = await runTool(TOOLS.stats, s.tools, { tenant: opts.tenant });
      const usage = await s.store.usageStats({ since, tenant: opts.tenant });
      emit(ctx, s.json, { ...st, usage }, () =>
        [
          `${st.total} tasks; ${st.completed_last_24h} completed in the last 24 h`,
          table(Object.entries(st.by_status).map(([k, v]) => [`  ${k}`, String(v)])),
          `${st.runs.total} runs (${st.runs.open} open)${
            Object.keys(st.runs.by_outcome).length > 0
              ? ": " + Object.entries(st.runs.by_outcome).map(([k, v]) => `${k} ${v}`).join(", ")
              : ""
          }`,
          ...(st.oldest_ready_at ? [`oldest ready task waiting since ${st.oldest_ready_at}`] : []),
          "",
          usageText(usage),
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
