/// <reference lib="dom" />
/**
 * Held profiles in the stats view and the health bar (docs/quotas.md): a profile held for a
 * rate limit shows until when and why, and the Release button ends the hold. Real Chromium,
 * the real `kanban serve`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import { DISPATCHER } from "../_setup.ts";
import { dashboard, launchBrowser, until } from "./_browser.ts";

Deno.test("dashboard: a held profile shows in the health bar and the stats view until released", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: async (home) => {
      home.json(["init"]);
      const id = home.json<{ id: string }>(["create", "work", "--assignee", "coder"]).id;
      const store = openStore(join(home.home, "boards", "default", "board.db"));
      try {
        await store.holdProfile({
          profile: "coder",
          kind: "rate_limit",
          reset_at: Date.now() + 3_600_000,
          reason: "Error: 429 Too Many Requests",
          task: id,
          host: "build-1",
        }, DISPATCHER);
      } finally {
        store.close();
      }
      return id;
    },
  });
  const { page } = d;
  await until(
    "the health bar's warning",
    async () =>
      /profile "coder" is rate limited/.test(
        (await page.locator(".warning").allTextContents()).join("\n"),
      ),
  );
  await page.locator("[data-testid=view-stats]").click();
  const panel = page.locator("[data-testid=holds]");
  await panel.waitFor({ state: "visible", timeout: 15_000 });
  const hold = panel.locator("[data-testid=hold][data-profile=coder]");
  assert.equal(await hold.getAttribute("data-kind"), "rate_limit");
  assert.match((await hold.locator("[data-testid=hold-until]").textContent())!, /^held until /);
  assert.match((await hold.textContent())!, /Error: 429 Too Many Requests/);
  await hold.locator("[data-testid=hold-release]").click();
  await panel.waitFor({ state: "detached", timeout: 15_000 });
  const store = openStore(join(d.home.home, "boards", "default", "board.db"));
  try {
    assert.deepEqual(await store.profileHolds(), [], "released on the board");
  } finally {
    store.close();
  }
  d.assertNoErrors();
});
