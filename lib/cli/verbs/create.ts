/**
 * `kanban create TITLE`: add a task (ready at once unless it waits for parents or a time),
 * through the `create` tool.
 */
import { readFileSync } from "node:fs";
import { type Command, Option } from "@commander-js/extra-typings";
import { type CliContext, session, UsageError } from "../context.ts";
import { collect, parseDuration, parsePriority, parseTime } from "../parse.ts";
import { runTool, TOOLS } from "../../tools/mod.ts";
import { emit } from "../output.ts";
import { taskLine } from "../render.ts";

/** readBody takes `--body` or `--body-file PATH` (`-` reads standard input). */
export async function readBody(
  ctx: CliContext,
  opts: { body?: string | undefined; bodyFile?: string | undefined },
): Promise<string | undefined> {
  if (opts.body !== undefined && opts.bodyFile !== undefined) {
    throw new UsageError("Give --body or --body-file, not both");
  }
  if (opts.bodyFile === undefined) return opts.body;
  if (opts.bodyFile === "-") return await ctx.readStdin();
  try {
    return readFileSync(opts.bodyFile, "utf8");
  } catch (err) {
    throw new UsageError(`Cannot read --body-file "${opts.bodyFile}": ${(err as Error).message}`);
  }
}

export function register(program: Command, ctx: CliContext): void {
  program.command("create")
    .description("create a task")
    .argument("<title>", "one-line title")
    .option("--body <markdown>", "description (markdown)")
    .option("--body-file <path>", "read the description from a file (- for stdin)")
    .option("-a, --assignee <profile>", "who works on it (a dispatcher profile)")
    .option("-p, --parent <id>", "a task this one waits for (repeatable)", collect, [])
    .option("--priority <n>", "integer, higher first; or low|normal|high|urgent", parsePriority)
    .option("--tenant <name>", "tenant (project, customer) the task belongs to")
    .option("--workspace <kind>", "scratch | worktree | dir:/absolute/path", "scratch")
    .option("--skill <name>", "a skill the worker needs (repeatable)", collect, [])
    .option("--max-runtime <duration>", "stop a run after this long (e.g. 30m)", parseDuration)
    .option("--triage", "park in triage until a person promotes it")
    .addOption(
      new Option("--not-before <time>", "do not start before (ISO time or +2h)")
        .argParser((v) => parseTime(v, ctx.now())),
    )
    .option("--review", "require a review after completion")
    .option("--idempotency-key <key>", "create at most one open task with this key")
    .option("--created-by <name>", "who asked for it (default: you)")
    .action(async (title, opts, cmd) => {
      using s = session(ctx, cmd);
      const body = await readBody(ctx, opts);
      const out = await runTool(TOOLS.create, s.tools, {
        title,
        body,
        assignee: opts.assignee,
        parents: opts.parent,
        priority: opts.priority,
        tenant: opts.tenant,
        workspace: opts.workspace,
        skills: opts.skill,
        max_runtime_seconds: opts.maxRuntime,
        not_before: opts.notBefore === undefined ? undefined : isoTime(opts.notBefore),
        triage: opts.triage === true,
        review: opts.review === true,
        idempotency_key: opts.idempotencyKey,
        created_by: opts.createdBy,
      });
      emit(
        ctx,
        s.json,
        out,
        () =>
          out.created
            ? taskLine(out)
            : `${taskLine(out)}  (existing task with this idempotency key)`,
      );
    });
}

/** isoTime turns a parsed --not-before (epoch ms) into the ISO time the tool takes. */
function isoTime(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw new UsageError("--not-before is out of range");
  return d.toISOString();
}
