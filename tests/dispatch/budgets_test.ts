/**
 * Budgets under a real dispatcher with worker processes (docs/budgets.md): a spent hard
 * budget holds the claims of its profile (the task waits, `why` says so, the crossing is
 * recorded once), and a per-run time budget stops a worker that passes it (outcome `stopped`,
 * not a failure) and blocks its task.
 */
import assert from "node:assert/strict";
import { agent, harness } from "./_harness.ts";

const HUMAN = { name: "tester" };

Deno.test("a spent runs budget holds its profile's claims; why says so; the crossing is one event", async () => {
  await using h = await harness({ coder: agent("complete.sh"), writer: agent("complete.sh") });
  await h.store.addBudget({
    name: "coder-two",
    scope: "profile",
    target: "coder",
    metric: "runs",
    cap: 2,
    period: "day",
  }, HUMAN);
  const tasks: { id: string }[] = [];
  for (const n of [1, 2, 3]) tasks.push(await h.create(`job ${n}`, "coder"));
  const writer = await h.create("notes", "writer");
  // created in one millisecond, the three are claimed in their random ids' order: two of them
  const doneCount = async () => {
    let n = 0;
    for (const t of tasks) if ((await h.status(t.id)) === "done") n++;
    return n;
  };
  await h.until(async () => (await doneCount()) === 2 && (await h.status(writer.id)) === "done")
    .catch(async (err) => {
      // say where each task stands, so that a failure explains itself
      const where = [];
      for (const t of [...tasks, writer]) {
        const runs = (await h.store.listRuns(t.id)).map((r) => `${r.outcome} ${r.error ?? ""}`);
        where.push(`${t.id} ${await h.status(t.id)} [${runs.join("; ")}]`);
      }
      throw new Error(`${(err as Error).message.slice(0, 200)}\n${where.join("\n")}`);
    });
  const reports = await h.until(() => true);
  const waiting = [];
  for (const t of tasks) if ((await h.status(t.id)) !== "done") waiting.push(t);
  assert.equal(waiting.length, 1);
  const third = waiting[0]!;
  assert.equal(await h.status(third.id), "ready", "the third coder task waits");
  assert.deepEqual(reports.at(-1)!.budget_held.map((b) => [b.kind, b.name]), [
    ["profile", "coder"],
  ]);
  const why = await h.store.why(third.id);
  const budget = why.reasons.find((r) => r.code === "budget");
  assert.ok(budget, JSON.stringify(why.reasons));
  assert.match(
    budget.message,
    /^budget "coder-two" is spent: 2 of 2 runs today \(UTC\); it resets at/,
  );
  for (let i = 0; i < 3; i++) await h.until(() => true);
  const events = (await h.store.eventsSince(0, 1000)).filter((e) => e.kind === "budget_exceeded");
  assert.equal(events.length, 1);
  // removing the budget lets the task run
  await h.store.removeBudget("coder-two", HUMAN);
  await h.until(async () => (await h.status(third.id)) === "done");
});

Deno.test("a per-run time budget stops a worker that passes it, not as a failure, and blocks its task", async () => {
  await using h = await harness({ coder: agent("hang.sh") });
  await h.store.addBudget({
    name: "short",
    scope: "profile",
    target: "coder",
    metric: "wall_seconds",
    cap: 1,
    period: "run",
  }, HUMAN);
  const t = await h.create("slow", "coder");
  await h.until(async () => (await h.status(t.id)) === "blocked", 30_000);
  const [run] = await h.store.listRuns(t.id);
  assert.equal(run!.outcome, "stopped");
  assert.match(run!.error ?? "", /budget "short": a run may take at most 1 seconds/);
  const task = await h.store.getTask(t.id);
  assert.equal(task.consecutive_failures, 0);
  assert.match(task.blocked_reason ?? "", /budget "short"/);
});

Deno.test("a budget declared in config.toml is put on the board by the dispatcher and holds claims", async () => {
  await using h = await harness(
    { coder: agent("complete.sh") },
    `\n[budgets.coder-once]\nscope = "profile:coder"\nmetric = "runs"\ncap = 1\nwindow = "day"\n`,
  );
  const first = await h.create("first", "coder");
  await h.until(async () => (await h.status(first.id)) === "done");
  const [b] = await h.store.budgets();
  assert.deepEqual([b!.name, b!.scope, b!.target, b!.cap, b!.hard], [
    "coder-once",
    "profile",
    "coder",
    1,
    true,
  ]);
  assert.match(b!.created_by, /^config:/);
  const second = await h.create("second", "coder");
  for (let i = 0; i < 3; i++) await h.until(() => true);
  assert.equal(await h.status(second.id), "ready", "held by the declared budget");
  const why = await h.store.why(second.id);
  assert.ok(why.reasons.some((r) => r.code === "budget"), JSON.stringify(why.reasons));
});

Deno.test("a declared budget the store refuses is not applied, and the dispatcher goes on", async () => {
  await using h = await harness(
    { coder: agent("complete.sh") },
    `\n[budgets.spaced]\nscope = "tenant:has space"\nmetric = "runs"\ncap = 1\nwindow = "day"\n`,
  );
  const t = await h.create("work", "coder");
  await h.until(async () => (await h.status(t.id)) === "done");
  assert.deepEqual(await h.store.budgets(), []);
});
