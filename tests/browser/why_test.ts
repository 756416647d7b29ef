/// <reference lib="dom" />
/**
 * The drawer explains a waiting task (headless Chromium against the compiled binary): a todo
 * task names the parent it waits on and that no dispatcher runs; a running or done task shows
 * no such callout.
 */
import assert from "node:assert/strict";
import { dashboard, launchBrowser } from "./_browser.ts";

Deno.test("drawer: a todo task says why it waits (its parent, no dispatcher); a done task says nothing", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      const parent = home.json<{ id: string }>(["create", "Lay the schema", "--assignee", "coder"]);
      const child = home.json<{ id: string }>([
        "create",
        "Write the API",
        "--assignee",
        "coder",
        "--parent",
        parent.id,
      ]);
      return { parent: parent.id, child: child.id };
    },
  });
  const { page } = d;
  await page.locator(`[data-testid=card][data-id="${d.seeded.child}"] [data-testid=card-title]`)
    .click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${d.seeded.child}"]`);
  const why = drawer.locator("[data-testid=drawer-why]");
  await why.waitFor({ state: "visible" });
  const parents = await why.locator("[data-testid=why-parents]").innerText();
  assert.match(
    parents,
    new RegExp(`parents waits on 1 parent\\(s\\): ${d.seeded.parent} \\(ready\\)`),
  );
  assert.match(
    await why.locator("[data-testid=why-no_dispatcher]").innerText(),
    /no dispatcher is running for this board/,
  );

  // the parent finishes: the child is ready, and the callout follows (only no dispatcher left)
  d.home.json(["complete", d.seeded.parent, "--summary", "done"]);
  await why.locator("[data-testid=why-parents]").waitFor({ state: "detached" });
  assert.equal(await why.locator("li").count(), 1);
  await page.keyboard.press("Escape");
  await page.locator(`[data-testid=card][data-id="${d.seeded.parent}"] [data-testid=card-title]`)
    .click();
  const done = page.locator(`[data-testid=drawer][data-id="${d.seeded.parent}"]`);
  await done.locator("[data-testid=drawer-status]").waitFor();
  assert.equal(await done.locator("[data-testid=drawer-why]").count(), 0, "done: no why");
  d.assertNoErrors();
});
