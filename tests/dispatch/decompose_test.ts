/**
 * Decomposition end to end, with the compiled binary: `kanban decompose` hands a triage task to
 * the orchestrator profile; `kanban dispatch` runs the orchestrator (a fake agent that reads
 * its prompt and submits a plan with `kanban plan submit`), then the plan's tasks, then the
 * orchestrator again to review; with decompose.auto a settled triage task is decomposed
 * unasked, and with approval nothing of the plan runs until a person approves it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { openStore, type Store } from "../../lib/store/mod.ts";
import { BINARY } from "../e2e/_binary.ts";
import { MACHINE_OFF, tempDir } from "../_setup.ts";
import { AGENTS } from "./_harness.ts";

interface Env extends Disposable {
  store: Store;
  kanban(...args: string[]): { code: number | null; stdout: string; stderr: string };
  dispatch(): ChildProcess & { output: () => string };
}

function setup(decompose = ""): Env {
  const tmp = tempDir("kanban-decompose-");
  const env = { HOME: tmp.dir, KANBAN_HOME: tmp.dir, PATH: "/usr/bin:/bin" };
  writeFileSync(
    join(tmp.dir, "config.toml"),
    `[dispatch]\n${MACHINE_OFF}poll_interval = "1s"\n[decompose]\n${decompose}\n` +
      `[profiles.orchestrator]\ncommand = ["${join(AGENTS, "orchestrator.sh")}"]\n` +
      `description = "plans work"\n` +
      `[profiles.coder]\ncommand = ["${join(AGENTS, "complete.sh")}"]\n` +
      `description = "writes code"\nmax_concurrent = 2\n`,
  );
  const store = openStore(join(tmp.dir, "boards", "default", "board.db"), { create: true });
  const children: ChildProcess[] = [];
  return {
    store,
    kanban: (...args) => {
      const r = spawnSync(BINARY, args, { env, encoding: "utf8", timeout: 30_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    dispatch: () => {
      const child = spawn(BINARY, ["dispatch"], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      children.push(child);
      return Object.assign(child, { output: () => out });
    },
    [Symbol.dispose]: () => {
      for (const c of children) if (c.exitCode === null) process.kill(c.pid!, "SIGKILL");
      store.close();
      tmp[Symbol.dispose]();
    },
  };
}

async function until(what: string, done: () => Promise<boolean>, ms = 20_000, log = () => "") {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("kanban decompose: the orchestrator plans, the plan's tasks run, the orchestrator reviews", async () => {
  using e = setup(`review = "orchestrator"`);
  const root = (await e.store.createTask({ title: "Build it", triage: true }, { name: "t" })).task;
  const asked = e.kanban("decompose", root.id);
  assert.equal(asked.code, 0, asked.stderr);
  assert.equal((await e.store.getTask(root.id)).assignee, "orchestrator");
  const d = e.dispatch();
  await until(
    "the root done",
    async () => (await e.store.getTask(root.id)).status === "done",
    30_000,
    () => d.output(),
  );
  const tasks = await e.store.listTasks({});
  const steps = tasks.filter((t) => t.id !== root.id);
  assert.deepEqual(steps.map((t) => [t.title, t.status, t.assignee]).sort(), [
    ["Step A", "done", "coder"],
    ["Step B", "done", "coder"],
  ]);
  const runs = await e.store.listRuns(root.id);
  assert.deepEqual(runs.map((r) => [r.profile, r.outcome, r.summary]).reverse(), [
    ["orchestrator", "completed", "two steps, one after the other"],
    ["orchestrator", "completed", "reviewed: both steps are done"],
  ]);
  const shown = e.kanban("plan", "show", root.id);
  assert.match(shown.stdout, /plan of 2 tasks, under way; reviewed by orchestrator/);
  process.kill(d.pid!, "SIGTERM");
});

Deno.test("a plan that needs approval runs nothing until a person approves it in the CLI", async () => {
  using e = setup(`approval = true`);
  const root = (await e.store.createTask({ title: "Build it", triage: true }, { name: "t" })).task;
  assert.equal(e.kanban("decompose", root.id).code, 0);
  const d = e.dispatch();
  await until(
    "the plan",
    async () => (await e.store.planState(root.id)).state === "approval",
    20_000,
    () => d.output(),
  );
  await new Promise((r) => setTimeout(r, 1500)); // a pass or two: nothing of the plan runs
  const held = (await e.store.listTasks({})).filter((t) => t.id !== root.id);
  assert.deepEqual(held.map((t) => t.status).sort(), ["todo", "triage"]);
  const shown = e.kanban("plan", "show", root.id);
  assert.match(shown.stdout, /waiting for a person's approval; reviewed by a person/);
  const ok = e.kanban("plan", "approve", root.id);
  assert.equal(ok.code, 0, ok.stderr);
  await until(
    "the root in review",
    async () => (await e.store.getTask(root.id)).status === "review",
    30_000,
    () => d.output(),
  );
  assert.equal((await e.store.getTask(root.id)).assignee, null, "a person reviews it");
  process.kill(d.pid!, "SIGTERM");
});

Deno.test("decompose.auto hands a settled triage task to the orchestrator unasked, and only that one", async () => {
  using e = setup(`auto = true\nsettle = "1s"`);
  const settled = (await e.store.createTask({ title: "Build it", triage: true }, { name: "t" }))
    .task;
  const assigned = (await e.store.createTask({
    title: "Mine",
    triage: true,
    assignee: "coder",
  }, { name: "t" })).task;
  const d = e.dispatch();
  await until(
    "the plan made unasked",
    async () => (await e.store.getTask(settled.id)).status === "todo",
    20_000,
    () => d.output(),
  );
  assert.match(d.output(), new RegExp(`${settled.id}: decomposition asked of orchestrator`));
  assert.equal((await e.store.getTask(assigned.id)).status, "triage", "an assigned task stays");
  process.kill(d.pid!, "SIGTERM");
});

Deno.test("kanban decompose and plan refuse what they cannot do, saying why", () => {
  using e = setup();
  const bad = e.kanban("decompose", "t_00000000");
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /No task/);
  const review = e.kanban("decompose", "t_0", "--review", "bob");
  assert.equal(review.code, 2);
  assert.match(review.stderr, /--review: "bob" is not person or orchestrator/);
  const missing = e.kanban("plan", "submit", "/nonexistent/plan.json", "t_0");
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Cannot read the plan|nonexistent/);
});
