/**
 * `kanban why ID`: why a task is not running, as a list of reasons with their details
 * (lib/store/why.ts): its parents, its start time, a retry backoff, no live dispatcher, no
 * live host defining its profile or offering its labels, its profile's cap, full or pressed
 * hosts. Read from the board alone, so it says the same on any host.
 */
import type { Command } from "@commander-js/extra-typings";
import type { Why } from "../../store/mod.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";

/** whyText renders a why for the terminal: the task, then one line per reason. */
export function whyText(w: Why): string {
  const out = [`${w.task}  ${w.status}  ${w.assignee ?? "-"}  ${w.title}`];
  if (w.reasons.length === 0) out.push(`  ${w.summary}`);
  for (const r of w.reasons) out.push(`  ${r.code}: ${r.message}`);
  if (w.waiting && w.last_held !== null) {
    const d = w.last_held.data;
    out.push(
      `last held by ${d["host"] ?? "?"} at ${w.last_held.at}: ${d["reason"] ?? "?"}${
        typeof d["detail"] === "string" ? ` (${d["detail"]})` : ""
      }`,
    );
  }
  return out.join("\n");
}

export function register(program: Command, ctx: CliContext): void {
  program.command("why")
    .description("explain why a task is not running (parents, time, caps, hosts, pressure)")
    .argument("<id>", "task id or unique prefix")
    .action(async (id, _opts, cmd) => {
      using s = session(ctx, cmd);
      const w = await s.store.why(id);
      emit(ctx, s.json, w, () => whyText(w));
    });
}
