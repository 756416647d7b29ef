/**
 * `kanban status`: the health of the board's dispatching: dispatchers and their last pass,
 * running workers, caps in use, the ready queue, and warnings worth a person's attention.
 * lib/dispatch/health.ts computes it (the HTTP API returns the same object).
 */
import type { Command } from "@commander-js/extra-typings";
import { ago, boardHealth } from "../../dispatch/health.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";
import { budgetLine } from "./budget.ts";
import { holdLine } from "./profile.ts";
import { localText } from "../../store/mod.ts";

/** nextText is a routine's next time in its zone and how soon it comes. */
function nextText(iso: string, tz: string, now: number): string {
  const mins = Math.max(0, Math.round((Date.parse(iso) - now) / 60_000));
  const soon = mins < 60
    ? `${mins}m`
    : mins < 2880
    ? `${Math.round(mins / 60)}h`
    : `${Math.round(mins / 1440)}d`;
  return `${localText(tz, Date.parse(iso))} (in ${soon})`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command("status")
    .description("dispatcher health: dispatchers, workers, caps, queue, warnings")
    .action(async (_opts, cmd) => {
      using s = session(ctx, cmd);
      const now = ctx.now();
      const status = await boardHealth({ store: s.store, env: ctx.env, now });
      const { dispatchers, workers, caps, warnings } = status;
      const { ready, claimable, oldest_ready_at: oldest } = status.queue;
      emit(ctx, s.json, status, () => {
        const out: string[] = [`board ${status.board}`, ""];
        out.push(
          dispatchers.length === 0 ? "dispatchers: none seen in the last hour" : "dispatchers:",
        );
        for (const d of dispatchers) {
          const workers = (d.workers === null ? "" : `  ${d.workers} worker(s)`) +
            (d.labels.length > 0 ? `  labels ${d.labels.join(",")}` : "");
          out.push(
            `  ${d.id}  host ${d.host}  ${d.state}${d.leader ? " (leader)" : ""}${workers}  ` +
              `last pass ${d.last_tick_age_s}s ago`,
          );
          const held = Object.entries(d.holds).filter(([, n]) => n > 0);
          if (d.state === "active" && held.length > 0) {
            out.push(
              `    held: ${held.map(([why, n]) => `${n} ${why}`).join(", ")} (kanban why ID)`,
            );
          }
        }
        const from = caps.max_workers_from === "memory" ? " (max_workers from memory)" : "";
        out.push(
          "",
          `workers: ${caps.running}${caps.max_workers ? `/${caps.max_workers}${from}` : ""}`,
        );
        if (workers.length > 0) {
          out.push(table([
            ["  RUN", "TASK", "PROFILE", "PID", "AGE", "LAST OUTPUT", "TITLE"],
            ...workers.map((w) => [
              `  ${w.run}`,
              w.task,
              w.profile ?? "-",
              String(w.pid ?? "-"),
              `${w.age_s}s`,
              w.last_output_at ? `${ago(w.last_output_at, now)}s ago` : "-",
              w.title,
            ]),
          ]));
        }
        if (caps.profiles.length > 0) {
          out.push(
            `profiles (${
              caps.source === "dispatcher" ? "as the running dispatcher has them" : "config.toml"
            }):`,
          );
        }
        for (const p of caps.profiles) out.push(`  ${p.profile}: ${p.running}/${p.max_concurrent}`);
        out.push(
          "",
          `queue: ${ready} ready (${claimable} claimable now)${
            oldest ? `, oldest since ${oldest}` : ""
          }`,
        );
        const routines = status.routines;
        if (routines.length > 0) {
          out.push("", "routines:");
          out.push(table([
            ["  NAME", "NEXT", "CRON"],
            ...routines.map((r) => [
              `  ${r.name}`,
              r.paused ? "paused" : r.next_at === null ? "never" : nextText(r.next_at, r.tz, now),
              `${r.cron} (${r.tz})`,
            ]),
          ]));
        }
        if (status.budgets.length > 0) {
          out.push("", "budgets:", ...status.budgets.map((b) => `  ${budgetLine(b)}`));
        }
        if (status.holds.length > 0) {
          out.push("", "held profiles:", ...status.holds.map((h) => `  ${holdLine(h)}`));
        }
        out.push(
          "",
          warnings.length === 0 ? "no warnings" : "warnings:",
          ...warnings.map((w) => `  ! ${w}`),
        );
        return out.join("\n");
      });
    });
}
