import assert from "node:assert/strict";
import { type Usage, ValidationError } from "../../lib/store/mod.ts";
import { DISPATCHER } from "../_setup.ts";
import { add, boardState, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const OUTPUT: Usage = {
  input_tokens: 1200,
  output_tokens: 80,
  cache_read_tokens: 300,
  cache_write_tokens: 40,
  reasoning_tokens: 16,
  models: ["model-a"],
  turns: 2,
  cost_usd: 0.0125,
  source: "output",
};

const POLICY = { failureLimit: 3, backoffMs: () => 1000 };

conformance(
  "complete() with usage stores what the worker reported, marked as reported",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "x", { assignee: "coder" });
    const c = await claimId(b.store, t.id);
    await b.store.complete(t.id, {
      summary: "ok",
      usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.5 },
    }, worker(c));
    const run = await b.store.getRun(c.run.id);
    assert.deepEqual(run.usage, {
      input_tokens: 10,
      output_tokens: 5,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      models: [],
      cost_usd: 0.5,
      source: "reported",
    });
  },
);

conformance(
  "usage read from the CLI's output replaces reported usage: a run never counts both",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "x", { assignee: "coder" });
    const c = await claimId(b.store, t.id);
    await b.store.complete(t.id, { usage: { input_tokens: 999_999 } }, worker(c));
    await b.store.recordExit(c.run.id, 0, null, DISPATCHER, OUTPUT);
    assert.deepEqual((await b.store.getRun(c.run.id)).usage, OUTPUT);
    const stats = await b.store.usageStats();
    assert.equal(stats.total.input_tokens, 1200, "counted once");
  },
);

conformance(
  "an exit with no usage in the output keeps the usage the worker reported",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "x", { assignee: "coder" });
    const c = await claimId(b.store, t.id);
    await b.store.block(t.id, "which API key?", worker(c), { output_tokens: 7 });
    await b.store.recordExit(c.run.id, 0, null, DISPATCHER, null);
    const run = await b.store.getRun(c.run.id);
    assert.equal(run.outcome, "blocked");
    assert.equal(run.usage?.output_tokens, 7);
    assert.equal(run.usage?.source, "reported");
  },
);

conformance("endRun() stores the usage of a failed run", async (drv) => {
  await using b = await drv.fresh();
  const t = await add(b.store, "x", { assignee: "coder" });
  const c = await claimId(b.store, t.id);
  await b.store.endRun(c.run.id, {
    outcome: "crashed",
    error: "exit code 1",
    usage: OUTPUT,
    policy: POLICY,
  }, DISPATCHER);
  assert.deepEqual((await b.store.getRun(c.run.id)).usage, OUTPUT);
});

conformance(
  "bad usage is refused with an error naming it, and the task stays running",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "x", { assignee: "coder" });
    const c = await claimId(b.store, t.id);
    const before = await boardState(b.store);
    for (
      const usage of [
        { input_tokens: -1 },
        { output_tokens: 1.5 },
        { tokens: 3 },
        { cost_usd: "free" },
        { models: "gpt" },
      ]
    ) {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        b.store.complete(t.id, { summary: "x", usage: usage as any }, worker(c)),
        (err: Error) => err instanceof ValidationError && /usage/.test(err.message),
        JSON.stringify(usage),
      );
    }
    assert.deepEqual(await boardState(b.store), before, "nothing was written");
    assert.equal((await b.store.getTask(t.id)).status, "running");
  },
);

conformance(
  "usageStats() sums the runs that ended in the window by profile and tenant, cost only where reported",
  async (drv) => {
    await using b = await drv.fresh();
    const end = async (profile: string, tenant: string | null, usage: Usage | null) => {
      const t = await add(b.store, profile, { assignee: profile, ...(tenant ? { tenant } : {}) });
      const c = await claimId(b.store, t.id, profile);
      await b.store.complete(t.id, {}, worker(c));
      await b.store.recordExit(c.run.id, 0, null, DISPATCHER, usage);
    };
    await end("claude", "acme", OUTPUT);
    b.clock.advance(86_400_000 * 2);
    const since = b.clock.now();
    await end("claude", "acme", OUTPUT);
    await end("codex", null, { ...OUTPUT, cost_usd: undefined, models: ["gpt"] } as Usage);
    await end("codex", null, null);

    const all = await b.store.usageStats();
    assert.equal(all.since, null);
    assert.equal(all.total.runs, 4);
    assert.equal(all.total.runs_with_usage, 3);
    assert.equal(all.total.input_tokens, 3600);
    assert.equal(all.total.cost_usd, 0.025);
    assert.equal(all.total.runs_with_cost, 2);

    const recent = await b.store.usageStats({ since });
    assert.equal(recent.total.runs, 3);
    const byProfile = Object.fromEntries(recent.by_profile.map((p) => [p.profile, p]));
    assert.equal(byProfile["claude"]?.input_tokens, 1200);
    assert.equal(byProfile["claude"]?.cost_usd, 0.0125);
    assert.equal(byProfile["codex"]?.runs, 2);
    assert.equal(byProfile["codex"]?.runs_with_usage, 1);
    assert.equal(byProfile["codex"]?.cost_usd, null, "no cost reported is unknown, not $0");
    assert.equal(byProfile["codex"]?.reasoning_tokens, 16);

    const acme = await b.store.usageStats({ tenant: "acme" });
    assert.deepEqual(acme.by_tenant.map((t) => [t.tenant, t.runs]), [["acme", 2]]);
    assert.equal(acme.total.output_tokens, 160);
  },
);
