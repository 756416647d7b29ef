/// <reference lib="dom" />
/**
 * The drawer's Block… offers the four kinds of block (docs/blocks.md) in headless Chromium
 * against the compiled binary: each kind asks for its own field and leaves the task blocked
 * with that kind, read back through the API; a block the server refuses shows the server's
 * message in the dialog, which keeps the answer for another try. Running tasks are claimed
 * through the Store API, as a dispatcher claims them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { openStore } from "../../lib/store/mod.ts";
import type { Task } from "../../lib/store/types.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { type Dash, dashboard, launchBrowser, type PageError, until } from "./_browser.ts";

interface Detail {
  task: Task;
  parents: { id: string }[];
}

/** seedTasks makes ready tasks titled `titles` for "coder"; those in `running` are claimed. */
async function seedTasks(
  board: string,
  titles: string[],
  running: string[],
): Promise<Record<string, string>> {
  const store = openStore(board);
  try {
    const ids: Record<string, string> = {};
    for (const title of titles) {
      ids[title] = (await store.createTask({ title, assignee: "coder" }, HUMAN)).task.id;
    }
    for (const title of running) {
      const c = await store.claim({ taskId: ids[title]!, profile: "coder" }, DISPATCHER);
      assert.ok(c, `claimed ${title}`);
    }
    return ids;
  } finally {
    store.close();
  }
}

function boardDb(home: { home: string }): string {
  return join(home.home, "boards", "default", "board.db");
}

function detail(d: Dash<unknown>, id: string): Promise<Detail> {
  return d.api<Detail>("GET", `/api/v1/tasks/${id}`);
}

/** openBlock opens task `id`'s drawer, presses Block… and returns the dialog. */
async function openBlock(page: Page, id: string): Promise<{ drawer: Locator; dialog: Locator }> {
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  await drawer.locator("[data-testid=action-block]").click();
  const dialog = page.locator("[data-testid=prompt]");
  await dialog.waitFor({ state: "visible" });
  return { drawer, dialog };
}

/** closeDrawer closes the drawer (the dialog must be gone first). */
async function closeDrawer(page: Page, drawer: Locator): Promise<void> {
  await page.locator("[data-testid=prompt]").waitFor({ state: "detached" });
  await page.keyboard.press("Escape");
  await drawer.waitFor({ state: "detached" });
}

/** refusal accepts Chromium's log of a refused block request of task `id` (status `code`). */
function refusal(id: string, code: number): (e: PageError) => boolean {
  return (e) =>
    e.kind === "console" && e.text.includes(`status of ${code}`) &&
    e.url.endsWith(`/api/v1/tasks/${id}/block`);
}

Deno.test("drawer: Block… offers all four kinds, each with its field, and the task ends blocked with that kind", async () => {
  await using browser = await launchBrowser();
  const titles = ["Ask the lawyer", "Payments API", "Checkout", "Sync the feed", "Render video"];
  const running = ["Checkout", "Sync the feed", "Render video"];
  await using d = await dashboard(browser, {
    seed: (home) => seedTasks(boardDb(home), titles, running),
  });
  const { page } = d;
  const ids = d.seeded;

  // needs_input (preselected): a question for a person, to Blocked
  {
    const id = ids["Ask the lawyer"]!;
    const { drawer, dialog } = await openBlock(page, id);
    const kinds = await dialog.locator("[data-testid=prompt-choice] option").evaluateAll((os) =>
      os.map((o) => (o as HTMLOptionElement).value)
    );
    assert.deepEqual(kinds, ["needs_input", "dependency", "transient", "capability"]);
    assert.equal(await dialog.locator("[data-testid=prompt-choice]").inputValue(), "needs_input");
    assert.equal(await dialog.locator("input[data-testid^=prompt-field-]").count(), 0);
    await dialog.locator("[data-testid=prompt-input]").fill("Which jurisdiction applies?");
    await dialog.locator("[data-testid=prompt-ok]").click();
    await until("blocked as needs_input", async () => {
      const t = (await detail(d, id)).task;
      return t.status === "blocked" && t.block_kind === "needs_input" &&
        t.blocked_reason === "Which jurisdiction applies?";
    });
    await drawer.locator("[data-testid=drawer-status]", { hasText: "Blocked" }).waitFor();
    await closeDrawer(page, drawer);
  }

  // dependency: names the task it waits on; the running task waits for it in the queue
  {
    const id = ids["Checkout"]!;
    const parent = ids["Payments API"]!;
    const { drawer, dialog } = await openBlock(page, id);
    await dialog.locator("[data-testid=prompt-choice]").selectOption("dependency");
    assert.match(await dialog.locator("[data-testid=prompt-hint]").innerText(), /run stops/);
    await dialog.locator("[data-testid=prompt-field-on]").fill(parent);
    await dialog.locator("[data-testid=prompt-input]").fill("needs the payments API");
    await dialog.locator("[data-testid=prompt-ok]").click();
    await until("blocked as a dependency", async () => {
      const shown = await detail(d, id);
      return shown.task.status === "todo" && shown.task.block_kind === "dependency" &&
        shown.task.blocked_on === parent && shown.parents.some((p) => p.id === parent);
    });
    await closeDrawer(page, drawer);
  }

  // transient: retried after the delay typed, as a duration
  {
    const id = ids["Sync the feed"]!;
    const { drawer, dialog } = await openBlock(page, id);
    await dialog.locator("[data-testid=prompt-choice]").selectOption("transient");
    await dialog.locator("[data-testid=prompt-field-retry_after]").fill("10m");
    await dialog.locator("[data-testid=prompt-input]").fill("the feed answers 503");
    const sent = Date.now();
    await dialog.locator("[data-testid=prompt-ok]").click();
    const t = await until("blocked as transient", async () => {
      const t = (await detail(d, id)).task;
      return t.block_kind === "transient" && t.status !== "running" ? t : null;
    });
    const retry = Date.parse(t.retry_after!);
    assert.ok(
      retry >= sent + 590_000 && retry <= Date.now() + 610_000,
      `retried in about 10 minutes, not at ${t.retry_after}`,
    );
    await closeDrawer(page, drawer);
  }

  // capability with a profile: reassigned to it and queued
  {
    const id = ids["Render video"]!;
    const { drawer, dialog } = await openBlock(page, id);
    await dialog.locator("[data-testid=prompt-choice]").selectOption("capability");
    await dialog.locator("[data-testid=prompt-field-profile]").fill("gpu");
    await dialog.locator("[data-testid=prompt-input]").fill("needs a CUDA device");
    await dialog.locator("[data-testid=prompt-ok]").click();
    await until("blocked as a capability", async () => {
      const t = (await detail(d, id)).task;
      return t.block_kind === "capability" && t.assignee === "gpu" && t.status === "ready";
    });
    await closeDrawer(page, drawer);
  }
  d.assertNoErrors();
});

Deno.test("drawer: a block the server refuses shows its message in the dialog, which keeps the answer for another try", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => seedTasks(boardDb(home), ["Payments API", "Checkout"], ["Checkout"]),
  });
  const { page } = d;
  const id = d.seeded["Checkout"]!;
  const parent = d.seeded["Payments API"]!;

  // a dependency on a task that does not exist: refused, the dialog says why and stays open
  const { drawer, dialog } = await openBlock(page, id);
  await dialog.locator("[data-testid=prompt-choice]").selectOption("dependency");
  await dialog.locator("[data-testid=prompt-field-on]").fill("t_00000000");
  await dialog.locator("[data-testid=prompt-input]").fill("needs the payments API");
  await dialog.locator("[data-testid=prompt-ok]").click();
  const error = dialog.locator("[data-testid=prompt-error]");
  await error.waitFor({ state: "visible" });
  assert.match(await error.innerText(), /^Cannot wait on "t_00000000": /);
  assert.equal(await error.getAttribute("role"), "alert");
  assert.equal((await detail(d, id)).task.status, "running", "nothing changed");
  assert.equal(await page.locator("[data-testid=toast]").count(), 0, "said in the dialog");

  // a retry delay that is no duration is refused before anything is sent
  await dialog.locator("[data-testid=prompt-choice]").selectOption("transient");
  await dialog.locator("[data-testid=prompt-field-retry_after]").fill("soon");
  await dialog.locator("[data-testid=prompt-ok]").click();
  assert.match(await error.innerText(), /^Retry after: "soon" is not a duration/);

  // the answer is kept: the right task id, and the same reason goes through
  await dialog.locator("[data-testid=prompt-choice]").selectOption("dependency");
  assert.equal(await dialog.locator("[data-testid=prompt-error]").count(), 0);
  assert.equal(
    await dialog.locator("[data-testid=prompt-input]").inputValue(),
    "needs the payments API",
  );
  await dialog.locator("[data-testid=prompt-field-on]").fill(parent);
  await dialog.locator("[data-testid=prompt-ok]").click();
  await dialog.waitFor({ state: "detached" });
  const t = (await detail(d, id)).task;
  assert.deepEqual([t.status, t.block_kind, t.blocked_on], ["todo", "dependency", parent]);
  await page.keyboard.press("Escape");
  await drawer.waitFor({ state: "detached" });

  // a kind that stops a run, on a task that is not running: the board says so
  const ready = await openBlock(page, parent);
  await ready.dialog.locator("[data-testid=prompt-choice]").selectOption("transient");
  assert.match(
    await ready.dialog.locator("[data-testid=prompt-hint]").innerText(),
    /not running, so the board refuses it/,
  );
  await ready.dialog.locator("[data-testid=prompt-input]").fill("flaky");
  await ready.dialog.locator("[data-testid=prompt-ok]").click();
  const notRunning = ready.dialog.locator("[data-testid=prompt-error]");
  await notRunning.waitFor({ state: "visible" });
  assert.match(
    await notRunning.innerText(),
    new RegExp(`^Cannot block task "${parent}" as transient: it is ready`),
  );
  await page.keyboard.press("Escape");
  await ready.dialog.waitFor({ state: "detached" });
  assert.equal((await detail(d, parent)).task.block_kind, null, "not blocked");
  d.assertNoErrors((e) => refusal(id, 404)(e) || refusal(parent, 409)(e));
});
