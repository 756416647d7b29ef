/**
 * `kanban log ID` prints a run's worker log; `kanban tail ID` follows events and log live. The
 * log is what an agent CLI printed: on a terminal its colours stay, every other escape sequence
 * is removed (a log must not clear the screen or write the clipboard), and a pipe gets plain
 * text; `--raw` prints the log as written.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import process from "node:process";
import { Buffer } from "node:buffer";
import type { Command } from "@commander-js/extra-typings";
import { NotFoundError, type Run, type TaskEvent } from "../../store/mod.ts";
import { loadConfig } from "../../config/config.ts";
import { readableLine, readLogText } from "../../dispatch/output.ts";
import type { Preset } from "../../dispatch/presets/mod.ts";
import { presetOf } from "../../dispatch/profiles.ts";
import { type CliContext, session } from "../context.ts";
import { colourOutput, print } from "../output.ts";
import { LogFilter } from "../sanitize.ts";
import { countOption } from "./runs.ts";

function pickRun(runs: Run[], id: string, runId: number | undefined): Run & { log_path: string } {
  const run = runId === undefined
    ? runs.find((r) => r.log_path !== null)
    : runs.find((r) => r.id === runId);
  if (!run) {
    throw new NotFoundError(
      runId === undefined
        ? `Task "${id}" has no run with a log`
        : `Task "${id}" has no run ${runId}`,
    );
  }
  if (run.log_path === null) {
    throw new NotFoundError(`Run ${run.id} has no log (it was not started by the dispatcher)`);
  }
  return run as Run & { log_path: string };
}

function readLog(path: string): string {
  const text = readLogText(path);
  if (text === null) throw new NotFoundError(`Log file ${path} is gone (removed by gc?)`);
  return text;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * presetOfRun is the preset whose CLI wrote a run's log (from config.toml's profile of the
 * run), when it writes machine-readable output that reads better through the preset.
 */
function presetOfRun(ctx: CliContext, run: Run): Preset | undefined {
  try {
    const preset = presetOf(loadConfig(ctx.env).profiles[run.profile ?? ""]);
    return preset?.readable ? preset : undefined;
  } catch {
    return undefined; // an unreadable config.toml: the log as it is
  }
}

/**
 * Readable turns log text into the lines a person reads through the run's preset; text after
 * the last newline waits for the rest of its line (tail reads the log in pieces).
 */
class Readable {
  #partial = "";
  constructor(readonly preset: Preset | undefined) {}
  push(text: string): string {
    if (!this.preset) return text;
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop()!;
    return lines.map((l) => readableLine(l, this.preset)).filter((l) => l)
      .map((l) => `${l}\n`).join("");
  }
  flush(): string {
    const rest = this.#partial;
    this.#partial = "";
    return rest === "" ? "" : this.push(`${rest}\n`);
  }
}

const RAW = "the log as written: not read through the preset, escape sequences kept";

export function register(program: Command, ctx: CliContext): void {
  program.command("log")
    .description("print the worker log of a task's latest run (or --run N)")
    .argument("<id>", "task id or unique prefix")
    .option("--run <n>", "this run instead of the latest", countOption("--run"))
    .option("--raw", RAW)
    .action(async (id, opts, cmd) => {
      using s = session(ctx, cmd);
      const taskId = await s.store.resolveId(id);
      const run = pickRun(await s.store.listRuns(taskId), taskId, opts.run);
      const text = readLog(run.log_path);
      if (s.json) ctx.stdout(`${JSON.stringify({ run: run.id, path: run.log_path, log: text })}\n`);
      else if (opts.raw) ctx.stdout(text);
      else {
        const readable = new Readable(presetOfRun(ctx, run));
        const filter = new LogFilter(colourOutput(ctx));
        ctx.stdout(filter.push(readable.push(text) + readable.flush()) + filter.flush());
      }
    });

  program.command("tail")
    .description("follow a task's events and worker log until it leaves running (or Ctrl-C)")
    .argument("<id>", "task id or unique prefix")
    .option("--raw", RAW)
    .action(async (id, opts, cmd) => {
      using s = session(ctx, cmd);
      const taskId = await s.store.resolveId(id);
      const stop = new AbortController();
      const onSig = () => stop.abort();
      process.once("SIGINT", onSig);
      process.once("SIGTERM", onSig);
      let path: string | null = null;
      let offset = 0;
      let readable = new Readable(undefined);
      let decoder = new TextDecoder();
      // --raw: the log as written; otherwise safe for this stdout (colours on a terminal only)
      const filter = opts.raw ? null : new LogFilter(colourOutput(ctx));
      const out = (text: string) => ctx.stdout(filter ? filter.push(text) : text);
      const endOfLog = () => {
        out(readable.push(decoder.decode()) + readable.flush());
        if (filter) ctx.stdout(filter.flush());
      };
      const printEvent = (e: TaskEvent) => {
        const to = typeof e.data["to"] === "string" ? ` -> ${e.data["to"]}` : "";
        const note = typeof e.data["note"] === "string" ? `: ${e.data["note"]}` : "";
        print(ctx, `--- ${e.at} ${e.kind}${to}${note} (${e.actor})\n`);
      };
      const shown = await s.store.showTask(taskId, 20);
      for (const e of shown.events) printEvent(e);
      let cursor = await s.store.eventHead();
      const pump = () => {
        if (path === null || !existsSync(path)) return;
        const size = statSync(path).size;
        if (size < offset) { // rotated: the file was truncated
          offset = 0;
          decoder = new TextDecoder();
        }
        if (size === offset) return;
        const fd = openSync(path, "r");
        try {
          const buf = Buffer.alloc(size - offset);
          readSync(fd, buf, 0, buf.length, offset);
          offset = size;
          // a character cut at the end of what was written so far waits for its other bytes
          out(readable.push(decoder.decode(buf, { stream: true })));
        } finally {
          closeSync(fd);
        }
      };
      try {
        for (;;) {
          const task = await s.store.getTask(taskId);
          const runs = await s.store.listRuns(taskId, 1);
          const latest = runs[0];
          if (latest?.log_path && latest.log_path !== path) {
            endOfLog();
            path = latest.log_path;
            offset = 0;
            readable = new Readable(opts.raw ? undefined : presetOfRun(ctx, latest));
            decoder = new TextDecoder();
            print(ctx, `--- run ${latest.id} log: ${path}\n`);
          }
          pump();
          for (const e of await s.store.eventsSince(cursor, 500)) {
            cursor = e.id;
            if (e.task_id === taskId) printEvent(e);
          }
          if (task.status !== "running" || stop.signal.aborted) {
            pump();
            endOfLog();
            print(ctx, `--- ${taskId} is ${task.status}\n`);
            return;
          }
          await sleep(200);
        }
      } finally {
        process.off("SIGINT", onSig);
        process.off("SIGTERM", onSig);
      }
    });
}
