/**
 * `show`: a task with its parents, children, comments, events and runs; each run lists the
 * tasks its worker created. With caps, the body and texts are cut and only the most recent
 * comments, events and runs, and the first linked tasks, are kept (`omitted` counts the rest;
 * events are counted within the last 500).
 */
import { z } from "zod";
import type { RunDetail, Store } from "../store/mod.ts";
import { type Caps, clip, clipJson, clipNullable } from "./caps.ts";
import { readTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

export const ShowInput = z.strictObject({
  id: z.string().optional().describe("task id or unique prefix (default: your task)"),
});

/**
 * ShowOutput is the full shape (no caps): the `kanban show --json` shape, with the task's
 * review state and its last completion gate when it has them (Store.showTask).
 */
export type ShowOutput = Awaited<ReturnType<Store["showTask"]>>;

/** CappedShowOutput is the shape under caps; `omitted` counts what was left out. */
export type CappedShowOutput = ReturnType<typeof capDetail>;

/** How many events to read before capping: enough to count what is left out. */
const EVENT_WINDOW = 500;

export async function show(
  deps: ToolDeps,
  input: z.output<typeof ShowInput>,
): Promise<ShowOutput | CappedShowOutput> {
  const id = readTarget(deps, input.id);
  if (!deps.caps) return await deps.store.showTask(id);
  return capDetail(await deps.store.showTask(id, EVENT_WINDOW), deps.caps);
}

/** A run as an agent needs it: outcome and handoff, not process bookkeeping. */
function capRun(r: RunDetail, caps: Caps) {
  return {
    id: r.id,
    profile: r.profile,
    open: r.open,
    started_at: r.started_at,
    ended_at: r.ended_at,
    outcome: r.outcome,
    summary: clipNullable(r.summary, caps.text),
    metadata: r.metadata === null ? null : clipJson(r.metadata, caps.text),
    error: clipNullable(r.error, caps.text),
    created_tasks: r.created_tasks.slice(0, caps.links),
    ...(r.created_tasks.length > caps.links
      ? { created_omitted: r.created_tasks.length - caps.links }
      : {}),
  };
}

function capDetail(d: ShowOutput, caps: Caps) {
  const left = (n: number, keep: number) => Math.max(0, n - keep);
  const omitted = Object.entries({
    parents: left(d.parents.length, caps.links),
    children: left(d.children.length, caps.links),
    comments: left(d.comments.length, caps.comments),
    events: left(d.events.length, caps.events),
    runs: left(d.runs.length, caps.runs),
  }).filter(([, n]) => n > 0);
  return {
    task: {
      ...d.task,
      body: clip(d.task.body, caps.body),
      result: clipNullable(d.task.result, caps.text),
    },
    parents: d.parents.slice(0, caps.links),
    children: d.children.slice(0, caps.links),
    comments: d.comments.slice(-caps.comments).map((c) => ({
      ...c,
      body: clip(c.body, caps.text),
    })),
    // A completion's event repeats its summary and metadata: cut like the texts.
    events: d.events.slice(-caps.events).map((e) => ({ ...e, data: clipJson(e.data, caps.text) })),
    runs: d.runs.slice(-caps.runs).map((r) => capRun(r, caps)),
    waiting_on: d.waiting_on.slice(0, caps.links),
    // what the agent is asked to act on: where the review loop stands, how its gate went
    ...(d.review !== undefined ? { review: d.review } : {}),
    ...(d.gate_result !== undefined ? { gate_result: d.gate_result } : {}),
    ...(omitted.length > 0 ? { omitted: Object.fromEntries(omitted) } : {}),
  };
}
