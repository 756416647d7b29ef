import assert from "node:assert/strict";
import { cliHome, create } from "./_cli.ts";

interface ClaimJson {
  task: { id: string };
  run: { id: number };
  token: string;
}

const REPORT = {
  input_tokens: 1000,
  output_tokens: 50,
  cache_read_tokens: 200,
  models: ["my-model"],
  cost_usd: 0.01,
};

Deno.test("a worker reports its usage with complete --usage; runs, show and stats show it", async () => {
  using h = await cliHome();
  const id = await create(h, "report usage", "--assignee", "script");
  const c = (await h.run(["claim", id, "--json"])).json<ClaimJson>();
  const env = { KANBAN_TASK: id, KANBAN_TOKEN: c.token };
  const done = await h.run(["complete", "--summary", "ok", "--usage", JSON.stringify(REPORT)], env);
  assert.equal(done.code, 0, done.stderr);

  const runs = (await h.run(["runs", id, "--json"])).json<{ usage: unknown }[]>();
  assert.deepEqual(runs[0]!.usage, {
    ...REPORT,
    cache_write_tokens: 0,
    source: "reported",
  });
  const text = (await h.run(["runs", id])).stdout;
  assert.match(text, /TOKENS\s+COST/);
  assert.match(text, /1\.3k\s+\$0\.0100\s+ok/);
  assert.match((await h.run(["show", id])).stdout, /used:\s+1\.3k tokens, \$0\.0100/);

  const stats = await h.run(["stats"]);
  assert.match(stats.stdout, /Usage \(all time; costs only where the agent CLI reported them\):/);
  assert.match(stats.stdout, /script\s+1\s+1\s+1k\s+200\s+0\s+50\s+\$0\.0100/);
  const window = (await h.run(["stats", "--since", "1h", "--json"])).json<
    { usage: { since: string; total: { runs: number } } }
  >();
  assert.equal(window.usage.since, "2026-03-01T11:00:00.000Z");
});

Deno.test("bad usage is refused with an error naming it, and the task keeps running", async () => {
  using h = await cliHome();
  const id = await create(h, "bad usage", "--assignee", "script");
  const c = (await h.run(["claim", id, "--json"])).json<ClaimJson>();
  const env = { KANBAN_TASK: id, KANBAN_TOKEN: c.token };
  for (
    const [usage, pattern] of [
      ["{not json", /--usage is not valid JSON/],
      ["[1, 2]", /--usage must be a JSON object/],
      ['{"input_tokens": -5}', /usage.*input_tokens/],
      ['{"tokens": 5}', /usage.*tokens/],
    ] as const
  ) {
    const r = await h.run(["complete", "--summary", "x", "--usage", usage], env);
    assert.equal(r.code, 2, `${usage}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, pattern, usage);
  }
  const blocked = await h.run(["block", "need a key", "--usage", '{"cost_usd": "lots"}'], env);
  assert.equal(blocked.code, 2);
  assert.match(blocked.stderr, /usage.*cost_usd/);
  const task = (await h.run(["show", id, "--json"])).json<{ task: { status: string } }>();
  assert.equal(task.task.status, "running");
  const since = await h.run(["stats", "--since", "last tuesday"]);
  assert.equal(since.code, 2);
  assert.match(since.stderr, /"last tuesday" is not a duration or a time/);
});
