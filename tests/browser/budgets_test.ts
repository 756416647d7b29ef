/// <reference lib="dom" />
/**
 * Budgets in the stats view (docs/budgets.md): each budget as a bar of what its window spent
 * against its cap, marked once spent. Real Chromium, the real `kanban serve`.
 */
import assert from "node:assert/strict";
import { dashboard, launchBrowser, until } from "./_browser.ts";

Deno.test("dashboard: the stats view shows each budget's spend against its cap, and a spent one", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      home.json(["init"]);
      const add = (...args: string[]) => {
        const r = home.kanban(["budget", "add", ...args]);
        assert.equal(r.code, 0, r.stderr);
      };
      add("fleet-runs", "--scope", "board", "--metric", "runs", "--cap", "4", "--window", "day");
      add(
        "coder-one",
        "--scope",
        "profile:coder",
        "--metric",
        "runs",
        "--cap",
        "1",
        "--window",
        "5h",
      );
      const id = home.json<{ id: string }>(["create", "work", "--assignee", "coder"]).id;
      const c = home.kanban(["claim", id]);
      assert.equal(c.code, 0, c.stderr);
      return id;
    },
  });
  const { page } = d;
  await page.locator("[data-testid=view-stats]").click();
  const panel = page.locator("[data-testid=budgets]");
  await panel.waitFor({ state: "visible", timeout: 15_000 });
  const fleet = panel.locator("[data-testid=budget][data-name=fleet-runs]");
  assert.equal(await fleet.getAttribute("data-state"), "ok");
  assert.match(
    (await fleet.locator("[data-testid=budget-figures]").textContent())!,
    /^1 of 4 · resets /,
  );
  const coder = panel.locator("[data-testid=budget][data-name=coder-one]");
  await until(
    "the spent budget marked",
    async () => (await coder.getAttribute("data-state")) === "over",
  );
  assert.equal(await coder.locator("[data-testid=budget-figures]").textContent(), "1 of 1");
  assert.equal(await coder.locator("[role=meter]").getAttribute("aria-valuenow"), "1");
  // each budget with a window plots its spend against its cap
  const plot = fleet.locator("[data-testid=budget-plot] canvas");
  await plot.first().waitFor({ state: "visible", timeout: 15_000 });
  assert.ok(((await plot.first().boundingBox())?.width ?? 0) > 100, "the plot has a width");
  d.assertNoErrors();
});
