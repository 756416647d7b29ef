/// <reference lib="dom" />
/**
 * The review loop in the drawer (docs/review.md): the review pane says who reviews the task and
 * where its review stands, and lists each round's hand-in and verdict with its reason; the
 * Reviewer field sets the task's reviewer. Real Chromium, the real `kanban serve`.
 */
import assert from "node:assert/strict";
import { openStore } from "../../lib/store/mod.ts";
import { dashboard, launchBrowser, until } from "./_browser.ts";

Deno.test("drawer: the review pane shows a review's rounds; the Reviewer field sets the reviewer", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      const { path } = home.json<{ path: string }>(["init"]);
      const id = home.json<{ id: string }>([
        "create",
        "Rate limiter",
        "--assignee",
        "coder",
        "--reviewer",
        "critic",
      ]).id;
      return { id, path };
    },
  });
  const { page } = d;
  const { id, path } = d.seeded;
  // a round as under kanban dispatch: the coder hands in, the critic requests changes
  {
    using store = openStore(path);
    const c = (await store.claim({ taskId: id }, { name: "dispatcher" }))!;
    await store.requestReview(id, { summary: "limits in place" }, {
      name: "coder-1",
      token: c.token,
    });
    const r = (await store.claim({ taskId: id }, { name: "dispatcher" }))!;
    await store.review(id, "reject", "add a Retry-After header", {
      name: "critic-1",
      token: r.token,
    });
  }
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  const loop = drawer.locator("[data-testid=review-loop]");
  await loop.waitFor({ state: "visible", timeout: 15_000 });
  assert.equal(
    await loop.locator("[data-testid=review-state]").textContent(),
    "round 1 of 3: changes requested, back with coder",
  );
  const rounds = await loop.locator("[data-testid=review-rounds] li").allTextContents();
  assert.deepEqual(rounds, [
    "round 1: handed in by coder-1: limits in place",
    "round 1: changes requested by critic-1: add a Retry-After header",
  ]);
  // the Reviewer field
  const field = drawer.locator("[data-testid=reviewer-input]");
  assert.equal(await field.inputValue(), "critic");
  await field.fill("boss");
  await field.press("Enter");
  await until("the reviewer saved", async () => {
    const t = (await d.api<{ task: { reviewer: string | null } }>("GET", `/api/v1/tasks/${id}`))
      .task;
    return t.reviewer === "boss";
  });
  d.assertNoErrors();
});
