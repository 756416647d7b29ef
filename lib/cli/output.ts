/** Output helpers shared by the verbs: one value printed as JSON or as text, and bulk runs. */
import { KanbanError, type Task } from "../store/mod.ts";
import type { CliContext } from "./context.ts";
import { taskLine } from "./render.ts";

/**
 * oneLine makes an error message one line for stderr: control characters (a newline in a
 * value the user gave, an escape sequence) are shown escaped, as JSON would show them.
 */
export function oneLine(message: string): string {
  // deno-lint-ignore no-control-regex
  return message.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** emit prints `value` as compact JSON with `--json`, otherwise the text `render` makes. */
export function emit(ctx: CliContext, json: boolean, value: unknown, render: () => string): void {
  ctx.stdout(`${json ? JSON.stringify(value) : render()}\n`);
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
): Promise<void> {
  if (ids.length === 1) {
    const task = await fn(ids[0]!);
    emit(ctx, json, task, () => taskLine(task));
    return;
  }
  const results: ({ id: string; task: T } | { id: string; error: object })[] = [];
  let failed = 0;
  for (const id of ids) {
    try {
      const task = await fn(id);
      results.push({ id, task });
      if (!json) ctx.stdout(`${taskLine(task)}\n`);
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
