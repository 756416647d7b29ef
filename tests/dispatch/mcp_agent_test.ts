/**
 * An agent that works through MCP: the dispatcher runs agents/mcp_agent.ts for the planner
 * profile; it speaks MCP to `kanban mcp` (the real binary, bound to its task by the worker
 * environment), plans two follow-ups for the writer profile, and completes. The writer
 * tasks then run in order, each with the planner's handoff in its context.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { agent, denoAgent, harness } from "./_harness.ts";

/** The profile that runs the MCP agent. */
const MCP_PLANNER = denoAgent("mcp_agent.ts");

Deno.test("an MCP agent plans follow-ups for another profile; they run in order with its handoff", async () => {
  await using h = await harness({ planner: MCP_PLANNER, writer: agent("complete.sh") });
  const plan = await h.create("the user guide", "planner", { body: "Plan the guide." });
  await h.until(async () => {
    const tasks = await h.store.listTasks();
    return tasks.length === 3 && tasks.every((t) => t.status === "done");
  }, 60_000);

  const shown = await h.store.showTask(plan.id);
  assert.equal(shown.runs.length, 1);
  const run = shown.runs[0]!;
  assert.equal(run.outcome, "completed", readFileSync(run.log_path!, "utf8"));
  assert.equal(run.summary, 'Planned "the user guide" as 2 tasks for writer: draft, then review.');
  // The run's history shows the tasks it created.
  const [draft, review] = run.created_tasks;
  assert.deepEqual(run.created_tasks.map((t) => [t.title, t.assignee, t.status]), [
    ["draft: the user guide", "writer", "done"],
    ["review: the user guide", "writer", "done"],
  ]);
  assert.deepEqual(run.metadata, { tasks: [draft!.id, review!.id] });
  const log = readFileSync(run.log_path!, "utf8");
  assert.match(
    log,
    /tools: show, heartbeat, comment, complete, block, request_review, review, plan, create, link/,
  );

  // Each child waited for the plan; the review waited for the draft, and ran after it.
  const draftShown = await h.store.showTask(draft!.id);
  const reviewShown = await h.store.showTask(review!.id);
  assert.deepEqual(draftShown.parents.map((p) => p.id), [plan.id]);
  assert.deepEqual(reviewShown.parents.map((p) => p.id).sort(), [plan.id, draft!.id].sort());
  assert.ok(draftShown.task.completed_at! <= reviewShown.task.started_at!);
  assert.equal(draftShown.events[0]!.data["origin_run"], run.id);
  assert.equal(draftShown.events[0]!.data["origin_task"], plan.id);

  // Each child's context carries the planner's handoff (and the review the draft's).
  for (const child of [draft!, review!]) {
    const ctx = await h.store.context(child.id);
    const handoff = ctx.parents.find((p) => p.id === plan.id);
    assert.equal(handoff?.summary, run.summary, child.title);
    assert.equal(handoff?.metadata, JSON.stringify({ tasks: [draft!.id, review!.id] }));
  }
  const reviewCtx = await h.store.context(review!.id);
  assert.equal(reviewCtx.parents.find((p) => p.id === draft!.id)?.summary, "done by writer");
});
