/// <reference lib="dom" />
/**
 * Finished work loads by page: on a board with 130 done tasks the Done column shows the 50
 * finished last, newest first; "Show more" reads one more page of that column alone, and the
 * queue's columns are not read further.
 */
import assert from "node:assert/strict";
import { openStore } from "../../lib/store/mod.ts";
import { dashboard, launchBrowser } from "./_browser.ts";

const DONE = 130;

Deno.test("paging: done lists the newest 50 first and shows more a page at a time", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: async (home) => {
      const { path } = home.json<{ path: string }>(["init"]);
      // One second apart, in the past: the order of completion is the order of making.
      let at = Date.now() - 3_600_000;
      using store = openStore(path, { clock: () => (at += 1000) });
      const person = { name: "tester" };
      const done: string[] = [];
      for (let i = 0; i < DONE; i++) {
        const { task } = await store.createTask({ title: `Finished ${i}` }, person);
        await store.complete(task.id, { summary: `shipped ${i}` }, person);
        done.push(task.id);
      }
      for (let i = 0; i < 120; i++) await store.createTask({ title: `Queued ${i}` }, person);
      return done;
    },
  });
  const { page } = d;
  const done = page.locator("[data-testid=column][data-status=done]");
  const cards = done.locator("[data-testid=card]");
  const boardQueries: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname === "/api/v1/board") boardQueries.push(u.search);
  });

  /**
   * showMore presses the Done column's "Show more" and waits for `n` cards. The press is a DOM
   * click on the button itself: a pointer click lands where the button was when Playwright
   * measured it, and a late layout change (the health bar filling in) can move a card there.
   * If the cards do not come, the error says what the page shows instead.
   */
  const showMore = async (n: number) => {
    await done.locator("[data-testid=show-more]").dispatchEvent("click");
    try {
      await page.waitForFunction(
        (want) =>
          document.querySelectorAll("[data-testid=column][data-status=done] [data-testid=card]")
            .length === want,
        n,
        { timeout: 30_000 },
      );
    } catch (err) {
      const shown = await page.evaluate(() => ({
        cards: document.querySelectorAll(
          "[data-testid=column][data-status=done] [data-testid=card]",
        ).length,
        drawer: document.querySelector("[data-testid=drawer]") !== null,
        toasts: [...document.querySelectorAll("[data-testid=toast]")].map((t) => t.textContent),
        more: document.querySelector("[data-testid=column][data-status=done] .more")?.textContent,
      }));
      throw new Error(
        `waited for ${n} done cards: the page shows ${JSON.stringify(shown)}; ` +
          `board queries ${JSON.stringify(boardQueries)}`,
        { cause: err },
      );
    }
  };

  assert.equal(await cards.count(), 50);
  assert.equal(await done.locator("[data-testid=column-count]").textContent(), String(DONE));
  const ids = await cards.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset["id"]));
  // The newest finished are the last made, and they come first.
  assert.deepEqual(ids.slice(0, 3), d.seeded.slice(-3).reverse());

  await showMore(100);
  const ready = page.locator("[data-testid=column][data-status=ready] [data-testid=card]");
  assert.equal(await ready.count(), 100, "the queue's columns keep their own page");
  const asked = new URLSearchParams(boardQueries.at(-1));
  assert.equal(asked.get("done_limit"), "100");
  assert.equal(asked.get("limit"), "100");
  await showMore(DONE);
  assert.equal(await done.locator("[data-testid=show-more]").count(), 0, "nothing left to show");
  d.assertNoErrors();
});
