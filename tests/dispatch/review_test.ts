/**
 * The review loop under a real dispatcher, with worker processes: the implementer's
 * completion on a task its profile's config gives a reviewer goes to the reviewer's worker,
 * whose prompt carries the implementer's handoff and the worktree's diff; its request for
 * changes (a line comment quoted from the diff, through the CLI inside the worker) sends the
 * same task back to the implementer, whose prompt quotes the review; round 2 is approved.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tempDir } from "../_setup.ts";
import { agent, harness } from "./_harness.ts";
import { makeRepo } from "../review/_repo.ts";

Deno.test("a reviewer profile reviews a worktree task's diff, requests changes, then approves round 2", async () => {
  using tmp = tempDir("kanban-repo-");
  const repo = makeRepo(tmp.dir);
  await using h = await harness(
    {
      coder: agent("implement.sh", `reviewer = "critic"`),
      critic: agent("reviewer.sh"),
    },
    `repository = "${repo}"`,
  );
  const task = await h.create("greet", "coder", { workspace: "worktree" });
  await h.until(async () => (await h.status(task.id)) === "done");
  const runs = (await h.store.listRuns(task.id)).reverse();
  assert.deepEqual(runs.map((r) => [r.profile, r.outcome]), [
    ["coder", "completed"],
    ["critic", "completed"],
    ["coder", "completed"],
    ["critic", "completed"],
  ]);
  const prompt = (n: number) =>
    readFileSync(runs[n]!.log_path!.replace(/\.log$/, ".prompt.md"), "utf8");
  // the reviewer's prompt: its round, the implementer's handoff, the worktree's diff
  const review1 = prompt(1);
  assert.match(review1, /^## Review this task \(round 1 of 3\)$/m);
  assert.match(review1, /^Summary:\n> feature\.txt$/m);
  assert.match(review1, /^## The changes$/m);
  assert.match(review1, /^- `feature\.txt` added \+1 -0$/m);
  assert.match(review1, /^\+hello$/m);
  // the implementer's second prompt quotes the review, with the line it is about
  const again = prompt(2);
  assert.match(again, /^## Changes requested \(round 2 of 3\)$/m);
  assert.match(again, /^> Review rejected: needs a test$/m);
  assert.match(again, /^> > \+hello$/m);
  assert.match(prompt(3), /^## Review this task \(round 2 of 3\)$/m);
  const t = await h.store.getTask(task.id);
  assert.deepEqual([t.assignee, t.reviewer], ["coder", "critic"]);
  const shown = await h.store.showTask(task.id);
  const approved = shown.events.findLast((e) => e.kind === "review_approved")!;
  assert.deepEqual([approved.actor, approved.data["reason"]], ["critic", "round 2: good"]);
});
