/// <reference lib="dom" />
/**
 * Tokens and cost in the dashboard, against the compiled binary: runs get usage the way a
 * worker reports it (complete with `usage`, through the store on the board's file), and the
 * page shows them in the drawer's run history and in the health bar's 24 h summary, which
 * follows new runs as they end.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { openStore, type Store, type UsageInput } from "../../lib/store/mod.ts";
import type { BinaryHome } from "../e2e/_binary.ts";
import { dashboard, launchBrowser, until } from "./_browser.ts";

const DISPATCHER = { name: "dispatcher" };

function boardStore(home: BinaryHome): Store {
  return openStore(join(home.home, "boards", "default", "board.db"));
}

/** finish makes a task for `profile`, claims it and has its worker complete it with `usage`. */
async function finish(
  store: Store,
  title: string,
  profile: string,
  usage?: UsageInput,
): Promise<string> {
  const { task } = await store.createTask({ title, assignee: profile }, DISPATCHER);
  const claim = await store.claim({ taskId: task.id, profile }, DISPATCHER);
  assert.ok(claim, `claim of ${task.id}`);
  await store.complete(task.id, { summary: `${title}: done`, ...(usage ? { usage } : {}) }, {
    name: `${profile}-1`,
    token: claim.token,
  });
  return task.id;
}

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).textContent()) ?? "").replace(/\s+/g, " ").trim();

async function openDrawer(page: Page, id: string) {
  const open = page.locator("[data-testid=drawer]");
  if (await open.count() > 0) { // it covers the cards on the right
    await page.keyboard.press("Escape");
    await open.waitFor({ state: "hidden" });
  }
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  await drawer.locator("[data-testid=run]").first().waitFor({ state: "visible" });
  return drawer;
}

Deno.test("dashboard: runs show their tokens and cost, and the health bar sums the last 24 h by profile", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: async (home) => {
      using store = boardStore(home);
      return {
        claude: await finish(store, "Write the parser", "claude", {
          input_tokens: 12_400,
          cache_read_tokens: 3_100,
          output_tokens: 820,
          reasoning_tokens: 100,
          models: ["claude-model"],
          cost_usd: 0.0123,
        }),
        codex: await finish(store, "Review the parser", "codex", {
          input_tokens: 2_000,
          output_tokens: 500,
        }),
        unknown: await finish(store, "Tidy up", "gemini"),
      };
    },
  });
  const { page, seeded } = d;

  // The summary: every token of the three runs (18.8k), the one reported cost.
  const summary = page.locator("[data-testid=usage-summary]");
  await summary.waitFor({ state: "visible" });
  assert.equal(await text(page, "[data-testid=usage-summary]"), "24 h 18.8k tokens · $0.0123");
  assert.match((await summary.getAttribute("title"))!, /cost reported by 1 of 3 runs/);

  // Its breakdown per profile: no cost reported reads "–", never "$0".
  await summary.click();
  const panel = page.locator("[data-testid=usage-panel]");
  await panel.waitFor({ state: "visible" });
  const rows = await panel.locator("[data-testid=usage-row]").evaluateAll((trs) =>
    trs.map((tr) => [...tr.children].map((c) => c.textContent!.trim()))
  );
  assert.deepEqual(rows.sort(), [
    ["claude", "1", "12.4k", "3.1k", "820", "$0.0123"],
    ["codex", "1", "2k", "0", "500", "–"],
    ["gemini", "1", "–", "–", "–", "–"],
  ]);
  assert.deepEqual(
    await panel.locator("[data-testid=usage-total] > *").allTextContents(),
    ["All", "3", "14.4k", "3.1k", "1.3k", "$0.0123*"],
  );
  assert.ok(!(await panel.textContent())!.includes("$0.0000"));
  await d.screenshot("usage-panel-light");
  await page.keyboard.press("Escape");
  await panel.waitFor({ state: "hidden" });

  // The drawer's run history: in / cached / out and the reported cost, or "usage unknown".
  let drawer = await openDrawer(page, seeded.claude);
  const line = drawer.locator("[data-testid=run-usage]");
  assert.equal(await line.getAttribute("data-known"), "true");
  assert.equal(
    (await line.locator("[data-testid=tokens]").textContent())!.replace(/\s+/g, " ").trim(),
    "12.4k in · 3.1k cached · 820 out",
  );
  assert.equal(await line.locator("[data-testid=run-cost]").textContent(), "$0.0123");
  assert.match((await line.textContent())!, /claude-model/);
  assert.match(
    (await line.locator("[data-testid=tokens]").getAttribute("title"))!,
    /100 reasoning/,
  );
  await line.scrollIntoViewIfNeeded();
  await d.screenshot("usage-drawer-light");
  drawer = await openDrawer(page, seeded.codex);
  assert.equal(await drawer.locator("[data-testid=run-cost]").count(), 0);
  assert.match((await drawer.locator("[data-testid=run-usage]").textContent())!, /no cost/);
  drawer = await openDrawer(page, seeded.unknown);
  assert.equal(await drawer.locator("[data-testid=run-usage]").getAttribute("data-known"), "false");
  assert.equal(
    (await drawer.locator("[data-testid=run-usage]").textContent())!.trim(),
    "usage unknown",
  );
  await page.keyboard.press("Escape");
  await drawer.waitFor({ state: "hidden" });

  // A run that ends while the page is open: the summary follows within a second or two.
  {
    using store = boardStore(d.home);
    await finish(store, "Ship it", "claude", { input_tokens: 1_000, cost_usd: 0.5 });
  }
  await until("the summary counts the new run", async () => {
    const t = await text(page, "[data-testid=usage-summary]");
    return t === "24 h 19.8k tokens · $0.5123" ? t : false;
  }, 8000);

  // Both themes.
  await page.keyboard.press("t");
  await summary.click();
  await panel.waitFor({ state: "visible" });
  await d.screenshot("usage-panel-dark");
  await page.mouse.click(400, 600); // a click outside closes it
  await panel.waitFor({ state: "hidden" });
  d.assertNoErrors();
});
