/**
 * Decomposition (docs/decompose.md): `kanban decompose ID` asks the orchestrator profile to
 * split a triage task into a plan; the orchestrator's worker submits it with `kanban plan
 * submit FILE` (the `plan` tool); a person approves or rejects a plan that waits for approval
 * (`kanban plan approve|reject`), and `kanban plan show` says where a task's plan stands.
 */
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "../../config/config.ts";
import { decomposeRequest } from "../../dispatch/decompose.ts";
import { KanbanError, type PlanReview, type PlanState, ValidationError } from "../../store/mod.ts";
import { runTool, TOOLS } from "../../tools/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { bulk, emit } from "../output.ts";
import { oneLine } from "../../dispatch/prompt.ts";
import { readCapped } from "../../readcap.ts";

/** The largest plan file read (a plan has at most 200 tasks of a few KiB each). */
export const PLAN_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** stateLine says where a plan stands, in one line. */
function stateLine(id: string, s: PlanState): string {
  switch (s.state) {
    case "none":
      return `${id}: not decomposed`;
    case "requested":
      return `${id}: waiting for ${oneLine(s.request.profile)}'s plan`;
    default:
      return `${id}: plan of ${s.tasks.length} tasks, ${
        s.state === "approval" ? "waiting for a person's approval" : "under way"
      }; reviewed by ${s.request.review === "person" ? "a person" : oneLine(s.request.profile)}`;
  }
}

/** readPlan reads a plan's JSON from FILE, or standard input for "-". */
async function readPlan(ctx: CliContext, file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === "-"
      ? await ctx.readStdin(PLAN_FILE_MAX_BYTES, "standard input")
      : readCapped(file, PLAN_FILE_MAX_BYTES, `"${file}"`);
  } catch (err) {
    if (err instanceof KanbanError) throw err;
    throw new KanbanError(
      "cannot_read",
      `Cannot read the plan "${file}": ${(err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`The plan "${file}" is not JSON: ${(err as Error).message}`);
  }
}

export function register(program: Command, ctx: CliContext): void {
  program.command("decompose")
    .description(
      "ask the orchestrator profile to split triage tasks into plans (docs/decompose.md)",
    )
    .argument("<ids...>", "task ids or unique prefixes (in triage, or blocked)")
    .option("--profile <name>", "the orchestrator (default: decompose.profile in config.toml)")
    .option("--review <who>", "who reviews once the plan's tasks are done: person | orchestrator")
    .option("--approval", "a person approves the plan before any of its tasks runs")
    .option("--config <path>", "config file (default: $KANBAN_CONFIG or <home>/config.toml)")
    .action(async (ids, opts, cmd) => {
      if (opts.review !== undefined && opts.review !== "person" && opts.review !== "orchestrator") {
        throw new UsageError(`--review: "${opts.review}" is not person or orchestrator`);
      }
      const request = decomposeRequest(loadConfig(ctx.env, opts.config), {
        profile: opts.profile,
        review: opts.review as PlanReview | undefined,
        ...(opts.approval ? { approval: true } : {}),
      });
      using s = session(ctx, cmd);
      await bulk(ctx, s.json, ids, (id) => s.store.decompose(id, request, s.actor));
    });

  const plan = program.command("plan")
    .description("submit, approve, reject or show a decomposition's plan (docs/decompose.md)");

  plan.command("submit")
    .description("the orchestrator's worker submits its plan (JSON in FILE, or - for stdin)")
    .argument("<file>", "the plan: {summary, tasks: [{ref, title, body, assignee, after}]}")
    .argument("[id]", "task id (default: $KANBAN_TASK)")
    .action(async (file, id, _opts, cmd) => {
      const input = await readPlan(ctx, file);
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        throw new ValidationError(`The plan "${file}" is not a JSON object`);
      }
      using s = session(ctx, cmd);
      const r = await runTool(TOOLS.plan, s.tools, { ...input, ...(id ? { id } : {}) });
      emit(ctx, s.json, r, () =>
        [
          `${r.task.id}: planned ${r.tasks.length} tasks; it waits for them (${r.task.status})`,
          ...r.tasks.map((t) => `  ${t.ref}: ${t.id} ${t.status} (${oneLine(t.assignee ?? "-")})`),
        ].join("\n"));
    });

  plan.command("approve")
    .description("let plans waiting for a person's approval run")
    .argument("<ids...>", "the decomposed tasks' ids")
    .action(async (ids, _opts, cmd) => {
      using s = session(ctx, cmd);
      await bulk(ctx, s.json, ids, async (id) => {
        await s.store.approvePlan(id, s.actor);
        return s.store.getTask(id);
      });
    });

  plan.command("reject")
    .description("cancel a plan waiting for approval; its task is blocked with the reason")
    .argument("<id>", "the decomposed task's id")
    .argument("<reason>", "why (the orchestrator reads it if asked to decompose again)")
    .action(async (id, reason, _opts, cmd) => {
      using s = session(ctx, cmd);
      await bulk(ctx, s.json, [id], (one) => s.store.rejectPlan(one, reason, s.actor));
    });

  plan.command("show")
    .description("where a task's decomposition stands")
    .argument("<id>", "task id or unique prefix")
    .action(async (id, _opts, cmd) => {
      using s = session(ctx, cmd);
      const task = await s.store.getTask(id);
      const state = await s.store.planState(task.id);
      emit(ctx, s.json, { task: task.id, ...state }, () => stateLine(task.id, state));
    });
}
