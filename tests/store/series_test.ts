import assert from "node:assert/strict";
import { type SeriesFilter, type Store, ValidationError } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** The test clock starts here (tests/_setup.ts): midnight UTC. */
const T0 = Date.parse("2026-01-01T00:00:00Z");
const POLICY = { failureLimit: 5, backoffMs: () => 1000 };

/** finishRun claims task `id` for `profile` and has its worker complete it with `usage`. */
async function finishRun(
  store: Store,
  id: string,
  profile: string,
  usage?: Record<string, number>,
): Promise<void> {
  const c = await claimId(store, id, profile);
  await store.complete(id, { summary: "ok", ...(usage ? { usage } : {}) }, worker(c));
}

conformance("series() of an empty board has every bucket of the window, all zeros", async (drv) => {
  await using b = await drv.fresh();
  b.clock.set(T0 + 2 * HOUR + 30 * MIN);
  const s = await b.store.series({ since: b.clock.now() - 3 * HOUR, bucket: "hour" });
  assert.equal(s.since, "2025-12-31T23:00:00.000Z", "since is rounded down to its bucket");
  assert.equal(s.until, "2026-01-01T02:30:00.000Z");
  assert.equal(s.bucket, "hour");
  assert.deepEqual(s.profiles, []);
  assert.deepEqual(s.buckets.map((x) => x.start), [
    "2025-12-31T23:00:00.000Z",
    "2026-01-01T00:00:00.000Z",
    "2026-01-01T01:00:00.000Z",
    "2026-01-01T02:00:00.000Z",
  ]);
  for (const x of s.buckets) {
    assert.deepEqual(
      { ...x, start: "" },
      { start: "", finished: 0, queue_age: { count: 0, p50_s: null, max_s: null }, profiles: [] },
    );
  }
  assert.deepEqual(s.ready_now, { count: 0, p50_s: null, max_s: null });

  const days = await b.store.series({ since: b.clock.now() - 7 * DAY, bucket: "day" });
  assert.equal(days.buckets.length, 8, "7 whole days back and today");
  assert.equal(days.buckets[0]!.start, "2025-12-25T00:00:00.000Z");
  assert.equal(days.buckets.at(-1)!.start, "2026-01-01T00:00:00.000Z");
});

conformance(
  "series() counts tasks in the bucket they entered done, archived ones too, reopened ones not",
  async (drv) => {
    await using b = await drv.fresh();
    b.clock.set(T0 - 2 * DAY);
    const before = await add(b.store, "finished before the window");
    await b.store.complete(before.id, {}, HUMAN);
    b.clock.set(T0 + 10 * MIN);
    const [one, two, reopened, archived] = [
      await add(b.store, "one"),
      await add(b.store, "two"),
      await add(b.store, "reopened"),
      await add(b.store, "archived later"),
    ];
    for (const t of [one!, reopened!, archived!]) await b.store.complete(t.id, {}, HUMAN);
    b.clock.set(T0 + 2 * HOUR);
    await b.store.complete(two!.id, {}, HUMAN);
    await b.store.reopen(reopened!.id, HUMAN);
    await b.store.archive(archived!.id, HUMAN);
    const review = await add(b.store, "waits for review", { review_required: true });
    await b.store.complete(review.id, {}, HUMAN);

    const s = await b.store.series({ since: T0, bucket: "hour" });
    assert.deepEqual(s.buckets.map((x) => x.finished), [2, 0, 1]);
    const d = await b.store.series({ since: T0 - 3 * DAY, bucket: "day" });
    assert.deepEqual(d.buckets.map((x) => x.finished), [0, 1, 0, 3]);
  },
);

conformance(
  "series() groups the runs that ended by bucket and profile: outcomes, tokens, cost only where reported",
  async (drv) => {
    await using b = await drv.fresh();
    b.clock.set(T0 + 5 * MIN);
    const a1 = await add(b.store, "a1", { assignee: "claude" });
    await finishRun(b.store, a1.id, "claude", {
      input_tokens: 1000,
      output_tokens: 10,
      cost_usd: 0.1,
    });
    const a2 = await add(b.store, "a2", { assignee: "claude" });
    await finishRun(b.store, a2.id, "claude", { input_tokens: 500, cache_read_tokens: 40 });
    const crash = await add(b.store, "crash", { assignee: "codex" });
    const c = await claimId(b.store, crash.id, "codex");
    await b.store.endRun(
      c.run.id,
      { outcome: "crashed", error: "exit 1", policy: POLICY },
      DISPATCHER,
    );
    b.clock.set(T0 + HOUR + 5 * MIN);
    const c2 = await claimId(b.store, crash.id, "codex");
    await b.store.block(crash.id, "which key?", worker(c2), { output_tokens: 7, cost_usd: 0.2 });
    const open = await add(b.store, "still running", { assignee: "claude" });
    await claimId(b.store, open.id, "claude");
    b.clock.set(T0 + HOUR + 30 * MIN);

    const s = await b.store.series({ since: T0, bucket: "hour" });
    assert.deepEqual(s.profiles, ["claude", "codex"], "most runs first");
    const [first, second] = s.buckets;
    assert.deepEqual(first!.profiles.map((p) => [p.profile, p.runs, p.outcomes]), [
      ["claude", 2, { completed: 2 }],
      ["codex", 1, { crashed: 1 }],
    ]);
    const claude = first!.profiles[0]!;
    assert.deepEqual(
      [claude.runs_with_usage, claude.input_tokens, claude.output_tokens, claude.cache_read_tokens],
      [2, 1500, 10, 40],
    );
    assert.equal(claude.cost_usd, 0.1, "the run that reported no cost adds nothing");
    assert.equal(claude.runs_with_cost, 1);
    const codex = first!.profiles[1]!;
    assert.equal(codex.runs_with_usage, 0);
    assert.equal(codex.cost_usd, null, "no run reported a cost: unknown, not $0");
    assert.deepEqual(second!.profiles.map((p) => [p.profile, p.runs, p.outcomes, p.cost_usd]), [
      ["codex", 1, { blocked: 1 }, 0.2],
    ]);
  },
);

conformance(
  "series() gives each bucket's queue age: how long the runs that started in it waited in ready",
  async (drv) => {
    await using b = await drv.fresh();
    b.clock.set(T0);
    const quick = await add(b.store, "quick", { assignee: "x" });
    const slow = await add(b.store, "slow", { assignee: "x" });
    const retried = await add(b.store, "retried", { assignee: "x" });
    const blocker = await add(b.store, "parent");
    const child = await add(b.store, "child", { assignee: "x", parents: [blocker.id] });
    assert.equal(child.status, "todo");

    b.clock.set(T0 + MIN);
    await claimId(b.store, quick.id, "x"); // waited 60 s
    b.clock.set(T0 + 10 * MIN);
    const r = await claimId(b.store, retried.id, "x"); // waited 600 s
    await b.store.endRun(r.run.id, { outcome: "crashed", policy: POLICY }, DISPATCHER);
    b.clock.set(T0 + 15 * MIN);
    await claimId(b.store, retried.id, "x"); // back in ready at 10 min: waited 300 s
    b.clock.set(T0 + 50 * MIN);
    await b.store.complete(blocker.id, {}, HUMAN); // the child enters ready now
    b.clock.set(T0 + HOUR + 20 * MIN);
    await claimId(b.store, slow.id, "x"); // waited 80 min
    await claimId(b.store, child.id, "x"); // waited 30 min since it became ready
    const waiting = await add(b.store, "still waiting", { assignee: "x" });
    b.clock.set(T0 + HOUR + 30 * MIN);

    const s = await b.store.series({ since: T0, bucket: "hour" });
    assert.deepEqual(s.buckets[0]!.queue_age, { count: 3, p50_s: 300, max_s: 600 });
    assert.deepEqual(s.buckets[1]!.queue_age, { count: 2, p50_s: 1800, max_s: 4800 });
    assert.deepEqual(s.ready_now, { count: 1, p50_s: 600, max_s: 600 });
    assert.equal((await b.store.getTask(waiting.id)).status, "ready");

    const later = await b.store.series({ since: T0 + HOUR, bucket: "hour" });
    assert.deepEqual(later.buckets.map((x) => x.queue_age.count), [2], "runs before it are out");
  },
);

conformance(
  "series() for a tenant counts only that tenant's tasks, runs and waits",
  async (drv) => {
    await using b = await drv.fresh();
    b.clock.set(T0);
    const mine = await add(b.store, "mine", { tenant: "acme", assignee: "x" });
    const theirs = await add(b.store, "theirs", { tenant: "globex", assignee: "y" });
    await add(b.store, "acme waits", { tenant: "acme" });
    b.clock.set(T0 + MIN);
    await finishRun(b.store, mine.id, "x", { input_tokens: 5 });
    await finishRun(b.store, theirs.id, "y", { input_tokens: 7, cost_usd: 1 });
    b.clock.set(T0 + 2 * MIN);

    const acme = await b.store.series({ since: T0, bucket: "hour", tenant: "acme" });
    assert.deepEqual(acme.profiles, ["x"]);
    assert.equal(acme.buckets[0]!.finished, 1);
    assert.equal(acme.buckets[0]!.profiles[0]!.input_tokens, 5);
    assert.equal(acme.buckets[0]!.queue_age.count, 1);
    assert.deepEqual(acme.ready_now, { count: 1, p50_s: 120, max_s: 120 });
    const all = await b.store.series({ since: T0, bucket: "hour" });
    assert.deepEqual(all.profiles.toSorted(), ["x", "y"]);
    assert.equal(all.buckets[0]!.finished, 2);
    const none = await b.store.series({ since: T0, bucket: "hour", tenant: "nobody" });
    assert.deepEqual([none.profiles, none.buckets[0]!.finished, none.ready_now.count], [[], 0, 0]);
  },
);

conformance(
  "series() refuses a bad bucket, a since in the future or not a time, and too many buckets, naming them",
  async (drv) => {
    await using b = await drv.fresh();
    const now = b.clock.now();
    const refuses = (f: SeriesFilter, pattern: RegExp) =>
      assert.rejects(
        b.store.series(f),
        (e: Error) => e instanceof ValidationError && pattern.test(e.message),
        JSON.stringify(f),
      );
    await refuses(
      { since: now - DAY, bucket: "week" } as unknown as SeriesFilter,
      /Unknown bucket "week" \(use hour or day\)/,
    );
    await refuses(
      { since: now + HOUR, bucket: "hour" },
      /since 2026-01-01T01:00:00.000Z is in the future/,
    );
    await refuses({ since: Number.NaN, bucket: "day" }, /since NaN is not a time/);
    await refuses(
      { since: now - 60 * DAY, bucket: "hour" },
      /makes 1441 buckets \(at most 1000\).*bucket=day/,
    );
    await refuses({ since: now - 1001 * DAY, bucket: "day" }, /makes 1002 buckets/);
    assert.equal(
      (await b.store.series({ since: now - 30 * DAY, bucket: "hour" })).buckets.length,
      721,
    );
  },
);
