/**
 * `create`: add a task. A worker's follow-up carries its run's token (refused once the run
 * has ended; the new task records the run it came from) and inherits the worker's tenant.
 */
import { z } from "zod";
import { type Task, type TaskSummary, ValidationError } from "../store/mod.ts";
import { parseTime } from "../config/duration.ts";
import { capTask } from "./caps.ts";
import { originActor } from "./_target.ts";
import { PRIORITY_WORDS } from "../store/priority.ts";
import type { ToolDeps } from "./tool.ts";

export const CreateInput = z.strictObject({
  title: z.string().describe("one line"),
  body: z.string().optional().describe("markdown: what to do, context, done criteria"),
  assignee: z.string().optional().describe("profile that works on it"),
  parents: z.array(z.string()).optional().describe("ids it waits for; their handoffs reach it"),
  priority: z.union([z.number().int(), z.enum(PRIORITY_WORDS)]).optional()
    .describe(
      "higher runs first: a whole number, or low (-1), normal (0, default), high (1), urgent (2)",
    ),
  tenant: z.string().optional(),
  workspace: z.string().optional().describe("scratch | worktree | dir:/abs/path"),
  skills: z.array(z.string()).optional(),
  needs: z.array(z.string()).optional()
    .describe("labels a host must offer to run it (its dispatch.labels), e.g. macos, gpu"),
  max_runtime_seconds: z.number().int().optional(),
  not_before: z.string().optional().describe("ISO time or +2h"),
  triage: z.boolean().optional().describe("wait for a person to promote it"),
  review: z.boolean().optional().describe("a person approves it after completion"),
  reviewer: z.string().optional().describe("profile that reviews the work, round by round"),
  review_rounds: z.number().int().optional(),
  gate: z.array(z.string()).optional()
    .describe("a person's only: the command (argv) that must exit 0 before it is done"),
  gate_timeout_ms: z.number().int().optional(),
  gate_rounds: z.number().int().optional(),
  idempotency_key: z.string().optional().describe("at most one open task per key"),
  created_by: z.string().optional(),
});

/**
 * CreateOutput is the task plus whether it is new (false: an existing task had the key).
 * With caps the body is left out (the caller just wrote it).
 */
export type CreateOutput = (Task | TaskSummary) & { created: boolean };

/** notBefore reads the time a task may start (see parseTime), naming the field if invalid. */
function notBefore(text: string, now: number): number {
  try {
    return parseTime(text, now);
  } catch (err) {
    throw new ValidationError(`Invalid not_before: ${(err as Error).message}`);
  }
}

export async function create(
  deps: ToolDeps,
  input: z.output<typeof CreateInput>,
): Promise<CreateOutput> {
  const i = input;
  const { task, created } = await deps.store.createTask({
    title: i.title,
    ...(i.body !== undefined ? { body: i.body } : {}),
    assignee: i.assignee ?? null,
    parents: i.parents ?? [],
    ...(i.priority !== undefined ? { priority: i.priority } : {}),
    tenant: i.tenant ?? deps.worker?.tenant ?? null,
    ...(i.workspace !== undefined ? { workspace: i.workspace } : {}),
    skills: i.skills ?? [],
    needs: i.needs ?? [],
    max_runtime_seconds: i.max_runtime_seconds ?? null,
    triage: i.triage === true,
    not_before: i.not_before === undefined
      ? null
      : notBefore(i.not_before, (deps.now ?? Date.now)()),
    review_required: i.review === true,
    ...(i.reviewer !== undefined ? { reviewer: i.reviewer } : {}),
    ...(i.review_rounds !== undefined ? { review_rounds: i.review_rounds } : {}),
    ...(i.gate !== undefined ? { gate: i.gate } : {}),
    ...(i.gate_timeout_ms !== undefined ? { gate_timeout_ms: i.gate_timeout_ms } : {}),
    ...(i.gate_rounds !== undefined ? { gate_rounds: i.gate_rounds } : {}),
    idempotency_key: i.idempotency_key ?? null,
    ...(i.created_by !== undefined ? { created_by: i.created_by } : {}),
  }, originActor(deps));
  return { ...(deps.caps ? capTask(task, deps.caps) : task), created };
}
