import assert from "node:assert/strict";
import { ConflictError, NotFoundError, type Store, ValidationError } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

/** run makes a task for `profile` (in `tenant`), runs it to completion with `tokens` used. */
async function run(
  store: Store,
  profile: string,
  tokens: number,
  tenant?: string,
): Promise<string> {
  const t = await add(store, `work ${profile}`, {
    assignee: profile,
    ...(tenant !== undefined ? { tenant } : {}),
  });
  const c = await claimId(store, t.id, profile);
  await store.complete(t.id, {
    summary: "done",
    usage: { input_tokens: tokens, output_tokens: 0 },
  }, worker(c));
  return t.id;
}

conformance("a budget is added, listed with its window's spend, and removed", async (drv) => {
  await using b = await drv.fresh();
  await run(b.store, "coder", 400);
  await run(b.store, "writer", 100);
  await b.store.addBudget({
    name: "coder-daily",
    scope: "profile",
    target: "coder",
    metric: "tokens",
    cap: 1000,
    period: "day",
  }, HUMAN);
  await b.store.addBudget({
    name: "board-runs",
    scope: "board",
    metric: "runs",
    cap: 2,
    period: "hours",
    hours: 5,
    hard: false,
  }, HUMAN);
  const [runs, coder] = await b.store.budgets();
  assert.deepEqual(
    [coder!.name, coder!.spent, coder!.state, coder!.window_start, coder!.resets_at],
    ["coder-daily", 400, "ok", "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"],
  );
  assert.deepEqual([runs!.name, runs!.spent, runs!.state, runs!.hard, runs!.resets_at], [
    "board-runs",
    2,
    "over",
    false,
    null,
  ]);
  await assert.rejects(
    b.store.addBudget(
      { name: "coder-daily", scope: "board", metric: "runs", cap: 1, period: "day" },
      HUMAN,
    ),
    (e) => e instanceof ConflictError && e.code === "name_taken",
  );
  await b.store.removeBudget("coder-daily", HUMAN);
  assert.deepEqual((await b.store.budgets()).map((x) => x.name), ["board-runs"]);
  await assert.rejects(
    b.store.removeBudget("coder-daily", HUMAN),
    (e) => e instanceof NotFoundError,
  );
});

conformance("bad budgets are refused naming what is wrong; a worker sets none", async (drv) => {
  await using b = await drv.fresh();
  const bad = async (input: Record<string, unknown>, message: RegExp) => {
    await assert.rejects(
      b.store.addBudget(
        { name: "x", scope: "board", metric: "runs", cap: 1, period: "day", ...input } as never,
        HUMAN,
      ),
      (e) => e instanceof ValidationError && message.test(e.message),
    );
  };
  await bad({ cap: 0 }, /cap must be above 0/);
  await bad({ scope: "profile" }, /names one/);
  await bad({ target: "coder" }, /a board budget names no target/);
  await bad({ period: "hours" }, /hours goes with/);
  await bad({ hours: 5 }, /hours goes with/);
  await bad({ metric: "dollars" }, /metric/);
  await bad({ name: "no spaces" }, /name/);
  const t = await add(b.store, "w", { assignee: "coder" });
  const c = await claimId(b.store, t.id);
  await assert.rejects(
    b.store.addBudget(
      { name: "mine", scope: "board", metric: "runs", cap: 1, period: "day" },
      worker(c),
    ),
    (e) => e instanceof ConflictError && e.code === "not_allowed",
  );
  assert.deepEqual(await b.store.budgets(), []);
});

conformance(
  "a hard budget holds the claims a reservation from recent runs would take past the cap, and records its crossing once",
  async (drv) => {
    await using b = await drv.fresh();
    // coder's runs average 300 tokens
    await run(b.store, "coder", 300);
    await run(b.store, "coder", 300);
    await b.store.addBudget({
      name: "daily",
      scope: "board",
      metric: "tokens",
      cap: 1000,
      period: "day",
    }, HUMAN);
    // 600 spent: one more coder run (300) fits, and a second one in flight would not
    let holds = await b.store.budgetHolds(["coder", "writer"], DISPATCHER);
    assert.deepEqual([...holds.profiles.keys()], []);
    const t = await add(b.store, "third", { assignee: "coder" });
    const c = await claimId(b.store, t.id);
    holds = await b.store.budgetHolds(["coder", "writer"], DISPATCHER);
    assert.deepEqual([...holds.profiles.keys()], ["coder"], "600 + 300 in flight + 300 > 1000");
    assert.match(holds.profiles.get("coder")!, /^budget "daily": 600 of 1000 tokens today/);
    // a profile with no history reserves nothing
    assert.equal(holds.profiles.has("writer"), false);
    assert.deepEqual(holds.stop, []);
    // the third run ends at 500: 1100 spent; the budget is over, recorded once
    await b.store.complete(t.id, {
      usage: { input_tokens: 500, output_tokens: 0 },
    }, worker(c));
    holds = await b.store.budgetHolds(["coder", "writer"], DISPATCHER);
    await b.store.budgetHolds(["coder", "writer"], DISPATCHER);
    assert.deepEqual([...holds.profiles.keys()].sort(), ["coder", "writer"]);
    const crossed = (await b.store.eventsSince(0, 1000)).filter((e) =>
      e.kind === "budget_exceeded"
    );
    assert.equal(crossed.length, 1);
    assert.deepEqual([crossed[0]!.data["budget"], crossed[0]!.data["spent"]], ["daily", 1100]);
    // the next day the window is fresh
    b.clock.advance(24 * 3_600_000);
    holds = await b.store.budgetHolds(["coder", "writer"], DISPATCHER);
    assert.deepEqual([...holds.profiles.keys()], []);
  },
);

conformance(
  "a spent budget stops the runs in flight in its scope; tenant and task budgets hold only theirs",
  async (drv) => {
    await using b = await drv.fresh();
    await run(b.store, "coder", 100, "acme");
    await b.store.addBudget({
      name: "acme-runs",
      scope: "tenant",
      target: "acme",
      metric: "runs",
      cap: 2,
      period: "week",
    }, HUMAN);
    const acme = await add(b.store, "acme job", { assignee: "coder", tenant: "acme" });
    const other = await add(b.store, "other job", { assignee: "coder", tenant: "globex" });
    const inFlight = await claimId(b.store, acme.id);
    let holds = await b.store.budgetHolds(["coder"], DISPATCHER);
    assert.deepEqual([...holds.tenants.keys()], ["acme"]);
    // a run counts when it starts: at the cap, claims wait and the run in flight goes on
    assert.deepEqual(holds.stop, []);
    assert.equal(holds.profiles.size, 0);
    // acme's ended runs used 100 tokens: a 50-token budget is spent, its run in flight stopped
    await b.store.addBudget({
      name: "acme-tokens",
      scope: "tenant",
      target: "acme",
      metric: "tokens",
      cap: 50,
      period: "month",
    }, HUMAN);
    holds = await b.store.budgetHolds(["coder"], DISPATCHER);
    assert.deepEqual(holds.stop.map((s) => [s.run, s.task, s.budget, s.block]), [
      [inFlight.run.id, acme.id, "acme-tokens", false],
    ]);
    assert.match(holds.stop[0]!.reason, /^budget "acme-tokens": 100 of 50 tokens this month/);
    // the claim leaves acme's tasks and takes the others
    const next = await add(b.store, "acme two", { assignee: "coder", tenant: "acme" });
    const c = await b.store.claim({ assignees: ["coder"], notTenants: ["acme"] }, DISPATCHER);
    assert.equal(c?.task.id, other.id);
    assert.equal(
      await b.store.claim({ assignees: ["coder"], notTenants: ["acme"] }, DISPATCHER),
      null,
    );
    assert.equal(
      await b.store.claim({ assignees: ["coder"], notTasks: [next.id] }, DISPATCHER),
      null,
    );
  },
);

conformance("a per-run time budget stops a run that passes it and blocks its task", async (drv) => {
  await using b = await drv.fresh();
  await b.store.addBudget({
    name: "short-runs",
    scope: "profile",
    target: "coder",
    metric: "wall_seconds",
    cap: 60,
    period: "run",
  }, HUMAN);
  const t = await add(b.store, "slow", { assignee: "coder" });
  const c = await claimId(b.store, t.id);
  assert.deepEqual((await b.store.budgetHolds(["coder"], DISPATCHER)).stop, []);
  b.clock.advance(61_000);
  const holds = await b.store.budgetHolds(["coder"], DISPATCHER);
  assert.deepEqual(holds.stop.map((s) => [s.run, s.block]), [[c.run.id, true]]);
  assert.match(holds.stop[0]!.reason, /a run may take at most 60 seconds/);
  // a per-run budget never holds claims
  assert.equal(holds.profiles.size, 0);
});

conformance(
  "a budget's crossing reaches a subscription filtered on budget_exceeded",
  async (drv) => {
    await using b = await drv.fresh();
    const sub = await b.store.addSubscription({
      kind: "webhook",
      target: "https://example.com/hook",
      kinds: ["budget_exceeded"],
    }, HUMAN);
    await b.store.addBudget({
      name: "one-run",
      scope: "board",
      metric: "runs",
      cap: 1,
      period: "day",
      hard: false,
    }, HUMAN);
    await run(b.store, "coder", 10);
    await b.store.budgetHolds(["coder"], DISPATCHER);
    await b.store.budgetHolds(["coder"], DISPATCHER);
    const batch = await b.store.nextBatch(sub.id);
    assert.deepEqual(
      batch!.notifications.map((n) => [n.event.kind, n.event.task_id, n.event.data["budget"]]),
      [["budget_exceeded", null, "one-run"]],
    );
  },
);

conformance(
  "a host's declared budgets are put on the board, changed, and removed by the same host alone",
  async (drv) => {
    await using b = await drv.fresh();
    const daily = {
      name: "daily",
      scope: "board" as const,
      metric: "runs" as const,
      cap: 10,
      period: "day" as const,
    };
    const coder = {
      name: "coder",
      scope: "profile" as const,
      target: "coder",
      metric: "tokens" as const,
      cap: 1e6,
      period: "hours" as const,
      hours: 5,
    };
    await b.store.addBudget({ ...daily, name: "mine", cap: 3 }, HUMAN);
    assert.deepEqual(await b.store.syncBudgets([daily, coder], "config:a", DISPATCHER), [
      "budget daily added",
      "budget coder added",
    ]);
    assert.deepEqual(await b.store.syncBudgets([daily, coder], "config:a", DISPATCHER), []);
    // another host declares its own; host a's change and removal leave it and the person's be
    await b.store.syncBudgets([{ ...daily, name: "b-daily" }], "config:b", DISPATCHER);
    assert.deepEqual(
      await b.store.syncBudgets([{ ...daily, cap: 20 }], "config:a", DISPATCHER),
      ["budget daily changed", "budget coder removed"],
    );
    const all = await b.store.budgets();
    assert.deepEqual(
      all.map((x) => [x.name, x.cap, x.created_by]),
      [["b-daily", 10, "config:b"], ["daily", 20, "config:a"], ["mine", 3, HUMAN.name]],
    );
    // a declared budget with the name of a person's replaces it: the file is what is declared
    await b.store.syncBudgets(
      [{ ...daily, cap: 20 }, { ...daily, name: "mine", cap: 5 }],
      "config:a",
      DISPATCHER,
    );
    const mine = (await b.store.budgets()).find((x) => x.name === "mine")!;
    assert.deepEqual([mine.cap, mine.created_by], [5, "config:a"]);
    // a bad one is refused by name, and nothing of that sync is written
    await assert.rejects(
      b.store.syncBudgets([daily, { ...coder, cap: -1 }], "config:a", DISPATCHER),
      /budget "coder".*cap must be above 0/,
    );
    assert.equal((await b.store.budgets()).find((x) => x.name === "daily")!.cap, 20);
  },
);

conformance(
  "a budget's series is its window's spend, point by point, summed, up to now",
  async (drv) => {
    await using b = await drv.fresh();
    // the fresh board's clock starts at some instant of a UTC day: go to that day's 01:00
    const day = Date.UTC(2026, 5, 1);
    b.clock.advance(day + 3_600_000 - b.clock.now());
    await b.store.addBudget({
      name: "coder-day",
      scope: "profile",
      target: "coder",
      metric: "tokens",
      cap: 1000,
      period: "day",
    }, HUMAN);
    await run(b.store, "coder", 100); // ends 01:00, in the second hour's point
    await run(b.store, "writer", 999); // another profile: not in it
    b.clock.advance(5 * 3_600_000); // 06:00
    await run(b.store, "coder", 250);
    const s = (await b.store.budgetSeries("coder-day"))!;
    assert.equal(s.from, new Date(day).toISOString());
    assert.equal(s.to, new Date(day + 86_400_000).toISOString());
    assert.equal(s.at.length, 24);
    assert.equal(s.at[0], new Date(day + 3_600_000).toISOString());
    assert.deepEqual(s.spent.slice(0, 8), [0, 100, 100, 100, 100, 100, 350, null]);
    assert.equal(s.spent.at(-1), null, "the rest of the day is to come");
    assert.equal(s.cap, 1000);
    await b.store.addBudget({
      name: "per-run",
      scope: "board",
      metric: "runs",
      cap: 1,
      period: "run",
    }, HUMAN);
    assert.equal(await b.store.budgetSeries("per-run"), null, "no window to plot");
    await assert.rejects(b.store.budgetSeries("nope"), NotFoundError);
  },
);
