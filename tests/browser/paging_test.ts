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

  assert.equal(await cards.count(), 50);
  assert.equal(await done.locator("[data-testid=column-count]").textContent(), String(DONE));
  const ids = await cards.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset["id"]));
  // The newest finished are the last made, and they come first.
  assert.deepEqual(ids.slice(0, 3), d.seeded.slice(-3).reverse());

  await done.locator("[data-testid=show-more]").click();
  await page.waitForFunction(
    () =>
      document.querySelectorAll("[data-testid=column][data-status=done] [data-testid=card]")
        .length === 100,
    null,
    { timeout: 30_000 },
  );
  const ready = page.locator("[data-testid=column][data-status=ready] [data-testid=card]");
  assert.equal(await ready.count(), 100, "the queue's columns keep their own page");
  const asked = new URLSearchParams(boardQueries.at(-1));
  assert.equal(asked.get("done_limit"), "100");
  assert.equal(asked.get("limit"), "100");
  await done.locator("[data-testid=show-more]").click();
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll("[data-testid=column][data-status=done] [data-testid=card]")
        .length === n,
    DONE,
    { timeout: 30_000 },
  );
  assert.equal(await done.locator("[data-testid=show-more]").count(), 0, "nothing left to show");
  d.assertNoErrors();
});
