/// <reference lib="dom" />
/**
 * The drawer shows a task's completion gate (docs/gates.md) in headless Chromium against the
 * compiled binary: the command as a shell would quote it, its time limit and rounds, and the
 * last gate's result with its output folded (as text, never HTML); a task without a gate shows
 * no such section. The failed gate is made through the Store API, as a dispatcher reports it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { openStore } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { dashboard, launchBrowser } from "./_browser.ts";

const OUTPUT = "FAIL parser_test.ts\n  <b>expected 2</b>, got 3\n";

/** openCard opens task `id`'s drawer by its card and returns the drawer once it is loaded. */
async function openCard(page: Page, id: string) {
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  await drawer.locator("[data-testid=drawer-status]").waitFor();
  return drawer;
}

Deno.test("drawer: a task whose gate failed shows the gate, round 1 of 2 and its output folded; a pending gate says so; a task without a gate shows none", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: async (home) => {
      const store = openStore(join(home.home, "boards", "default", "board.db"));
      try {
        const gated = (await store.createTask({
          title: "Parse the logs",
          assignee: "coder",
          gate: ["sh", "-c", "cd {workspace} && make check"],
          gate_rounds: 2,
          gate_timeout_ms: 90_000,
        }, HUMAN)).task;
        const c = await store.claim({ taskId: gated.id, profile: "coder" }, DISPATCHER);
        assert.ok(c, "claimed");
        const worker = { name: "coder-1", token: c.token };
        await store.complete(gated.id, { summary: "parser done" }, worker);
        const settled = await store.settleGate(gated.id, {
          passed: false,
          exit_code: 2,
          output: OUTPUT,
          duration_ms: 1500,
          timed_out: false,
        }, worker);
        assert.equal(settled.verdict, "failed");
        // a completed task whose gate (its defaults) waits to run
        const held = (await store.createTask({
          title: "Lint the docs",
          assignee: "coder",
          gate: ["make", "lint"],
        }, HUMAN)).task;
        const h = await store.claim({ taskId: held.id, profile: "coder" }, DISPATCHER);
        assert.ok(h, "claimed");
        await store.complete(held.id, { summary: "linted" }, { name: "coder-2", token: h.token });
        const plain = (await store.createTask({ title: "No gate here" }, HUMAN)).task;
        return { gated: gated.id, held: held.id, heldRun: h.run.id, plain: plain.id };
      } finally {
        store.close();
      }
    },
  });
  const { page } = d;
  const drawer = await openCard(page, d.seeded.gated);
  const gate = drawer.locator("[data-testid=drawer-gate]");
  await gate.waitFor({ state: "visible" });
  assert.equal(
    await gate.locator("[data-testid=gate-command]").innerText(),
    "sh -c 'cd {workspace} && make check'",
  );
  assert.equal(
    await gate.locator("[data-testid=gate-limits]").innerText(),
    "time limit 1m30s · 2 rounds",
  );
  assert.equal(await gate.locator("[data-testid=gate-state]").innerText(), "failed");
  const result = gate.locator("[data-testid=gate-result]");
  assert.equal(await result.getAttribute("data-state"), "failed");
  assert.match(
    await result.innerText(),
    /^Last gate: failed in round 1 of 2 \(exit code 2, 1\.5 s\) \d+s ago/,
  );

  // The output starts folded; opened, it is the gate's text as it was, no markup made of it.
  const details = result.locator("[data-testid=gate-output]");
  const pre = details.locator("pre");
  assert.equal(await details.evaluate((el) => (el as HTMLDetailsElement).open), false);
  assert.equal(await pre.isVisible(), false, "folded");
  await details.locator("summary").click();
  await pre.waitFor({ state: "visible" });
  assert.equal(await pre.textContent(), OUTPUT);
  assert.equal(await details.locator("b").count(), 0, "the output is text, not HTML");

  // A gate that waits to run: pending, its defaults named, no output yet.
  await page.keyboard.press("Escape");
  await drawer.waitFor({ state: "detached" });
  const held = await openCard(page, d.seeded.held);
  const pending = held.locator("[data-testid=drawer-gate]");
  await pending.waitFor({ state: "visible" });
  assert.equal(await pending.locator("[data-testid=gate-command]").innerText(), "make lint");
  assert.equal(
    await pending.locator("[data-testid=gate-limits]").innerText(),
    "time limit 10m (the default) · 3 rounds (the default)",
  );
  assert.equal(await pending.locator("[data-testid=gate-state]").innerText(), "pending");
  assert.match(
    await pending.locator("[data-testid=gate-result]").innerText(),
    new RegExp(
      `^Last gate: pending \\(round 1 of 3\\): runs once its worker \\(run ${d.seeded.heldRun}\\) exits`,
    ),
  );
  assert.equal(await pending.locator("[data-testid=gate-output]").count(), 0, "no output yet");

  // A task without a gate has no gate section.
  await page.keyboard.press("Escape");
  await held.waitFor({ state: "detached" });
  const plain = await openCard(page, d.seeded.plain);
  await plain.locator("[data-testid=drawer-body]").waitFor();
  assert.equal(await plain.locator("[data-testid=drawer-gate]").count(), 0, "no gate section");
  d.assertNoErrors();
});
