/**
 * `kanban create TITLE`: add a task (ready at once unless it waits for parents or a time),
 * through the `create` tool.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { type CliContext, session, UsageError } from "../context.ts";
import {
  collect,
  parseCount,
  parseDuration,
  parseGate,
  parsePriority,
  parseTime,
} from "../parse.ts";
import { runTool, TOOLS } from "../../tools/mod.ts";
import { BODY_MAX_BYTES } from "../../store/mod.ts";
import { readCapped, TooLargeError } from "../../readcap.ts";
import { emit } from "../output.ts";
import { taskLine } from "../render.ts";

/**
 * readBody takes `--body` or `--body-file PATH` (`-` reads standard input). A file is read
 * up to the largest task body (1 MiB) and no further: `--body-file /dev/zero` fails at once.
 */
export async function readBody(
  ctx: CliContext,
  opts: { body?: string | undefined; bodyFile?: string | undefined },
): Promise<string | undefined> {
  if (opts.body !== undefined && opts.bodyFile !== undefined) {
    throw new UsageError("Give --body or --body-file, not both");
  }
  if (opts.bodyFile === undefined) return opts.body;
  const what = opts.bodyFile === "-"
    ? "--body-file - (standard input)"
    : `--body-file "${opts.bodyFile}"`;
  let text: string;
  try {
    text = opts.bodyFile === "-"
      ? await ctx.readStdin(BODY_MAX_BYTES, what)
      : readCapped(opts.bodyFile, BODY_MAX_BYTES, what);
  } catch (err) {
    if (err instanceof TooLargeError) throw tooLarge(what);
    throw new UsageError(`Cannot read ${what}: ${(err as Error).message}`);
  }
  // the size once more, for a readStdin that does not cap (tests inject one)
  if (new TextEncoder().encode(text).length > BODY_MAX_BYTES) throw tooLarge(what);
  return text;
}

function tooLarge(what: string): UsageError {
  return new UsageError(
    `${what} is larger than 1 MiB, the largest task body (reading stopped there)`,
  );
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
    .option(
      "--needs <label>",
      "a label the host that runs it must offer, e.g. macos or gpu (repeatable)",
      collect,
      [],
    )
    .option("--max-runtime <duration>", "stop a run after this long (e.g. 30m)", parseDuration)
    .option("--triage", "park in triage until a person promotes it")
    .addOption(
      new Option("--not-before <time>", "do not start before (ISO time or +2h)")
        .argParser((v) => parseTime(v, ctx.now())),
    )
    .option("--review", "a person approves the work after completion (after its reviewer)")
    .option("--reviewer <profile>", "the profile whose worker reviews the work, round by round")
    .option(
      "--review-rounds <n>",
      "rounds of review before a person decides (default 3)",
      parseCount,
    )
    .option(
      "--gate <command>",
      'must exit 0 before the task is done, e.g. "make check" (split like a shell line, ' +
        "run without one; docs/gates.md)",
      parseGate,
    )
    .option("--no-gate", "no completion gate, not even its profile's")
    .option("--gate-timeout <duration>", "the gate's time limit (default 10m)", parseDuration)
    .option("--gate-rounds <n>", "failed gates before the task is blocked (default 3)", parseCount)
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
        needs: opts.needs,
        max_runtime_seconds: opts.maxRuntime,
        not_before: opts.notBefore === undefined ? undefined : isoTime(opts.notBefore),
        triage: opts.triage === true,
        review: opts.review === true,
        reviewer: opts.reviewer,
        review_rounds: opts.reviewRounds,
        gate: opts.gate === false ? [] : opts.gate,
        gate_timeout_ms: opts.gateTimeout === undefined ? undefined : opts.gateTimeout * 1000,
        gate_rounds: opts.gateRounds,
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
