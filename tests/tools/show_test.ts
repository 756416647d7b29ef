import assert from "node:assert/strict";
import { HUMAN, setup } from "../_setup.ts";
import { add, claimId, worker } from "../store/_helpers.ts";
import { AGENT_CAPS, runTool, TOOLS } from "../../lib/tools/mod.ts";
import type { CappedShowOutput, ShowOutput } from "../../lib/tools/show.ts";
import { personDeps, workerDeps } from "./_mcp.ts";

Deno.test("show without caps is the store's full detail (the CLI's --json shape)", async () => {
  await using b = setup();
  const t = await add(b.store, "full", { body: "x".repeat(10_000) });
  for (let i = 0; i < 12; i++) await b.store.comment(t.id, `comment ${i}`, HUMAN);
  const out = await runTool(TOOLS.show, personDeps(b.store), { id: t.id }) as ShowOutput;
  assert.deepEqual(out, await b.store.showTask(t.id));
  assert.equal(out.task.body.length, 10_000);
  assert.equal(out.comments.length, 12);
});

Deno.test("show with caps cuts the body and keeps the latest comments, events and runs, counting the rest", async () => {
  await using b = setup();
  const t = await add(b.store, "busy", { body: "y".repeat(10_000) });
  for (let i = 0; i < 14; i++) {
    await b.store.comment(t.id, `comment ${i} ${"z".repeat(2_000)}`, HUMAN);
  }
  for (let i = 0; i < 7; i++) {
    await claimId(b.store, t.id);
    await b.store.block(t.id, `attempt ${i} needs help`, HUMAN);
    await b.store.unblock(t.id, HUMAN);
  }
  const deps = { ...personDeps(b.store), caps: AGENT_CAPS };
  const out = await runTool(TOOLS.show, deps, { id: t.id }) as CappedShowOutput;
  assert.match(out.task.body, /^y{4000}\n\[\.\.\. truncated: 6000 more characters\]$/);
  assert.deepEqual(out.comments.map((c) => c.body.slice(0, 10)), [
    "comment 4 ",
    "comment 5 ",
    "comment 6 ",
    "comment 7 ",
    "comment 8 ",
    "comment 9 ",
    "comment 10",
    "comment 11",
    "comment 12",
    "comment 13",
  ]);
  assert.match(out.comments[0]!.body, /\[\.\.\. truncated: \d+ more characters\]$/);
  assert.equal(out.events.length, AGENT_CAPS.events);
  assert.equal(out.runs.length, AGENT_CAPS.runs);
  assert.deepEqual(out.runs.map((r) => r.error), [
    "attempt 2 needs help (by alice)",
    "attempt 3 needs help (by alice)",
    "attempt 4 needs help (by alice)",
    "attempt 5 needs help (by alice)",
    "attempt 6 needs help (by alice)",
  ]);
  const full = await b.store.showTask(t.id, 1000);
  assert.deepEqual(out.omitted, {
    comments: 4,
    events: full.events.length - AGENT_CAPS.events,
    runs: 2,
  });
  assert.ok(!("pid" in out.runs[0]!), "a capped run leaves out process bookkeeping");
});

Deno.test("show defaults to the worker's task and lists the tasks each run created", async () => {
  await using b = setup();
  const t = await add(b.store, "plan", { assignee: "planner" });
  const c = await claimId(b.store, t.id, "planner");
  const deps = workerDeps(b.store, c);
  const made = [];
  for (const title of ["write", "edit"]) {
    made.push(await runTool(TOOLS.create, deps, { title, assignee: "writer", parents: [t.id] }));
  }
  await add(b.store, "by a person meanwhile");
  const out = await runTool(TOOLS.show, deps, {}) as ShowOutput;
  assert.equal(out.task.id, t.id);
  assert.deepEqual(out.runs.map((r) => r.created_tasks.map((x) => x.title)), [["write", "edit"]]);
  assert.deepEqual(out.runs[0]!.created_tasks[0], {
    id: made[0]!.id,
    title: "write",
    status: "todo",
    assignee: "writer",
  });
});

Deno.test("show with caps cuts a long handoff in the run and in its completed event", async () => {
  await using b = setup();
  const t = await add(b.store, "verbose");
  const c = await claimId(b.store, t.id);
  const summary = "s".repeat(3_000);
  const metadata = { blob: "m".repeat(3_000) };
  await runTool(TOOLS.complete, workerDeps(b.store, c), { summary, metadata });
  const deps = { ...personDeps(b.store), caps: AGENT_CAPS };
  const out = await runTool(TOOLS.show, deps, { id: t.id }) as CappedShowOutput;
  const run = out.runs[0]!;
  assert.match(run.summary!, /^s{1000}\n\[\.\.\. truncated: 2000 more characters\]$/);
  assert.deepEqual(Object.keys(run.metadata!), ["truncated_json"]);
  const done = out.events.at(-1)!;
  assert.equal(done.kind, "completed");
  assert.ok(JSON.stringify(done.data).length < 1_200, "the event's data is cut too");
  const small = await runTool(TOOLS.show, deps, { id: (await add(b.store, "terse")).id });
  assert.ok(!("omitted" in small), "nothing left out: no omitted field");
});

Deno.test("show with caps keeps how the task's last gate went and where its review loop stands", async () => {
  await using b = setup();
  const deps = { ...personDeps(b.store), caps: AGENT_CAPS };
  const capped = async (id: string) => await runTool(TOOLS.show, deps, { id }) as CappedShowOutput;
  const gated = await add(b.store, "parser", { assignee: "coder", gate: ["make", "check"] });
  const c = await claimId(b.store, gated.id, "coder");
  await b.store.complete(gated.id, { summary: "done" }, worker(c));
  await b.store.settleGate(gated.id, {
    passed: false,
    exit_code: 2,
    output: "1 test failed\n",
    duration_ms: 900,
    timed_out: false,
  }, worker(c));
  const out = await capped(gated.id);
  assert.equal(out.gate_result?.state, "failed");
  assert.deepEqual(out.gate_result, (await b.store.showTask(gated.id)).gate_result);

  const reviewed = await add(b.store, "docs", { assignee: "coder", reviewer: "critic" });
  const r = await claimId(b.store, reviewed.id, "coder");
  await b.store.requestReview(reviewed.id, { summary: "look" }, worker(r));
  const review = (await capped(reviewed.id)).review;
  assert.ok(review !== undefined, "the task is in its review loop");
  assert.deepEqual(review, (await b.store.showTask(reviewed.id)).review);

  // a task with neither says nothing of them
  const plain = await capped((await add(b.store, "plain")).id);
  assert.ok(!("gate_result" in plain) && !("review" in plain));
});
