/**
 * `kanban routine add|list|show|pause|resume|remove|run-now`: recurring work (docs/routines.md).
 * A routine makes one task (`--title ...`) or a template's graph (`--template T --input k=v`,
 * rendered when it is added) at each occurrence of its cron expression in its time zone; the
 * dispatcher fires it, each occurrence once, whatever the number of dispatchers.
 */
import { randomBytes } from "node:crypto";
import type { Command } from "@commander-js/extra-typings";
import {
  type CatchUp,
  type GraphTaskInput,
  hostTimeZone,
  localText,
  type Routine,
} from "../../store/mod.ts";
import { graphOf } from "../../templates/render.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { collect, parsePriority } from "../parse.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";
import { INPUT_FILE_HELP, loadTemplate, refuseMissing, render } from "./template.ts";

/** parseCount reads `--max-catch-up`: a whole number. */
function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new UsageError(`--max-catch-up ${JSON.stringify(text)}: give a whole number, e.g. 10`);
  }
  return Number(text);
}

/** whenText shows a routine's time in its zone, with how far it is from now. */
function whenText(r: Routine, iso: string | null, now: number): string {
  if (iso === null) return "-";
  const ms = Date.parse(iso);
  const mins = Math.round((ms - now) / 60_000);
  const rel = Math.abs(mins) < 60
    ? `${Math.abs(mins)}m`
    : Math.abs(mins) < 48 * 60
    ? `${Math.round(Math.abs(mins) / 60)}h`
    : `${Math.round(Math.abs(mins) / 1440)}d`;
  const from = mins === 0 ? "now" : mins > 0 ? `in ${rel}` : `${rel} ago`;
  return `${localText(r.tz, ms)} (${from})`;
}

/** makesText says what a routine makes: its task's title, or its template and node count. */
export function makesText(r: Routine): string {
  if (r.template !== null) {
    return `template ${r.template} (${r.nodes.length} task${r.nodes.length === 1 ? "" : "s"})`;
  }
  const t = r.nodes[0]?.task;
  return `task "${t?.title ?? ""}"${t?.assignee ? ` for ${t.assignee}` : ""}`;
}

/** routineLine is one routine for a person: name, state, schedule, next time, what it makes. */
export function routineLine(r: Routine, now: number): string {
  const state = r.paused ? "paused" : `next ${whenText(r, r.next_at, now)}`;
  return `${r.name}  ${r.cron} (${r.tz})  ${state}  ${makesText(r)}`;
}

function detailText(r: Routine, now: number): string {
  return [
    `routine ${r.name} (${r.id})`,
    `  cron:      ${r.cron}  in ${r.tz}`,
    `  state:     ${r.paused ? "paused" : "active"}`,
    `  next:      ${r.paused ? "- (paused)" : whenText(r, r.next_at, now)}`,
    `  last:      ${whenText(r, r.last_at, now)}`,
    `  catch-up:  ${r.catch_up}${r.catch_up === "all" ? ` (at most ${r.max_catch_up})` : ""}`,
    `  makes:     ${makesText(r)}`,
    `  fired:     ${r.fired}`,
    `  created:   ${r.created_at} by ${r.created_by}`,
  ].join("\n");
}

export function register(program: Command, ctx: CliContext): void {
  const routine = program.command("routine")
    .description("recurring work: a task or template fired on a cron schedule (docs/routines.md)");

  routine.command("add")
    .description("add a routine that makes a task (--title) or a template's tasks on a schedule")
    .argument("<name>", 'a name: letters, digits, ".", "_" and "-", up to 64')
    .requiredOption("--cron <expression>", 'when: 5 fields, e.g. "0 9 * * 1-5", or @daily ...')
    .option("--tz <zone>", "the IANA time zone the cron is read in (default: this host's)")
    .option("--title <title>", "the task each occurrence makes")
    .option("--body <markdown>", "its description")
    .option("-a, --assignee <profile>", "who works on it (a dispatcher profile)")
    .option("--priority <n>", "integer, higher first; or low|normal|high|urgent", parsePriority)
    .option("--tenant <name>", "tenant (project, customer) its tasks belong to")
    .option("--needs <label>", "a label the host that runs it must offer (repeatable)", collect, [])
    .option("--skill <name>", "a skill the worker needs (repeatable)", collect, [])
    .option("--review", "require a review after completion")
    .option("--template <template>", "a template (file or NAME) whose graph each occurrence makes")
    .option("--input <name=value>", "a template input's value (repeatable)", collect, [])
    .option("--input-file <name=path>", INPUT_FILE_HELP, collect, [])
    .option(
      "--role <role=profile>",
      "the profile a template role goes to (repeatable)",
      collect,
      [],
    )
    .option(
      "--catch-up <policy>",
      "missed occurrences: skip (none), once (one for all), all (each, up to --max-catch-up)",
      "skip",
    )
    .option(
      "--max-catch-up <n>",
      "the most missed occurrences `all` fires (default 10)",
      parseCount,
    )
    .action(async (name, opts, cmd) => {
      const task = opts.title !== undefined;
      const tpl = opts.template !== undefined;
      if (task === tpl) {
        throw new UsageError(
          "kanban routine add: give --title TITLE (a task) or --template TEMPLATE (its graph), " +
            "one of them",
        );
      }
      const taskOnly = ["body", "assignee", "priority", "tenant", "review"] as const;
      const stray = tpl ? taskOnly.find((o) => opts[o] !== undefined) : undefined;
      if (stray !== undefined) {
        throw new UsageError(`--${stray} is for a --title routine; a template's nodes set it`);
      }
      if (task && (opts.input.length > 0 || opts.inputFile.length > 0 || opts.role.length > 0)) {
        throw new UsageError("--input, --input-file and --role are for a --template routine");
      }
      let template: { name: string; nodes: ReturnType<typeof graphOf>["nodes"] } | undefined;
      if (opts.template !== undefined) {
        const r = render(ctx, loadTemplate(ctx, opts.template), opts);
        refuseMissing(r);
        template = { name: r.name, nodes: graphOf(r, "routine").nodes };
      }
      const spec: GraphTaskInput | undefined = task
        ? {
          title: opts.title!,
          ...(opts.body !== undefined ? { body: opts.body } : {}),
          ...(opts.assignee !== undefined ? { assignee: opts.assignee } : {}),
          ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
          ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
          ...(opts.needs.length > 0 ? { needs: opts.needs } : {}),
          ...(opts.skill.length > 0 ? { skills: opts.skill } : {}),
          ...(opts.review ? { review_required: true } : {}),
        }
        : undefined;
      using s = session(ctx, cmd);
      const out = await s.store.addRoutine({
        name,
        cron: opts.cron,
        tz: opts.tz ?? hostTimeZone(),
        task: spec,
        template,
        catch_up: opts.catchUp as CatchUp,
        max_catch_up: opts.maxCatchUp,
      }, s.actor);
      emit(ctx, s.json, out, () => `added routine ${routineLine(out, ctx.now())}`);
    });

  routine.command("list")
    .description("list the routines with their next time")
    .action(async (_opts, cmd) => {
      using s = session(ctx, cmd);
      const list = await s.store.listRoutines();
      const now = ctx.now();
      emit(ctx, s.json, list, () =>
        list.length === 0 ? "No routines." : table([
          ["NAME", "CRON", "TZ", "NEXT", "CATCH-UP", "MAKES"],
          ...list.map((r) => [
            r.name,
            r.cron,
            r.tz,
            r.paused ? "paused" : whenText(r, r.next_at, now),
            r.catch_up === "all" ? `all (${r.max_catch_up})` : r.catch_up,
            makesText(r),
          ]),
        ]));
    });

  routine.command("show")
    .description("show one routine: schedule, next and last time, what it makes")
    .argument("<name>", "the routine")
    .action(async (name, _opts, cmd) => {
      using s = session(ctx, cmd);
      const r = await s.store.getRoutine(name);
      emit(ctx, s.json, r, () => detailText(r, ctx.now()));
    });

  for (const [verb, what] of [["pause", "stop"], ["resume", "start again"]] as const) {
    routine.command(verb)
      .description(
        verb === "pause"
          ? "stop a routine firing (run-now still works)"
          : "start a paused routine again from its next occurrence (no catch-up of paused time)",
      )
      .argument("<name>", `the routine to ${what}`)
      .action(async (name, _opts, cmd) => {
        using s = session(ctx, cmd);
        const r = verb === "pause"
          ? await s.store.pauseRoutine(name)
          : await s.store.resumeRoutine(name);
        emit(ctx, s.json, r, () => `${verb}d routine ${routineLine(r, ctx.now())}`);
      });
  }

  routine.command("remove")
    .description("remove a routine (the tasks it made stay)")
    .argument("<name>", "the routine")
    .action(async (name, _opts, cmd) => {
      using s = session(ctx, cmd);
      const r = await s.store.removeRoutine(name);
      emit(ctx, s.json, r, () => `removed routine ${r.name}`);
    });

  routine.command("run-now")
    .description("fire one occurrence now, outside the schedule (once per --key)")
    .argument("<name>", "the routine")
    .option(
      "--key <key>",
      "names this run: the same key again returns the tasks it made (default: a new key)",
    )
    .action(async (name, opts, cmd) => {
      using s = session(ctx, cmd);
      const key = opts.key ?? `cli-${randomBytes(6).toString("hex")}`;
      const f = await s.store.runRoutineNow(name, key);
      const out = { ...f, occurrence: new Date(f.occurrence).toISOString() };
      emit(ctx, s.json, out, () => {
        const head = f.created
          ? `fired routine ${name} (key ${key}): ${f.tasks.length} task(s)`
          : `already fired by key ${key}: ${f.tasks.length} task(s) (nothing changed)`;
        return [head, ...f.tasks.map((t) => `  ${t.id}  ${t.ref}`)].join("\n");
      });
    });
}
