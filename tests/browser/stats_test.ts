/// <reference lib="dom" />
/**
 * The stats view against the compiled binary: a board whose runs ended over the last days
 * (seeded through the store on the board's file, with a clock set in the past) is plotted in
 * the page with uPlot, each plot's table lists exactly what GET /api/v1/stats/series answers,
 * the plots are drawn again in the other theme and fit a phone, and a run that ends while the
 * view is open shows up in it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { SeriesData } from "../../lib/dashboard/api.ts";
import { openStore, type Store, type UsageInput } from "../../lib/store/mod.ts";
import type { BinaryHome } from "../e2e/_binary.ts";
import { dashboard, launchBrowser, until } from "./_browser.ts";

const DISPATCHER = { name: "dispatcher" };
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** boardStore opens the served board's file with a clock of the test's choosing. */
function boardStore(home: BinaryHome, clock: () => number = Date.now): Store {
  return openStore(join(home.home, "boards", "default", "board.db"), { clock });
}

/**
 * run makes a task for `profile` at `at`, claims it `wait` ms later, and ends the run a minute
 * after that: completed with `usage`, or with `outcome` (a failure the dispatcher records).
 */
async function run(
  home: BinaryHome,
  at: number,
  profile: string,
  o: { wait?: number; usage?: UsageInput; outcome?: "crashed"; tenant?: string } = {},
): Promise<string> {
  let now = at;
  using store = boardStore(home, () => now);
  const { task } = await store.createTask(
    { title: `${profile} at ${new Date(at).toISOString()}`, assignee: profile, tenant: o.tenant },
    DISPATCHER,
  );
  now += o.wait ?? 60_000;
  const claim = await store.claim({ taskId: task.id, profile }, DISPATCHER);
  assert.ok(claim, `claim of ${task.id}`);
  now += 60_000;
  if (o.outcome) {
    await store.endRun(claim.run.id, { outcome: o.outcome, error: "exit 1" }, DISPATCHER);
  } else {
    await store.complete(task.id, { summary: "done", ...(o.usage ? { usage: o.usage } : {}) }, {
      name: `${profile}-1`,
      token: claim.token,
    });
  }
  return task.id;
}

/** openStats switches the page to the stats view and waits for the series to be drawn. */
async function openStats(page: Page): Promise<void> {
  await page.locator("[data-testid=view-stats]").click();
  await page.locator("[data-testid=stats][aria-busy=false]").waitFor({ state: "visible" });
}

const panel = (page: Page, id: string) =>
  page.locator(`[data-testid=stats-panel][data-panel="${id}"]`);

/** rows reads a panel's table: each row's key attributes and its figures' data-value. */
async function tableRows(page: Page, id: string): Promise<string[][]> {
  const p = panel(page, id);
  const toggle = p.locator("[data-testid=stats-table-toggle]");
  if (await toggle.getAttribute("aria-pressed") !== "true") await toggle.click();
  await p.locator("[data-testid=stats-table]").waitFor({ state: "visible" });
  return await p.locator("[data-testid=stats-table] tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [
      ...[tr.getAttribute("data-start"), tr.getAttribute("data-profile")].filter((v) =>
        v !== null
      ) as string[],
      ...[...tr.querySelectorAll("td[data-value]")].map((td) => td.getAttribute("data-value")!),
    ])
  );
}

async function showPlot(page: Page, id: string): Promise<void> {
  const toggle = panel(page, id).locator("[data-testid=stats-table-toggle]");
  if (await toggle.getAttribute("aria-pressed") === "true") await toggle.click();
  await panel(page, id).locator("canvas").first().waitFor({ state: "visible" });
}

/**
 * painted counts the pixels of a plot's canvas drawn in a theme colour (a custom property):
 * proof that bars or lines of that series are on it, not just axes.
 */
function painted(page: Page, testid: string, cssVar: string): Promise<number> {
  return page.evaluate(([testid, cssVar]) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid=${testid}] canvas`);
    if (!canvas) return -1;
    const probe = document.createElement("span");
    probe.style.color = `var(${cssVar})`;
    document.body.append(probe);
    const [r, g, b] = getComputedStyle(probe).color.match(/\d+/g)!.map(Number);
    probe.remove();
    const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      const near = Math.abs(px[i]! - r!) + Math.abs(px[i + 1]! - g!) + Math.abs(px[i + 2]! - b!);
      if (px[i + 3]! > 200 && near < 12) n++;
    }
    return n;
  }, [testid, cssVar]);
}

const value = (v: number | null) => (v === null ? "" : String(v));

Deno.test("dashboard: the stats view plots finished tasks, queue age, outcomes, tokens and cost, with tables equal to the API's figures", async () => {
  await using browser = await launchBrowser();
  const now = Date.now();
  await using d = await dashboard(browser, {
    seed: async (home) => {
      await run(home, now - 3 * DAY, "claude", {
        wait: 10 * 60_000,
        usage: {
          input_tokens: 12_400,
          cache_read_tokens: 3_100,
          output_tokens: 820,
          cost_usd: 0.5,
        },
      });
      await run(home, now - 2 * DAY, "codex", {
        usage: { input_tokens: 2_000, output_tokens: 500 },
      });
      await run(home, now - 2 * DAY + HOUR, "gemini", { outcome: "crashed", wait: 5 * 60_000 });
      await run(home, now - 3 * HOUR, "claude", {
        wait: 30_000,
        usage: { input_tokens: 1_000, output_tokens: 100, cost_usd: 0.012345 },
      });
      using store = boardStore(home, () => now - 5 * HOUR);
      const { task } = await store.createTask({ title: "a person does this" }, DISPATCHER);
      await store.complete(task.id, { summary: "by hand" }, DISPATCHER);
      await store.createTask({ title: "waits in ready" }, DISPATCHER);
    },
  });
  const { page } = d;
  await openStats(page);
  const api = await d.api<SeriesData>("GET", "/api/v1/stats/series?since=7d&bucket=day");
  assert.equal(api.bucket, "day");
  assert.deepEqual(api.profiles.toSorted(), ["claude", "codex", "gemini"]);

  // The plots: a canvas each, with the series drawn on it in the theme's colours.
  for (const id of ["finished", "queue", "outcomes", "tokens", "cost"]) {
    const box = await panel(page, id).locator("canvas").first().boundingBox();
    assert.ok(box && box.width > 300 && box.height > 100, `${id} plot: ${JSON.stringify(box)}`);
  }
  assert.ok(await painted(page, "plot-finished", "--ok") > 50, "finished bars");
  assert.ok(await painted(page, "plot-queue", "--accent") > 10, "the median line");
  assert.ok(await painted(page, "plot-outcomes", "--danger") > 50, "gemini's crash");
  assert.ok(await painted(page, "plot-outcomes", "--ok") > 50, "the completed runs");
  assert.ok(await painted(page, "plot-tokens", "--s-ready") > 10, "the first profile's tokens");
  assert.match(
    (await page.locator("[data-testid=stats-summary]").textContent())!,
    /^4 finished · 4 runs · 19\.9k tokens · \$0\.5123$/,
  );
  assert.match(
    (await page.locator("[data-testid=stats-ready-now]").textContent())!,
    // the crashed task is ready again since its run ended, 46h 54m ago
    /Ready now: 2 tasks, waiting 5h \(median\), 1d 22h \(longest\)/,
  );

  // The legend is the tooltip: hovering the last bucket shows its values.
  const finishedBox = (await page.locator("[data-testid=plot-finished] .u-over").boundingBox())!;
  await page.mouse.move(finishedBox.x + finishedBox.width - 5, finishedBox.y + 50);
  await until("the legend shows the last bucket's figure", async () => {
    const v = await page.locator("[data-testid=plot-finished] .u-series .u-value")
      .allTextContents();
    return v.length === 2 && v[1] === String(api.buckets.at(-1)!.finished) ? v : false;
  });

  // The numbers a click away: each table is exactly the API's figures.
  assert.deepEqual(
    await tableRows(page, "finished"),
    api.buckets.map((b) => [b.start, String(b.finished)]),
  );
  assert.deepEqual(
    await tableRows(page, "queue"),
    api.buckets.map((b) => [
      b.start,
      String(b.queue_age.count),
      value(b.queue_age.p50_s),
      value(b.queue_age.max_s),
    ]),
  );
  const waits = await panel(page, "queue").locator("tbody td").allTextContents();
  assert.ok(waits.includes("10m"), `the 10-minute wait reads 10m: ${waits.join("|")}`);
  assert.ok(waits.includes("30s"));
  const outcomes = await tableRows(page, "outcomes");
  const headings = await panel(page, "outcomes").locator("thead th").allTextContents();
  assert.deepEqual(headings, ["profile", "runs", "completed", "crashed"]);
  assert.deepEqual(outcomes.toSorted(), [
    ["claude", "2", "2", "0"],
    ["codex", "1", "1", "0"],
    ["gemini", "1", "0", "1"],
  ]);
  const perRow = api.buckets.flatMap((b) => b.profiles.map((p) => ({ start: b.start, p })));
  assert.deepEqual(
    await tableRows(page, "tokens"),
    perRow.map(({ start, p }) => {
      const known = p.runs_with_usage > 0;
      return [
        start,
        p.profile!,
        String(p.runs),
        String(p.runs_with_usage),
        known ? String(p.input_tokens + p.cache_write_tokens) : "",
        known ? String(p.cache_read_tokens) : "",
        known ? String(p.output_tokens) : "",
      ];
    }),
  );
  assert.deepEqual(
    await tableRows(page, "cost"),
    perRow.map(({ start, p }) => [
      start,
      p.profile!,
      String(p.runs),
      String(p.runs_with_cost),
      value(p.cost_usd),
    ]),
  );
  const costs = await panel(page, "cost").locator("tbody td:last-child").allTextContents();
  assert.deepEqual(costs.toSorted(), ["$0.012345", "$0.50", "–", "–"], "unknown is –, never $0");
  await d.screenshot("stats-tables-light");

  // The other theme: every plot is drawn again in its colours.
  for (const id of ["finished", "queue", "outcomes", "tokens", "cost"]) await showPlot(page, id);
  const light = await page.locator("[data-testid=plot-finished] canvas").evaluate((c) =>
    (c as HTMLCanvasElement).toDataURL()
  );
  await d.screenshot("stats-light");
  await page.locator("body").press("t");
  await until("the plots are drawn in the dark theme", async () => {
    const dark = await page.locator("[data-testid=plot-finished] canvas").evaluate((c) =>
      (c as HTMLCanvasElement).toDataURL()
    );
    return dark !== light;
  });
  assert.ok(await painted(page, "plot-outcomes", "--danger") > 50);
  const axis = await page.locator("[data-testid=plot-finished] .u-legend").evaluate((el) =>
    getComputedStyle(el).color
  );
  const text = await page.evaluate(() => getComputedStyle(document.body).color);
  assert.equal(axis, text, "the legend reads in the dark theme's text colour");
  await d.screenshot("stats-dark");

  // Another window: 24 h by the hour.
  await page.locator("[data-testid=stats-window-24h]").click();
  await page.locator("[data-testid=stats][aria-busy=false]").waitFor();
  const day = await d.api<SeriesData>("GET", "/api/v1/stats/series?since=24h&bucket=hour");
  assert.deepEqual(
    await tableRows(page, "finished"),
    day.buckets.map((b) => [b.start, String(b.finished)]),
  );
  assert.equal(day.buckets.length, 25);
  assert.equal(
    await page.locator("[data-testid=stats-window-24h]").getAttribute("aria-pressed"),
    "true",
  );

  // A phone: one column, the plots as wide as the screen, nothing scrolls sideways.
  await page.locator("[data-testid=stats-window-7d]").click();
  await page.locator("[data-testid=stats][aria-busy=false]").waitFor();
  await showPlot(page, "finished");
  await page.setViewportSize({ width: 390, height: 844 });
  await until("the plots fit 390 px", async () => {
    const widths = await page.locator("[data-testid=stats] canvas").evaluateAll((cs) =>
      cs.map((c) => c.getBoundingClientRect().right)
    );
    return widths.length >= 5 && widths.every((r) => r <= 390) ? widths : false;
  });
  const overflow = await page.locator("[data-testid=stats]").evaluate((el) =>
    el.scrollWidth - el.clientWidth
  );
  assert.equal(overflow, 0, "the stats view does not scroll sideways at 390 px");
  assert.ok(await painted(page, "plot-finished", "--ok") > 20, "still drawn after the resize");
  await d.screenshot("stats-phone-dark");
  d.assertNoErrors();
});

Deno.test("dashboard: the stats view says when no run reported usage, follows runs as they end, and the tenant filter", async () => {
  await using browser = await launchBrowser();
  const now = Date.now();
  await using d = await dashboard(browser, {
    seed: async (home) => {
      await run(home, now - 2 * HOUR, "codex", { tenant: "acme" });
    },
  });
  const { page } = d;
  await openStats(page);
  await page.locator("[data-testid=stats-no-usage]").waitFor({ state: "visible" });
  assert.equal(await panel(page, "tokens").count(), 0, "no tokens plot without usage");
  assert.equal(await panel(page, "cost").count(), 0);
  const summary = page.locator("[data-testid=stats-summary]");
  assert.equal((await summary.textContent())!.trim(), "1 finished · 1 run");

  // A run that ends while the view is open: it is counted, and its usage plotted.
  await run(d.home, Date.now() - 5 * 60_000, "claude", {
    wait: 1000,
    usage: { input_tokens: 5_200, output_tokens: 100 },
  });
  let seen = "";
  await until("the view counts the new run", async () => {
    seen = (await summary.textContent())!.trim();
    return seen === "2 finished · 2 runs · 5.3k tokens" ? seen : false;
  }, 12_000).catch((err) => {
    throw new assert.AssertionError({ message: `${err.message}; it reads "${seen}"` });
  });
  await panel(page, "tokens").locator("canvas").waitFor({ state: "visible" });
  await panel(page, "cost").locator("[data-testid=stats-no-cost]").waitFor({ state: "visible" });

  // The tenant filter applies to the stats as to the board.
  await page.locator("[data-testid=filter-tenant]").fill("acme");
  await until("the stats follow the tenant filter", async () => {
    const t = (await summary.textContent())!.trim();
    return t === "1 finished · 1 run" ? t : false;
  });
  assert.match((await page.locator("[data-testid=stats]").textContent())!, /tenant acme/);
  await page.locator("[data-testid=stats-no-usage]").waitFor({ state: "visible" });
  d.assertNoErrors();
});
