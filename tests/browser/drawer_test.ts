/// <reference lib="dom" />
/**
 * The drawer's editors in headless Chromium against the compiled binary, typed into at human
 * speed (80 ms a key) as a person types: every field saves once, on Enter (Ctrl+Enter in a
 * multi-line one) or when the focus leaves it, with exactly what was typed; Escape restores the
 * saved value; every editor has the focus when it opens, so keys typed there never reach the
 * page's shortcuts. What was saved is read from the board (the task's events, through the API),
 * and every request the page sends is counted.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import type { BinaryHome } from "../e2e/_binary.ts";
import { type Dash, dashboard, launchBrowser, until } from "./_browser.ts";

/** A person's typing speed: each key 80 ms after the last. */
const HUMAN = { delay: 80 };

interface Event {
  kind: string;
  data: Record<string, unknown>;
}

interface Detail {
  task: {
    title: string;
    body: string;
    status: string;
    assignee: string | null;
    priority: number;
    blocked_reason: string | null;
  };
  events: Event[];
  comments: { body: string }[];
}

/** Two profiles, one the other's prefix: typing `coder2` passes through `coder`. */
function withProfiles(home: BinaryHome): void {
  writeFileSync(
    join(home.home, "config.toml"),
    '[profiles.coder]\ncommand = ["/bin/true"]\n\n[profiles.coder2]\ncommand = ["/bin/true"]\n',
  );
}

function create(home: BinaryHome, title: string, ...flags: string[]): string {
  return home.json<{ id: string }>(["create", title, ...flags]).id;
}

function detail(d: Dash<unknown>, id: string): Promise<Detail> {
  return d.api<Detail>("GET", `/api/v1/tasks/${id}`);
}

/** events lists the task's events of `kind`, oldest first. */
async function events(d: Dash<unknown>, id: string, kind: string): Promise<Event[]> {
  return (await detail(d, id)).events.filter((e) => e.kind === kind);
}

/** writes records the body of every request that changes the board (not GETs). */
function writes(page: Page): { method: string; path: string; body: unknown }[] {
  const seen: { method: string; path: string; body: unknown }[] = [];
  page.on("request", (r) => {
    if (r.method() === "GET") return;
    seen.push({ method: r.method(), path: new URL(r.url()).pathname, body: r.postDataJSON() });
  });
  return seen;
}

/** nothingSent asserts that the page has sent no write (yet). */
function nothingSent(sent: readonly unknown[], when: string): void {
  assert.equal(sent.length, 0, `sent ${when}: ${JSON.stringify(sent)}`);
}

/** settle waits for what the page may still send after a save (a second save would). */
function settle(page: Page): Promise<void> {
  return page.waitForTimeout(400);
}

async function openDrawer(page: Page, id: string): Promise<Locator> {
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  await drawer.waitFor({ state: "visible" });
  return drawer;
}

/** focused describes the element that has the focus (its data-testid, else its tag). */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return el?.dataset["testid"] ?? el?.tagName.toLowerCase() ?? "nothing";
  });
}

/** The page's shortcut-driven state: `t`, `l` and `x` change these when they fire. */
function shortcutState(page: Page) {
  return page.evaluate(() => ({
    theme: document.documentElement.dataset["theme"],
    lanes: document.querySelector("[data-testid=toggle-lanes]")?.getAttribute("aria-pressed"),
    selected: document.querySelectorAll("[data-testid=bulk-bar]").length,
  }));
}

/** selectAll selects a field's text so that what is typed next replaces it. */
async function retype(page: Page, field: Locator, text: string): Promise<void> {
  await field.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.type(text, HUMAN);
}

function scenario(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test(`drawer: ${name}`, async () => {
    await using browser = await launchBrowser();
    await fn(browser);
  });
}

scenario(
  "an assignee typed at human speed is assigned once, whole, on Enter; never mid-word",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        withProfiles(home);
        return create(home, "Run the migration");
      },
    });
    const { page } = d;
    const id = d.seeded;
    const sent = writes(page);
    const drawer = await openDrawer(page, id);
    const field = drawer.locator("input[data-testid=assignee-input]");
    await field.click();
    await page.keyboard.type("coder2", HUMAN); // passes through "coder", a real profile
    assert.equal(await field.inputValue(), "coder2", "every key reached the field");
    await settle(page);
    nothingSent(sent, "while typing");
    assert.equal((await detail(d, id)).task.assignee, null);

    await page.keyboard.press("Enter");
    await until(
      "the assignment on the board",
      async () => (await detail(d, id)).task.assignee === "coder2",
    );
    await settle(page);
    const assigned = await events(d, id, "assigned");
    assert.deepEqual(assigned.map((e) => e.data), [{ from: null, to: "coder2" }]);
    assert.deepEqual(sent.map((s) => s.body), [{ assignee: "coder2" }]);
    assert.equal(await field.inputValue(), "coder2");
    assert.equal(await focused(page), "drawer", "Enter leaves the field for the drawer");
    assert.equal(await drawer.locator("[data-testid=assignee-warning]").count(), 0);
    await page.locator(`[data-testid=card][data-id="${id}"] .chip`, { hasText: "coder2" })
      .waitFor();

    // The suggestions are the dispatcher's profiles, from GET /api/v1/status.
    const offered = await until("the profiles offered", async () => {
      const values = await drawer.locator("[data-testid=assignee-profiles] option")
        .evaluateAll((els) => els.map((el) => (el as HTMLOptionElement).value));
      return values.length > 0 && values;
    });
    assert.deepEqual(offered, ["coder", "coder2"]);
    assert.equal(await field.getAttribute("list"), "drawer-profiles");

    // Enter on the unchanged value sends nothing.
    await retype(page, field, "coder2");
    await page.keyboard.press("Enter");
    await settle(page);
    assert.equal(sent.length, 1, `an unchanged assignee was sent: ${JSON.stringify(sent)}`);
    d.assertNoErrors();
  },
);

scenario(
  "leaving the assignee field saves it once; Escape restores the saved value and sends nothing",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        withProfiles(home);
        return create(home, "Rotate the keys", "--assignee", "coder2");
      },
    });
    const { page } = d;
    const id = d.seeded;
    const sent = writes(page);
    const drawer = await openDrawer(page, id);
    const field = drawer.locator("input[data-testid=assignee-input]");
    assert.equal(await field.inputValue(), "coder2");

    // Escape: the saved value back, the field left, the drawer still open, nothing sent.
    await retype(page, field, "coder");
    await page.keyboard.press("Escape");
    assert.equal(await field.inputValue(), "coder2");
    assert.equal(await focused(page), "drawer");
    assert.equal(await drawer.isVisible(), true, "Escape in the field closed the drawer");
    await settle(page);
    nothingSent(sent, "after Escape");

    // Another window taking the focus is not leaving the field: the field still has it.
    await retype(page, field, "cod");
    await field.evaluate((el) => el.dispatchEvent(new FocusEvent("focusout", { bubbles: true })));
    await settle(page);
    nothingSent(sent, "on a focusout while the field kept the focus");

    // A click on something that takes no focus (the page's name) leaves the field: one save.
    await page.keyboard.type("er", HUMAN);
    await page.locator(".brand").click();
    await until(
      "the assignment on the board",
      async () => (await detail(d, id)).task.assignee === "coder",
    );
    await settle(page);
    const assigned = await events(d, id, "assigned");
    assert.deepEqual(assigned.map((e) => e.data), [{ from: "coder2", to: "coder" }]);
    assert.deepEqual(sent.map((s) => s.body), [{ assignee: "coder" }]);

    // An emptied field unassigns, once.
    await retype(page, field, "x");
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Tab");
    await until(
      "unassigned on the board",
      async () => (await detail(d, id)).task.assignee === null,
    );
    await settle(page);
    assert.deepEqual(sent.map((s) => s.body), [{ assignee: "coder" }, { assignee: null }]);
    // With the focus back on the drawer, Escape closes it.
    await drawer.focus();
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });
    d.assertNoErrors();
  },
);

scenario(
  "an assignee that is no profile is warned about before saving, and can still be saved",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        withProfiles(home);
        return create(home, "Review the contract");
      },
    });
    const { page } = d;
    const id = d.seeded;
    const sent = writes(page);
    const drawer = await openDrawer(page, id);
    const field = drawer.locator("input[data-testid=assignee-input]");
    const warning = drawer.locator("[data-testid=assignee-warning]");
    await until(
      "the profiles offered",
      () => drawer.locator("[data-testid=assignee-profiles] option").count(),
    );
    assert.equal(await warning.count(), 0, "no warning for an empty field");

    await field.click();
    await page.keyboard.type("alice", HUMAN);
    await warning.waitFor({ state: "visible" });
    assert.match((await warning.textContent()) ?? "", /No profile "alice".*no agent will start/);
    nothingSent(sent, "before Enter: the warning comes first");

    await page.keyboard.press("Enter");
    await until("alice on the board", async () => (await detail(d, id)).task.assignee === "alice");
    await settle(page);
    assert.deepEqual((await events(d, id, "assigned")).map((e) => e.data), [
      { from: null, to: "alice" },
    ]);
    assert.equal(await warning.isVisible(), true, "the saved name is still no profile");

    // A profile's name: no warning.
    await retype(page, field, "coder");
    await warning.waitFor({ state: "detached" });
    await page.keyboard.press("Enter");
    await until("coder on the board", async () => (await detail(d, id)).task.assignee === "coder");
    assert.equal(await warning.count(), 0);
    d.assertNoErrors();
  },
);

scenario(
  "priority takes the names the cards show and numbers, and saves each change once",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => create(home, "Patch the server"),
    });
    const { page } = d;
    const id = d.seeded;
    const sent = writes(page);
    const drawer = await openDrawer(page, id);
    const field = drawer.locator("input[data-testid=priority-input]");
    assert.equal(await field.inputValue(), "normal");
    const priority = async () => (await detail(d, id)).task.priority;

    await retype(page, field, "urgent");
    await settle(page);
    nothingSent(sent, "while typing");
    await page.keyboard.press("Enter");
    await until("urgent on the board", async () => (await priority()) === 2);
    await page.locator(`[data-testid=card][data-id="${id}"] .prio`, { hasText: "urgent" })
      .waitFor();
    assert.equal(await field.inputValue(), "urgent");

    await retype(page, field, "High"); // any case, as the CLI reads it
    await page.keyboard.press("Tab"); // leaving saves too
    await until("high on the board", async () => (await priority()) === 1);

    await retype(page, field, "12");
    await page.keyboard.press("Enter");
    await until("12 on the board", async () => (await priority()) === 12);
    assert.equal(await field.inputValue(), "12");

    // Unchanged, written otherwise: nothing sent. Not a priority: refused here, nothing sent.
    await retype(page, field, "+12");
    await page.keyboard.press("Enter");
    await retype(page, field, "soon");
    await page.keyboard.press("Enter");
    const toast = page.locator("[data-testid=toast][data-kind=error]");
    await toast.waitFor();
    assert.match((await toast.textContent()) ?? "", /Priority "soon" is not/);
    assert.equal(await field.inputValue(), "12", "the saved priority is back");
    await settle(page);
    assert.deepEqual(sent.map((s) => s.body), [{ priority: 2 }, { priority: 1 }, {
      priority: 12,
    }]);
    const edited = (await events(d, id, "edited")).map((e) => e.data["fields"]);
    assert.deepEqual(edited, [["priority"], ["priority"], ["priority"]]);
    d.assertNoErrors();
  },
);

scenario(
  "every editor has the focus when it opens, and keys typed there never reach the shortcuts",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => ({
        a: create(home, "Draft the note", "--body", "old"),
        b: create(home, "Check the backups"),
      }),
    });
    const { page } = d;
    const { a, b } = d.seeded;
    const sent = writes(page);
    const before = await shortcutState(page);
    assert.deepEqual(before, { theme: "light", lanes: "false", selected: 0 });
    const drawer = await openDrawer(page, a);

    // Title: opened by a click, typed into at once ("t" switches the theme outside a field).
    await drawer.locator("[data-testid=drawer-title]").click();
    assert.equal(await focused(page), "title-input");
    await page.keyboard.type(" at last", HUMAN);
    assert.deepEqual(await shortcutState(page), before);
    await page.keyboard.press("Enter");
    await drawer.locator("[data-testid=drawer-title]", { hasText: "Draft the note at last" })
      .waitFor();
    // Escape restores it and sends nothing.
    await drawer.locator("[data-testid=drawer-title]").click();
    await page.keyboard.type(" later", HUMAN);
    await page.keyboard.press("Escape");
    await drawer.locator("[data-testid=drawer-title]", { hasText: /^Draft the note at last$/ })
      .waitFor();

    // Description: the editor has the focus, Enter is a new line, Ctrl+Enter saves once.
    await drawer.locator("[data-testid=edit-body]").click();
    assert.equal(await focused(page), "body-editor");
    await page.keyboard.type(" text\nlast line", HUMAN);
    await page.keyboard.press("Control+Enter");
    await drawer.locator("[data-testid=drawer-body]", { hasText: "last line" }).waitFor();
    // Escape in it puts the saved text back.
    await drawer.locator("[data-testid=edit-body]").click();
    await page.keyboard.type("xx", HUMAN);
    await page.keyboard.press("Escape");
    await drawer.locator("[data-testid=edit-body]").waitFor();
    const saved = await detail(d, a);
    assert.equal(saved.task.title, "Draft the note at last");
    assert.equal(saved.task.body, "old text\nlast line");

    // The comment box.
    await drawer.locator("[data-testid=comment-input]").click();
    await page.keyboard.type("looks left to right", HUMAN);
    await page.keyboard.press("Control+Enter");
    await drawer.locator("[data-testid=comment-body]", { hasText: "looks left" }).waitFor();

    // The block prompt: its reason field has the focus.
    await drawer.locator("[data-testid=action-block]").click();
    await page.locator("[data-testid=prompt]").waitFor();
    assert.equal(await focused(page), "prompt-input");
    await page.keyboard.type("waiting for the lawyer", HUMAN);
    await page.keyboard.press("Control+Enter");
    await until(
      "blocked on the board",
      async () => (await detail(d, a)).task.blocked_reason === "waiting for the lawyer",
    );
    await drawer.locator("[data-testid=action-unblock]").click();
    await until("ready again", async () => (await detail(d, a)).task.status === "ready");

    // The completion prompt: its summary field has the focus.
    await drawer.locator("[data-testid=action-complete]").click();
    await page.locator("[data-testid=prompt]").waitFor();
    assert.equal(await focused(page), "prompt-input");
    await page.keyboard.type("settled it", HUMAN);
    await page.keyboard.press("Control+Enter");
    await until("done on the board", async () => (await detail(d, a)).task.status === "done");
    await drawer.locator("[data-testid=handoff-summary]", { hasText: "settled it" }).waitFor();

    // The create form, opened a second time (Chromium's autofocus works once per page only).
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });
    for (const title of ["tidy the lot", "check the kit"]) {
      await page.locator("[data-testid=column][data-status=ready] [data-testid=add-task]")
        .click();
      assert.equal(await focused(page), "new-task-title");
      await page.keyboard.type(title, HUMAN);
      await page.keyboard.press("Enter");
      await page.locator("[data-testid=card-title]", { hasText: title }).waitFor();
      await page.keyboard.press("Escape");
    }
    assert.deepEqual(await shortcutState(page), before, "a shortcut fired while typing");
    assert.deepEqual(sent.map((s) => `${s.method} ${s.path.replace(a, "A")}`), [
      "PATCH /api/v1/tasks/A",
      "PATCH /api/v1/tasks/A",
      "POST /api/v1/tasks/A/comments",
      "POST /api/v1/tasks/A/block",
      "POST /api/v1/tasks/A/unblock",
      "POST /api/v1/tasks/A/complete",
      "POST /api/v1/tasks",
      "POST /api/v1/tasks",
    ]);
    assert.deepEqual((await events(d, a, "edited")).map((e) => e.data["fields"]), [
      ["title"],
      ["body"],
    ]);
    assert.equal((await detail(d, b)).task.title, "Check the backups");
    d.assertNoErrors();
  },
);

scenario(
  "shortcuts stay quiet in a select, a checkbox and an editable element, and fire elsewhere",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => create(home, "Anything"),
    });
    const { page } = d;
    const theme = () => page.evaluate(() => document.documentElement.dataset["theme"]);
    await page.locator("[data-testid=show-archived]").focus();
    await page.keyboard.press("t");
    await page.locator("[data-testid=filter-status]").focus();
    await page.keyboard.press("t");
    await page.evaluate(() => {
      const box = document.createElement("div");
      box.innerHTML = '<div contenteditable="true"><p id="editable">note</p></div>';
      document.body.append(box);
      document.getElementById("editable")!.parentElement!.focus();
    });
    await page.keyboard.type("tl", HUMAN);
    assert.equal(await theme(), "light", "a shortcut fired in a field");
    // The same key outside any field switches the theme: the check above can fail.
    await page.locator(".brand").click();
    await page.keyboard.press("t");
    await until("the dark theme", async () => (await theme()) === "dark");
    d.assertNoErrors();
  },
);

scenario(
  "Block… offers a kind: a capability block sends the task to triage, and the card says so",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => create(home, "Render the video"),
    });
    const { page } = d;
    const id = d.seeded;
    const drawer = await openDrawer(page, id);
    await drawer.locator("[data-testid=action-block]").click();
    const prompt = page.locator("[data-testid=prompt]");
    await prompt.waitFor();
    assert.equal(await focused(page), "prompt-input");
    assert.equal(await prompt.locator("[data-testid=prompt-choice]").inputValue(), "needs_input");
    await prompt.locator("[data-testid=prompt-choice]").selectOption("capability");
    await prompt.locator("[data-testid=prompt-input]").fill("needs someone with a GPU");
    await prompt.locator("[data-testid=prompt-ok]").click();
    await until("in triage on the board", async () => {
      const t = (await detail(d, id)).task as Detail["task"] & { block_kind: string | null };
      return t.status === "triage" && t.block_kind === "capability";
    });
    await page.keyboard.press("Escape");
    const card = page.locator(`[data-testid=card][data-id="${id}"]`);
    await card.locator("[data-testid=card-block-kind]", { hasText: "block: capability" }).waitFor();
    await card.locator("[data-testid=card-triaged]", { hasText: "needs someone with a GPU" })
      .waitFor();
    d.assertNoErrors();
  },
);
