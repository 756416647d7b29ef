import assert from "node:assert/strict";
import * as shapes from "../../lib/http/shapes.ts";
import type { Series, Store, UsageInput } from "../../lib/store/mod.ts";
import { DISPATCHER } from "../_setup.ts";
import { appSetup, conforms } from "./_app.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** runWith makes a task for `profile`, claims it and has its worker complete it with `usage`. */
async function runWith(
  store: Store,
  profile: string,
  usage: UsageInput | undefined,
  tenant?: string,
): Promise<void> {
  const { task } = await store.createTask(
    { title: `${profile} work`, assignee: profile, ...(tenant ? { tenant } : {}) },
    DISPATCHER,
  );
  const claim = (await store.claim({ taskId: task.id, profile }, DISPATCHER))!;
  await store.complete(task.id, { summary: "done", ...(usage ? { usage } : {}) }, {
    name: `${profile}-1`,
    token: claim.token,
  });
}

Deno.test("GET /api/v1/stats/series answers the store's buckets: by the hour for 24h, by the day for 7d", async () => {
  await using a = appSetup();
  const store = a.b.store;
  await runWith(store, "claude", { input_tokens: 900, output_tokens: 100, cost_usd: 0.5 });
  a.b.clock.advance(2 * DAY + 3 * HOUR);
  await runWith(store, "claude", { input_tokens: 1200, cost_usd: 0.25 });
  await runWith(store, "codex", { input_tokens: 300 }, "acme");
  await runWith(store, "codex", undefined, "acme");
  a.b.clock.advance(10 * MIN);
  const now = a.b.clock.now();

  const day = await a.ok<Series>("GET", "/api/v1/stats/series?since=24h");
  conforms(shapes.Series, day);
  assert.deepEqual(day, await store.series({ since: now - DAY, bucket: "hour" }));
  assert.equal(day.bucket, "hour");
  assert.equal(day.buckets.length, 25);
  const last = day.buckets.at(-1)!;
  assert.equal(last.finished, 3);
  assert.deepEqual(last.profiles.map((p) => [p.profile, p.runs, p.cost_usd]), [
    ["codex", 2, null],
    ["claude", 1, 0.25],
  ]);

  const week = await a.ok<Series>("GET", "/api/v1/stats/series?since=7d");
  conforms(shapes.Series, week);
  assert.equal(week.bucket, "day");
  assert.equal(week.buckets.length, 8);
  assert.deepEqual(week.buckets.map((b) => b.finished), [0, 0, 0, 0, 0, 1, 0, 3]);
  const byDefault = await a.ok<Series>("GET", "/api/v1/stats/series");
  assert.deepEqual(byDefault, week, "the default window is 7d");

  const hourly = await a.ok<Series>("GET", "/api/v1/stats/series?since=3d&bucket=hour");
  assert.equal(hourly.buckets.length, 73);
  const iso = new Date(now - 3 * HOUR).toISOString();
  const since = await a.ok<Series>(
    "GET",
    `/api/v1/stats/series?since=${encodeURIComponent(iso)}&bucket=day`,
  );
  assert.equal(since.buckets.length, 1);

  const acme = await a.ok<Series>("GET", "/api/v1/stats/series?since=24h&tenant=acme");
  conforms(shapes.Series, acme);
  assert.deepEqual(acme.profiles, ["codex"]);
  assert.equal(acme.buckets.at(-1)!.finished, 2);
});

Deno.test("GET /api/v1/stats/series refuses a bad since or bucket with a 400 that names it", async () => {
  await using a = appSetup();
  const path = "/api/v1/stats/series";
  assert.match(
    await a.fails("GET", `${path}?since=yesterday`, undefined, 400, "invalid_input"),
    /since: "yesterday" is not a duration or a time/,
  );
  assert.match(
    await a.fails("GET", `${path}?since=7d&bucket=week`, undefined, 400, "invalid_input"),
    /bucket: .*"hour"\|"day"/,
  );
  assert.match(
    await a.fails("GET", `${path}?since=90d&bucket=hour`, undefined, 400, "invalid_input"),
    /makes 2161 buckets \(at most 1000\).*bucket=day/,
  );
  const future = new Date(a.b.clock.now() + DAY).toISOString();
  assert.match(
    await a.fails("GET", `${path}?since=${future}`, undefined, 400, "invalid_input"),
    /is in the future/,
  );
  assert.match(
    await a.fails("GET", `${path}?window=7d`, undefined, 400, "invalid_input"),
    /window/,
  );
  const r = await a.call("GET", path, undefined, { authorization: "" });
  assert.equal(r.status, 401, "the series needs the board's token like every route");
});
