/**
 * Completion gates under a real dispatcher, with worker processes that complete through the
 * real binary (`kanban complete`, directly on the board or through the worker socket): the
 * gate (tests/dispatch/agents/gate.sh) runs in the task's workspace once the worker has exited;
 * passed, the task is done with the worker's handoff; failed, the task comes back to the same
 * profile with the gate's output quoted in its next prompt, the round counted and no failure;
 * after the last round it is blocked; a person's complete is never gated; while the gate runs,
 * the run's lease is renewed, and a person's complete meanwhile stops the gate.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { agent, AGENTS, denoAgent, harness, pidAlive } from "./_harness.ts";
import type { Run } from "../../lib/store/mod.ts";

const GATE = `gate = ["${join(AGENTS, "gate.sh")}", "{task}"]`;

/** gated is a profile that runs gated.sh, whose gate fails its first `fails` runs. */
function gated(fails: number, extra = ""): string {
  return agent("gated.sh", `${GATE}\nenv = { GATE_FAILS = "${fails}" }\n${extra}`);
}

const prompt = (r: Run) => readFileSync(r.log_path!.replace(/\.log$/, ".prompt.md"), "utf8");
const log = (r: Run) => readFileSync(r.log_path!, "utf8");

for (const access of ["direct", "socket"] as const) {
  Deno.test(`${access}: a passing gate makes the task done with its worker's handoff`, async () => {
    await using h = await harness(
      { coder: gated(0) },
      access === "socket" ? `worker_access = "socket"` : "",
    );
    const task = await h.create("parser", "coder");
    await h.until(async () => (await h.status(task.id)) === "done");
    const [run] = await h.store.listRuns(task.id);
    assert.deepEqual([run!.outcome, run!.summary, run!.exit_code], ["completed", "first try", 0]);
    // the worker was told that its gate runs after it exits
    assert.match(
      log(run!),
      /running {2}parser {2}\(completed: its gate runs once this worker exits\)/,
    );
    const t = await h.store.getTask(task.id);
    assert.equal(t.result, "first try");
    assert.equal(t.gate?.argv[0], join(AGENTS, "gate.sh"));
    // the gate ran once, in the task's workspace, with its placeholders filled
    assert.equal(readFileSync(join(run!.workspace!, "gate-runs"), "utf8"), "1\n");
    assert.equal(readFileSync(join(run!.workspace!, "gate-task"), "utf8"), `${task.id}\n`);
    const shown = await h.store.showTask(task.id);
    const kinds = shown.events.map((e) => e.kind);
    assert.deepEqual(kinds.slice(kinds.indexOf("gate_pending")), [
      "gate_pending",
      "exited",
      "gate_passed",
      "completed",
    ]);
    const passed = shown.events.find((e) => e.kind === "gate_passed")!;
    assert.equal(passed.data["exit_code"], 0);
    assert.equal(typeof passed.data["duration_ms"], "number");
    assert.deepEqual(shown.gate_result?.state, "passed");
  });
}

Deno.test("a failing gate sends the task back with its output in the next prompt; the round is counted, not a failure", async () => {
  await using h = await harness({ coder: gated(1) });
  const task = await h.create("parser", "coder");
  await h.until(async () => (await h.status(task.id)) === "done", 30_000);
  const runs = (await h.store.listRuns(task.id)).reverse();
  assert.deepEqual(runs.map((r) => [r.profile, r.outcome]), [
    ["coder", "completed"],
    ["coder", "completed"],
  ]);
  assert.equal(runs[0]!.error, "completion gate failed (round 1 of 3): exit code 4");
  // the second worker's prompt quotes the gate's output (which shows the gate had no token)
  const second = prompt(runs[1]!);
  assert.match(second, /^## Completion gate failed \(round 1 of 3\)$/m);
  assert.match(second, /^> FAIL check 1: expected 2, got 3$/m);
  assert.match(second, /^> gate token: none$/m);
  assert.doesNotMatch(prompt(runs[0]!), /Completion gate failed/);
  const t = await h.store.getTask(task.id);
  assert.deepEqual([t.status, t.consecutive_failures, t.result], [
    "done",
    0,
    "fixed what the gate reported",
  ]);
  const shown = await h.store.showTask(task.id);
  const failed = shown.events.find((e) => e.kind === "gate_failed")!;
  assert.deepEqual(
    [failed.data["round"], failed.data["rounds"], failed.data["exit_code"], failed.data["to"]],
    [1, 3, 4, "ready"],
  );
  assert.equal(shown.events.find((e) => e.kind === "gate_passed")!.data["round"], 2);
  assert.ok(!shown.events.some((e) => e.kind === "failed"), "no failure was recorded");
  const comment = shown.comments.find((c) => c.author === "kanban-gate")!;
  assert.match(comment.body, /^Completion gate failed \(round 1 of 3\): it exited with code 4/);
  assert.match(comment.body, /FAIL check 1: expected 2, got 3/);
});

/** A profile whose worker completes through MCP (agents/mcp_gated.ts). */
const MCP_GATED = denoAgent("mcp_gated.ts", { GATE_FAILS: "1" }, GATE);

Deno.test("an agent that completes through kanban mcp is told its gate runs; a failed gate brings the task back to it", async () => {
  await using h = await harness({ coder: MCP_GATED });
  const task = await h.create("parser", "coder");
  await h.until(async () => (await h.status(task.id)) === "done", 60_000);
  const runs = (await h.store.listRuns(task.id)).reverse();
  assert.deepEqual(runs.map((r) => [r.outcome, r.summary]), [
    ["completed", "first try"],
    ["completed", "fixed what the gate reported (last gate: failed)"],
  ]);
  assert.equal(runs[0]!.error, "completion gate failed (round 1 of 3): exit code 4");
  // the MCP server answered the held completion: still running, the gate runs on exit
  const first = log(runs[0]!);
  assert.match(first, /complete -> .*"status":"running"/);
  assert.match(first, /"gate_pending":true/);
  assert.match(first, /the task's completion gate runs once you exit/);
  assert.match(prompt(runs[1]!), /^## Completion gate failed \(round 1 of 3\)$/m);
  assert.equal((await h.store.getTask(task.id)).result, null);
  assert.equal((await h.store.showTask(task.id)).gate_result?.state, "passed");
});

Deno.test("a gate that fails every round blocks the task for a person", async () => {
  await using h = await harness({ coder: gated(99, "gate_rounds = 2") });
  const task = await h.create("parser", "coder");
  await h.until(async () => (await h.status(task.id)) === "blocked", 30_000);
  const t = await h.store.getTask(task.id);
  assert.equal(t.block_kind, "needs_input");
  assert.equal(
    t.blocked_reason,
    "gate failed 2 times: exit code 4: FAIL check 2: expected 2, got 3",
  );
  assert.equal(t.consecutive_failures, 0);
  const runs = (await h.store.listRuns(task.id)).reverse();
  assert.equal(runs.length, 2);
  assert.match(prompt(runs[1]!), /^## Completion gate failed \(round 1 of 2\)$/m);
  assert.match(prompt(runs[1]!), /\(round 2 of 2\), its last round: if it fails again/);
  const rounds = (await h.store.showTask(task.id)).events
    .filter((e) => e.kind === "gate_failed")
    .map((e) => [e.data["round"], e.data["to"]]);
  assert.deepEqual(rounds, [[1, "ready"], [2, "blocked"]]);
  assert.equal(readFileSync(join(runs[0]!.workspace!, "gate-runs"), "utf8"), "2\n");
});

Deno.test("a person's complete of a running task with a gate is not gated", async () => {
  await using h = await harness({ coder: agent("hang.sh", GATE) });
  const task = await h.create("parser", "coder");
  await h.until(async () => (await h.store.listRuns(task.id))[0]?.pid != null);
  const done = await h.store.complete(task.id, { summary: "done by hand" }, { name: "alice" });
  assert.equal(done.status, "done");
  // the dispatcher stops the worker and reaps it; no gate runs
  await h.until(() => h.dispatcher.workerCount === 0);
  const [run] = await h.store.listRuns(task.id);
  assert.equal(run!.outcome, "completed_by_human");
  assert.equal(existsSync(join(run!.workspace!, "gate-runs")), false);
  const kinds = (await h.store.showTask(task.id)).events.map((e) => e.kind);
  assert.ok(!kinds.some((k) => k.startsWith("gate_")), kinds.join(", "));
});

Deno.test("while a gate runs its run's lease is renewed; a person's complete meanwhile stops the gate", async () => {
  await using h = await harness(
    { coder: agent("gated.sh", `${GATE}\nenv = { GATE_SLEEP = "60" }`) },
    `lease = "6s"`,
  );
  const task = await h.create("parser", "coder");
  let ws = "";
  await h.until(async () => {
    ws = (await h.store.listRuns(task.id))[0]?.workspace ?? "";
    return ws !== "" && existsSync(join(ws, "gate-pid"));
  });
  const [run] = await h.store.listRuns(task.id);
  assert.equal(run!.gate_pending, true);
  assert.equal(h.dispatcher.workerCount, 1, "the gate's run keeps its place");
  const first = Date.parse(run!.lease_expires!);
  await h.until(async () => {
    const r = (await h.store.listRuns(task.id))[0]!;
    return r.open && Date.parse(r.lease_expires!) > first + 1_000;
  }, 10_000);
  const done = await h.store.complete(task.id, { summary: "by hand" }, { name: "alice" });
  assert.equal(done.status, "done");
  await h.until(() => h.dispatcher.workerCount === 0);
  const pid = Number(readFileSync(join(ws, "gate-pid"), "utf8"));
  assert.equal(pidAlive(pid), false, "the gate was stopped");
  assert.equal(existsSync(join(ws, "gate-finished")), false);
  assert.equal((await h.store.listRuns(task.id))[0]!.outcome, "completed_by_human");
  const kinds = (await h.store.showTask(task.id)).events.map((e) => e.kind);
  assert.ok(!kinds.includes("gate_passed") && !kinds.includes("gate_failed"), kinds.join(", "));
});
