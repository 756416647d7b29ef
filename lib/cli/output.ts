/**
 * Output helpers shared by the verbs: one value printed as JSON or as text, and bulk runs.
 * This is where text meets the terminal: every text the verbs print through it is made safe
 * there (lib/cli/sanitize.ts), so no verb has to remember it; JSON is printed as it is.
 */
import { KanbanError, type Task } from "../store/mod.ts";
import type { CliContext } from "./context.ts";
import { taskLine } from "./render.ts";
import { escapedLine, terminalText } from "./sanitize.ts";

/**
 * oneLine makes an error message one line for stderr: control characters (a newline in a
 * value the user gave, an escape sequence, C1 and bidi controls) are shown escaped, as JSON
 * would show them (`\n`, `\u001b`), so the message says exactly what was given.
 */
export function oneLine(message: string): string {
  return escapedLine(message);
}

/**
 * print writes text (not JSON) to stdout, made safe for a terminal: board text in it keeps its
 * line feeds and tabs, and every other control character prints as a visible stand-in (`␛`).
 */
export function print(ctx: CliContext, text: string): void {
  ctx.stdout(terminalText(text));
}

/**
 * emit prints `value` as compact JSON with `--json` (exactly: JSON escapes control characters
 * itself), otherwise the text `render` makes, through print().
 */
export function emit(ctx: CliContext, json: boolean, value: unknown, render: () => string): void {
  if (json) ctx.stdout(`${JSON.stringify(value)}\n`);
  else print(ctx, `${render()}\n`);
}

/**
 * TerminalContext is a CliContext that knows whether its stdout is a terminal: main.ts says so
 * for the real process, a test injects it. A context that does not say is not a terminal.
 */
export interface TerminalContext extends CliContext {
  stdoutIsTerminal?: boolean;
}

/**
 * colourOutput says whether text may keep colour sequences: stdout is a terminal and
 * $NO_COLOR (no-color.org) is unset or empty. A pipe or a file gets plain text.
 */
export function colourOutput(ctx: CliContext): boolean {
  return (ctx as TerminalContext).stdoutIsTerminal === true && !ctx.env["NO_COLOR"];
}

/** ReportedError ends a command with an exit code after its output was already printed. */
export class ReportedError extends KanbanError {
  readonly reported = true;
  constructor(message: string) {
    super("partial_failure", message);
  }
}

/**
 * bulk applies `fn` to each id in turn. One id: prints the task (or throws its error).
 * Several: prints one result per id (JSON: an array of `{id, task}` or `{id, error}`),
 * errors go to stderr in text mode, and the exit code is 1 if any failed.
 */
export async function bulk<T extends Pick<Task, "id" | "status" | "title">>(
  ctx: CliContext,
  json: boolean,
  ids: string[],
  fn: (id: string) => Promise<T>,
  line: (task: T) => string = taskLine,
): Promise<void> {
  if (ids.length === 1) {
    const task = await fn(ids[0]!);
    emit(ctx, json, task, () => line(task));
    return;
  }
  const results: ({ id: string; task: T } | { id: string; error: object })[] = [];
  let failed = 0;
  for (const id of ids) {
    try {
      const task = await fn(id);
      results.push({ id, task });
      if (!json) print(ctx, `${line(task)}\n`);
    } catch (err) {
      if (!(err instanceof KanbanError)) throw err;
      failed++;
      results.push({ id, error: { code: err.code, message: err.message } });
      if (!json) ctx.stderr(`kanban: ${oneLine(err.message)}\n`);
    }
  }
  if (json) ctx.stdout(`${JSON.stringify(results)}\n`);
  if (failed > 0) throw new ReportedError(`${failed} of ${ids.length} failed`);
}
