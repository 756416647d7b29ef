/**
 * `kanban watch`: print board events as they happen, one line each (JSON lines with
 * `--json`), from the current head (or after `--since ID`) until SIGINT/SIGTERM, `--count`
 * events or `--timeout`. It reads the board's change feed (Store.follow); the id is the cursor,
 * so nothing is missed or printed twice however fast the board writes.
 */
import process from "node:process";
import type { Command } from "@commander-js/extra-typings";
import type { TaskEvent } from "../../store/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { parseDuration } from "../parse.ts";
import { countOption } from "./runs.ts";
import { print } from "../output.ts";

/** How often the feed looks for a commit (ms): a person reading lines needs no faster. */
export const POLL_MS = 200;

function eventId(v: string): number {
  const n = Number(v.trim().replace(/^#/, ""));
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`--since "${v}" is not an event id (a whole number, 0 for all)`);
  }
  return n;
}

/** eventLine is the text form of one event. */
export function eventLine(e: TaskEvent): string {
  const from = typeof e.data["from"] === "string" ? `${e.data["from"]} -> ` : "";
  const to = typeof e.data["to"] === "string" ? `  ${from}${e.data["to"]}` : "";
  const run = e.run_id !== null ? `, run ${e.run_id}` : "";
  return `${e.at}  #${e.id}  ${e.task_id ?? "-"}  ${e.kind}${to}  (${e.actor}${run})`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command("watch")
    .description("print board events as they happen, until Ctrl-C")
    .option("--task <id>", "only this task's events")
    .option("--since <event-id>", "start after this event id (0: the whole history)", eventId)
    .option("-n, --count <n>", "stop after printing this many events", countOption("--count"))
    .option("--timeout <duration>", "stop after this long (90, 30s, 5m)", parseDuration)
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      const taskId = opts.task !== undefined ? await s.store.resolveId(opts.task) : null;
      const cursor = opts.since ?? await s.store.eventHead();
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const deadline = opts.timeout !== undefined
        ? setTimeout(onSignal, opts.timeout * 1000)
        : undefined;
      try {
        ctx.stderr(
          `kanban: watching ${
            taskId ? `task ${taskId}` : "the board"
          } after event #${cursor} (Ctrl-C stops)\n`,
        );
        let printed = 0;
        const feed = s.store.follow(cursor, { signal: stop.signal, pollMs: POLL_MS });
        for await (const events of feed) {
          for (const e of events) {
            if (taskId !== null && e.task_id !== taskId) continue;
            if (s.json) ctx.stdout(`${JSON.stringify(e)}\n`);
            else print(ctx, `${eventLine(e)}\n`);
            if (opts.count !== undefined && ++printed >= opts.count) return;
          }
        }
      } finally {
        clearTimeout(deadline);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
