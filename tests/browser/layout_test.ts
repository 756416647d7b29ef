/// <reference lib="dom" />
/**
 * The board on real screens, in headless Chromium against the compiled binary: a 1366×768
 * laptop shows every status that has tasks without scrolling sideways (Blocked and Review
 * first), empty columns fold to strips, columns hide and come back, lanes keep their header
 * in view and fold, a 390×844 phone shows one status at a time; cards say what they wait for,
 * their handoff, their failure and their priority by name; the bulk bar offers only what the
 * transition table allows for the selection.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { AGENTS } from "../dispatch/_harness.ts";
import type { BinaryHome } from "../e2e/_binary.ts";
import { BOARD_READY, dashboard, launchBrowser, until } from "./_browser.ts";
import { MACHINE_OFF } from "../_setup.ts";

const LAPTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };

const card = (page: Page, id: string) => page.locator(`[data-testid=card][data-id="${id}"]`);
const column = (page: Page, status: string) =>
  page.locator(`[data-testid=column][data-status="${status}"]`);

/** create makes a task with the real CLI and returns its id. */
function create(home: BinaryHome, title: string, ...flags: string[]): string {
  return home.json<{ id: string }>(["create", title, ...flags]).id;
}

/** ok asserts that the CLI command succeeded. */
function ok(home: BinaryHome, args: string[]): string {
  const r = home.kanban(args);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** task reads a task as the CLI shows it. */
function task(home: BinaryHome, id: string) {
  return home.json<{
    task: { status: string; last_error: string | null; consecutive_failures: number };
  }>(["show", id]).task;
}

/**
 * seedEvery puts tasks in all nine statuses, archived included: a dependency, a scheduled
 * task, a claimed one, one in review, one done, two blocked.
 */
function seedEvery(home: BinaryHome): Record<string, string> {
  const ids: Record<string, string> = {};
  ids["triage"] = create(home, "Decide on the dashboard colours", "--triage");
  ids["parent"] = create(home, "Design the schema", "-a", "coder");
  ids["todo"] = create(home, "Build the API", "-a", "coder", "--parent", ids["parent"]);
  ids["scheduled"] = create(home, "Rotate the logs", "--not-before", "+2h");
  ids["ready"] = create(home, "Write the release notes", "-a", "writer");
  ids["running"] = create(home, "Migrate the old board", "-a", "coder");
  ok(home, ["claim", ids["running"], "--lease", "1h"]);
  ids["review"] = create(home, "Rewrite the dispatcher loop", "-a", "coder", "--review");
  ok(home, ["complete", ids["review"], "--summary", "loop rewritten"]);
  ids["done"] = create(home, "Set up CI", "-a", "coder");
  ok(home, ["complete", ids["done"], "--summary", "CI runs on every push"]);
  ids["blocked"] = create(home, "Deploy to staging", "-a", "coder");
  ok(home, ["block", ids["blocked"], "Which region should staging use?"]);
  ids["blocked2"] = create(home, "Buy the domain");
  ok(home, ["block", ids["blocked2"], "Needs a credit card"]);
  ids["archived"] = create(home, "An old idea");
  ok(home, ["archive", ids["archived"]]);
  return ids;
}

interface Box {
  status: string;
  collapsed: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** columnBoxes lists the columns on the page, left to right, with where they are. */
function columnBoxes(page: Page): Promise<Box[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("[data-testid=column]")].map((el) => {
      const r = el.getBoundingClientRect();
      return {
        status: el.dataset["status"] ?? "",
        collapsed: el.dataset["collapsed"] ?? "",
        left: r.left,
        right: r.right,
        top: r.top,
        bottom: r.bottom,
      };
    })
  );
}

/** sideways tells how far the page and the board can scroll sideways (both must be 0). */
function sideways(page: Page): Promise<{ page: number; board: number }> {
  return page.evaluate(() => {
    const board = document.querySelector<HTMLElement>("[data-testid=board]")!;
    return {
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      board: board.scrollWidth - board.clientWidth,
    };
  });
}

/** reload reloads the page and waits for the board. */
async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.locator(BOARD_READY).waitFor();
}

function scenario(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test(`layout: ${name}`, async () => {
    await using browser = await launchBrowser();
    await fn(browser);
  });
}

scenario(
  "at 1366×768 every status that has tasks is in view, Blocked and Review first, nothing scrolls sideways",
  async (browser) => {
    await using d = await dashboard(browser, { seed: seedEvery });
    const ids = d.seeded;
    const { page } = d;
    await page.setViewportSize(LAPTOP);
    await page.locator("input[data-testid=show-archived]").check();
    await card(page, ids["archived"]!).waitFor();

    const boxes = await columnBoxes(page);
    assert.deepEqual(boxes.map((b) => b.status), [
      "blocked",
      "review",
      "triage",
      "todo",
      "scheduled",
      "ready",
      "running",
      "done",
      "archived",
    ]);
    for (const b of boxes) {
      assert.equal(b.collapsed, "false", `${b.status} holds tasks: it is not folded`);
      assert.ok(b.left >= 0 && b.right <= LAPTOP.width, `${b.status} is at ${b.left}..${b.right}`);
      assert.ok(b.top < LAPTOP.height / 4, `${b.status} starts at ${b.top}`);
      assert.ok(b.right - b.left >= 120, `${b.status} is ${b.right - b.left} px wide`);
    }
    assert.deepEqual(await sideways(page), { page: 0, board: 0 });
    // Every card's title is readable where it is: inside the window.
    for (const id of Object.values(ids)) {
      const box = (await card(page, id).boundingBox())!;
      assert.ok(box.x >= 0 && box.x + box.width <= LAPTOP.width, `card ${id} at ${box.x}`);
    }
    // The first card the keyboard reaches is a blocked one: where a person must act.
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("j");
    const first = await page.evaluate(() =>
      (document.activeElement as HTMLElement | null)?.dataset["status"]
    );
    assert.equal(first, "blocked");
    await d.screenshot("layout-1366");

    // Without the archived ones, and in the dark theme, it still fits.
    await page.locator("input[data-testid=show-archived]").uncheck();
    await column(page, "archived").waitFor({ state: "detached" });
    await page.locator("[data-testid=toggle-theme]").click();
    assert.deepEqual(await sideways(page), { page: 0, board: 0 });
    await d.screenshot("layout-1366-dark");
    d.assertNoErrors();
  },
);

scenario(
  "an empty column folds to a strip that takes drops and opens with a click or Enter, as kept",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => ({
        a: create(home, "Deploy the site"),
        b: create(home, "Ship 1.2"),
      }),
    });
    const ids = d.seeded;
    const { page } = d;
    await page.setViewportSize(LAPTOP);
    const blocked = column(page, "blocked");
    assert.equal(await blocked.getAttribute("data-collapsed"), "true");
    const strip = (await blocked.boundingBox())!;
    assert.ok(strip.width <= 40, `an empty column is a strip, not ${strip.width} px`);
    assert.equal((await blocked.locator("[data-testid=column-count]").textContent())?.trim(), "0");
    const ready = (await column(page, "ready").boundingBox())!;
    assert.ok(ready.width > 200, `the one busy column takes the room: ${ready.width} px`);

    // A drop on the strip moves the card; the column holds a task now, so it opens.
    await card(page, ids["a"]!).dragTo(blocked);
    const prompt = page.locator("[data-testid=prompt]");
    await prompt.locator("[data-testid=prompt-input]").fill("Waiting for the key");
    await prompt.locator("[data-testid=prompt-ok]").click();
    await blocked.locator(`[data-testid=card][data-id="${ids["a"]}"]`).waitFor();
    assert.equal(await blocked.getAttribute("data-collapsed"), "false");
    await until("blocked on the board", () => task(d.home, ids["a"]!).status === "blocked");

    // Enter on a strip opens the column; the choice outlives a reload.
    const todo = column(page, "todo");
    await todo.locator("[data-testid=column-expand]").focus();
    await page.keyboard.press("Enter");
    await until("todo open", async () => (await todo.getAttribute("data-collapsed")) === "false");
    await todo.locator(".column-empty").waitFor();
    // A busy column folds by hand (its count stays on the strip), and a click opens it.
    await column(page, "ready").locator("[data-testid=column-collapse]").click();
    await until(
      "ready folded",
      async () => (await column(page, "ready").getAttribute("data-collapsed")) === "true",
    );
    await reload(page);
    assert.equal(await todo.getAttribute("data-collapsed"), "false", "kept: todo open");
    assert.equal(await column(page, "ready").getAttribute("data-collapsed"), "true");
    assert.equal(
      (await column(page, "ready").locator("[data-testid=column-count]").textContent())?.trim(),
      "1",
    );
    await column(page, "ready").locator("[data-testid=column-expand]").click();
    await card(page, ids["b"]!).waitFor();
    await todo.locator("[data-testid=column-collapse]").click();
    await until("todo folded", async () => (await todo.getAttribute("data-collapsed")) === "true");

    // "+" on the empty triage strip opens the column with the create field focused.
    await column(page, "triage").locator("[data-testid=add-task]").click();
    const input = column(page, "triage").locator("input[data-testid=new-task-title]");
    await input.waitFor();
    assert.equal(
      await page.evaluate(() => (document.activeElement as HTMLElement).dataset["testid"]),
      "new-task-title",
    );
    await input.fill("An idea from the strip");
    await input.press("Enter");
    const made = await until(
      "the triaged task",
      () =>
        d.home.json<{ id: string; title: string; status: string }[]>(["list"])
          .find((t) => t.title === "An idea from the strip"),
    );
    assert.equal(made.status, "triage");
    await column(page, "triage").locator(`[data-testid=card][data-id="${made.id}"]`).waitFor();
    d.assertNoErrors();
  },
);

scenario("columns hide and show again, and the browser keeps the choice", async (browser) => {
  await using d = await dashboard(browser, {
    seed: (home) => {
      const done = create(home, "Set up CI");
      ok(home, ["complete", done, "--summary", "green"]);
      return { done, ready: create(home, "Write the guide") };
    },
  });
  const { page } = d;
  await page.setViewportSize(LAPTOP);
  const hidden = page.locator("[data-testid=hidden-columns]");
  assert.equal(await hidden.count(), 0, "nothing hidden yet");
  await column(page, "done").locator("[data-testid=column-hide]").click();
  await column(page, "done").waitFor({ state: "detached" });
  assert.equal((await hidden.textContent())?.trim(), "1 hidden");
  await reload(page);
  assert.equal(await column(page, "done").count(), 0, "still hidden after a reload");

  // Filtered to one status, that column shows even though it is hidden.
  await page.locator("select[data-testid=filter-status]").selectOption("done");
  await card(page, d.seeded["done"]!).waitFor();
  await page.locator("select[data-testid=filter-status]").selectOption("");
  await column(page, "done").waitFor({ state: "detached" });

  // The "hidden" strip is a keyboard-reachable menu; Escape or a click elsewhere closes it.
  const menu = page.locator("[data-testid=hidden-menu]");
  await hidden.click();
  await menu.waitFor();
  await page.locator("[data-testid=board]").click({ position: { x: 400, y: 300 } });
  await menu.waitFor({ state: "detached" });
  await hidden.focus();
  await page.keyboard.press("Enter");
  await menu.waitFor();
  await page.keyboard.press("Escape");
  await menu.waitFor({ state: "detached" });
  assert.equal(await hidden.count(), 1, "Escape closed the menu, not the strip");
  await page.keyboard.press("Enter");
  await menu.waitFor();
  await menu.locator("[data-testid=show-column][data-status=done]").click();
  await card(page, d.seeded["done"]!).waitFor();
  await hidden.waitFor({ state: "detached" });
  await reload(page);
  await card(page, d.seeded["done"]!).waitFor();
  assert.equal(await hidden.count(), 0, "shown again after a reload");
  d.assertNoErrors();
});

scenario(
  "lanes keep their header in view, cap a busy lane, and fold as kept",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        const coder = Array.from(
          { length: 24 },
          (_, i) => create(home, `Coder task ${i}`, "-a", "coder"),
        );
        const writer = create(home, "Write the guide", "-a", "writer");
        const blocked = create(home, "Buy the domain");
        ok(home, ["block", blocked, "Needs a card"]);
        for (const name of ["ops", "qa", "review-bot"]) {
          create(home, `Task for ${name}`, "-a", name);
        }
        return { coder, writer, blocked };
      },
    });
    const { page } = d;
    await page.setViewportSize(LAPTOP);
    await page.locator("[data-testid=toggle-lanes]").click();
    const lane = (name: string) => page.locator(`[data-testid=lane][data-assignee="${name}"]`);
    await lane("coder").locator("[data-testid=card]").first().waitFor();

    // A busy cell scrolls on its own: the next lane (ops, lanes go by name) starts above the
    // fold.
    const cell = lane("coder").locator("[data-testid=cell][data-status=ready]");
    const scroll = await cell.evaluate((el) => ({ h: el.scrollHeight, c: el.clientHeight }));
    assert.ok(scroll.h > scroll.c, `the busy cell is capped: ${JSON.stringify(scroll)}`);
    const next = (await lane("ops").boundingBox())!.y;
    assert.ok(next < LAPTOP.height - 60, `the lane after the busy one starts at ${next}`);
    assert.deepEqual(await sideways(page), { page: 0, board: 0 });

    // The header row stays at the top of the board while the lanes scroll.
    const head = page.locator(".lane-head");
    const boardTop = (await page.locator("[data-testid=board]").boundingBox())!.y;
    const scrolled = await page.evaluate(() => {
      const b = document.querySelector<HTMLElement>("[data-testid=board]")!;
      b.scrollTop = b.scrollHeight;
      return b.scrollTop;
    });
    assert.ok(scrolled > 0, "the lanes are taller than the board (the test needs a scroll)");
    await until("the header at the top", async () => {
      const y = (await head.boundingBox())!.y;
      return Math.abs(y - boardTop) <= 1;
    });
    await column(page, "ready").locator("h2").waitFor({ state: "visible" });

    // A lane folds to its per-column counts; the browser keeps it folded.
    await lane("coder").locator("[data-testid=lane-toggle]").click();
    await until(
      "coder folded",
      async () => (await lane("coder").locator("[data-testid=card]").count()) === 0,
    );
    assert.equal(
      (await lane("coder").locator("[data-testid=cell][data-status=ready] [data-testid=lane-count]")
        .textContent())?.trim(),
      "24",
    );
    assert.equal(
      (await lane("coder").locator(
        "[data-testid=cell][data-status=blocked] [data-testid=lane-count]",
      )
        .textContent())?.trim(),
      "0",
    );
    await reload(page);
    assert.equal(await lane("coder").getAttribute("data-collapsed"), "true");
    assert.equal(await lane("coder").locator("[data-testid=card]").count(), 0);
    await lane("writer").locator("[data-testid=card]").first().waitFor();
    await d.screenshot("layout-lanes");
    await lane("coder").locator("[data-testid=lane-toggle]").click();
    await lane("coder").locator("[data-testid=card]").first().waitFor();
    d.assertNoErrors();
  },
);

scenario(
  "a 390 px phone shows one status at a time, full width, with the health bar on one line",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        const blocked = create(home, "Deploy to staging");
        ok(home, ["block", blocked, "Which region should staging use, and who pays for it?"]);
        return {
          blocked,
          // "ghost" is no profile of any config: the health bar warns about it.
          ready: [create(home, "Profile the board query", "-a", "ghost"), create(home, "Tidy")],
        };
      },
    });
    const ids = d.seeded;
    const { page } = d;
    await page.setViewportSize(PHONE);
    const switcher = page.locator("select[data-testid=status-switch]");
    await switcher.waitFor();
    assert.equal(await switcher.inputValue(), "blocked", "the first status with tasks");
    assert.deepEqual((await columnBoxes(page)).map((b) => b.status), ["blocked"]);
    const options = await switcher.locator("option").allTextContents();
    assert.ok(options.includes("Ready · 2"), `the switcher counts: ${options}`);
    const box = (await card(page, ids["blocked"]).boundingBox())!;
    assert.ok(box.width >= PHONE.width - 40, `a card is ${box.width} px wide`);
    assert.deepEqual(await sideways(page), { page: 0, board: 0 });
    const toolbar = await page.evaluate(() =>
      [...document.querySelectorAll(".toolbar > *")].map((el) => el.getBoundingClientRect().right)
    );
    assert.ok(Math.max(...toolbar) <= PHONE.width, `the toolbar reaches ${Math.max(...toolbar)}`);

    // The health bar: one line, folded; a tap shows the warnings, another folds them.
    const health = page.locator("[data-testid=health]");
    await until(
      "a warning in the health data",
      async () => (await health.locator(".warning").count()) > 0,
    );
    assert.equal(await health.getAttribute("data-folded"), "true");
    const folded = (await health.boundingBox())!.height;
    assert.ok(folded <= 32, `the folded health bar is ${folded} px tall`);
    assert.equal(await health.locator(".warning").first().isVisible(), false);
    await health.locator("[data-testid=health-toggle]").click();
    assert.equal(await health.getAttribute("data-folded"), "false");
    await health.locator(".warning").first().waitFor({ state: "visible" });
    assert.ok((await health.boundingBox())!.height > folded, "unfolded, it takes its room");
    await d.screenshot("layout-phone-health");
    await health.locator("[data-testid=health-toggle]").click();
    assert.equal(await health.getAttribute("data-folded"), "true");

    // Another status, then a card's drawer, which takes the whole screen.
    await switcher.selectOption("ready");
    await card(page, ids["ready"][0]!).waitFor();
    assert.deepEqual((await columnBoxes(page)).map((b) => b.status), ["ready"]);
    await d.screenshot("layout-phone");
    await card(page, ids["ready"][1]!).locator("[data-testid=card-title]").click();
    const drawer = page.locator(`[data-testid=drawer][data-id="${ids["ready"][1]}"]`);
    await drawer.waitFor();
    const db = (await drawer.boundingBox())!;
    assert.deepEqual([db.x, db.width, db.height], [0, PHONE.width, PHONE.height]);
    await d.screenshot("layout-phone-drawer");
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });

    // Lanes on a phone: the chosen status, one lane under the other.
    await page.locator("[data-testid=toggle-lanes]").click();
    await page.locator('[data-testid=lane][data-assignee="ghost"] [data-testid=card]').waitFor();
    assert.deepEqual((await columnBoxes(page)).map((b) => b.status), ["ready"]);
    assert.deepEqual(await sideways(page), { page: 0, board: 0 });
    const cell = await page.locator('[data-testid=lane][data-assignee="ghost"] [data-testid=cell]')
      .evaluate((el) => ({ h: el.scrollHeight, c: el.clientHeight }));
    assert.equal(cell.h, cell.c, `a lane's one card shows whole: ${JSON.stringify(cell)}`);
    await d.screenshot("layout-phone-lanes");
    await page.locator("[data-testid=toggle-lanes]").click();
    await page.locator("[data-testid=lane]").first().waitFor({ state: "detached" });

    // Back on a laptop, the columns come back.
    await page.setViewportSize(LAPTOP);
    await switcher.waitFor({ state: "detached" });
    await column(page, "blocked").waitFor();
    await column(page, "ready").waitFor();
    d.assertNoErrors();
  },
);

scenario(
  "cards say what they wait for (on hover and on focus), their handoff, failure and priority",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: async (home) => {
        writeFileSync(
          join(home.home, "config.toml"),
          `[dispatch]\n${MACHINE_OFF}[profiles.coder]\ncommand = ["${join(AGENTS, "crash.sh")}"]\n`,
        );
        const flaky = create(home, "Run the flaky job", "-a", "coder");
        // A real dispatcher starts the worker, which crashes; the next pass records it.
        ok(home, ["dispatch", "--once"]);
        for (let i = 0; i < 40; i++) {
          const t = home.json<{ task: { consecutive_failures: number } }>(["show", flaky]).task;
          if (t.consecutive_failures > 0) break;
          await new Promise((r) => setTimeout(r, 250));
          ok(home, ["dispatch", "--once"]);
        }
        const freeze = create(home, "Freeze the API");
        const pick = create(home, "Pick a database");
        const child = create(home, "Write the client", "--parent", freeze, "--parent", pick);
        const shipped = create(home, "Ship 1.0");
        ok(home, ["complete", shipped, "--summary", "Tagged v1.0 and pushed it\n\nThe details."]);
        const blocked = create(home, "Deploy");
        ok(home, ["block", blocked, "Which region?"]);
        return {
          flaky,
          freeze,
          pick,
          child,
          shipped,
          blocked,
          urgent: create(home, "Fix the login", "--priority", "urgent"),
          low: create(home, "Someday", "--priority", "low"),
          seven: create(home, "Weighted", "--priority", "7"),
          plain: create(home, "Plain"),
        };
      },
    });
    const ids = d.seeded;
    const { page } = d;
    await page.setViewportSize(LAPTOP);
    const failing = task(d.home, ids["flaky"]);
    assert.ok(
      failing.consecutive_failures > 0,
      `the seed made no failure: ${JSON.stringify(failing)}`,
    );

    // Waits for: the count always, the parents while hovered.
    const child = card(page, ids["child"]);
    const parents = child.locator("[data-testid=card-parents]");
    assert.equal((await child.locator(".waits-count").textContent())?.trim(), "waits for 2");
    assert.equal(await parents.isVisible(), false, "the parents show on hover or focus only");
    await child.locator("[data-testid=card-title]").hover();
    await parents.waitFor({ state: "visible" });
    assert.deepEqual(
      (await parents.locator(".parent-title").allTextContents()).sort(),
      ["Freeze the API", "Pick a database"],
    );
    await page.mouse.move(2, 2);
    await parents.waitFor({ state: "hidden" });
    // ... and while it has the keyboard's focus.
    await page.locator("body").click({ position: { x: 2, y: 2 } });
    await child.focus();
    await parents.waitFor({ state: "visible" });
    await page.keyboard.press("Tab"); // into the card: its checkbox
    assert.equal(await parents.isVisible(), true, "still shown with the focus inside");
    await page.locator("body").click({ position: { x: 2, y: 2 } });
    await parents.waitFor({ state: "hidden" });

    // A parent done elsewhere: the card's count follows, live.
    ok(d.home, ["complete", ids["freeze"]]);
    await until(
      "waits for 1",
      async () => (await child.locator(".waits-count").textContent())?.trim() === "waits for 1",
    );
    await child.hover();
    await child.locator(`[data-testid=card-parent][data-id="${ids["pick"]}"]`).click();
    await page.locator(`[data-testid=drawer][data-id="${ids["pick"]}"]`).waitFor();
    await page.keyboard.press("Escape");
    await page.locator("[data-testid=drawer]").waitFor({ state: "detached" });

    // The handoff, the block reason, the failure.
    assert.equal(
      await card(page, ids["shipped"]).locator("[data-testid=card-handoff]").textContent(),
      "Tagged v1.0 and pushed it",
    );
    assert.equal(
      await card(page, ids["blocked"]).locator("[data-testid=card-blocked]").textContent(),
      "Which region?",
    );
    const error = await card(page, ids["flaky"]).locator("[data-testid=card-error]").textContent();
    assert.equal(error, `${failing.consecutive_failures}× failed: ${failing.last_error}`);

    // Priorities by name, a number only without one, nothing for normal.
    const prio = (id: string) => card(page, id).locator("[data-testid=card-priority]");
    assert.equal(await prio(ids["urgent"]).textContent(), "urgent");
    assert.equal(await prio(ids["low"]).textContent(), "low");
    assert.equal(await prio(ids["seven"]).textContent(), "7");
    assert.equal(await prio(ids["plain"]).count(), 0);
    await d.screenshot("layout-cards");
    d.assertNoErrors();
  },
);

scenario(
  "the bulk bar offers only the actions legal for the selection, and says for how many",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        const review = ["First look", "Second look"].map((t) => {
          const id = create(home, t, "--review");
          ok(home, ["complete", id, "--summary", "please check"]);
          return id;
        });
        const done = create(home, "Finished");
        ok(home, ["complete", done]);
        return {
          triage: create(home, "An idea", "--triage"),
          review,
          ready: create(home, "Queued"),
          done,
        };
      },
    });
    const ids = d.seeded;
    const { page } = d;
    await page.setViewportSize(LAPTOP);
    const all = [ids.triage, ...ids.review, ids.ready, ids.done];
    for (const id of all) await card(page, id).locator("input[data-testid=card-select]").check();
    const bar = page.locator("[data-testid=bulk-bar]");
    assert.equal((await bar.locator("[data-testid=bulk-count]").textContent())?.trim(), "5");
    const offered = async () =>
      Object.fromEntries(
        await bar.locator(
          "[data-testid^=bulk-]:not([data-testid=bulk-count]):not([data-testid=bulk-clear])",
        )
          .evaluateAll((els) =>
            els.map((el) => [el.getAttribute("data-testid")!.slice(5), el.textContent!.trim()])
          ),
      );
    assert.deepEqual(await offered(), {
      promote: "Promote(1 of 5)",
      approve: "Approve(2 of 5)",
      complete: "Complete…(1 of 5)",
      block: "Block…(3 of 5)",
      reopen: "Reopen(1 of 5)",
      cancel: "Cancel…(4 of 5)",
      archive: "Archive",
    });

    const sent: unknown[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/api/v1/tasks/bulk")) sent.push(r.postDataJSON());
    });
    await bar.locator("[data-testid=bulk-approve]").click();
    const toast = page.locator("[data-testid=toast][data-kind=info]", { hasText: "2 approved" });
    await toast.waitFor();
    assert.deepEqual(sent, [{ ids: ids.review, action: "approve" }]);
    for (const id of ids.review) {
      await until(`${id} done`, () => task(d.home, id).status === "done");
    }
    // What approve was not for stays selected, and what is legal follows the board.
    await until(
      "3 still selected",
      async () => (await bar.locator("[data-testid=bulk-count]").textContent())?.trim() === "3",
    );
    assert.deepEqual(await offered(), {
      promote: "Promote(1 of 3)",
      complete: "Complete…(1 of 3)",
      block: "Block…(1 of 3)",
      reopen: "Reopen(1 of 3)",
      cancel: "Cancel…(2 of 3)",
      archive: "Archive",
    });
    d.assertNoErrors();
  },
);

scenario(
  "on a laptop the health bar shows two warnings in full and folds to one line past that",
  async (browser) => {
    await using d = await dashboard(browser, {
      // Four ready tasks for three profiles no config defines, and one for nobody: four warnings.
      seed: (home) => {
        for (const who of ["ghost", "phantom", "spectre"]) {
          create(home, `Work for ${who}`, "-a", who);
        }
        create(home, "Work for nobody");
      },
    });
    const { page } = d;
    await page.setViewportSize(LAPTOP);
    const health = page.locator("[data-testid=health]");
    await until("four warnings", async () => (await health.locator(".warning").count()) === 4);
    assert.equal(await health.getAttribute("data-folded"), "true");
    const folded = (await health.boundingBox())!.height;
    assert.ok(folded <= 36, `the folded health bar is ${folded} px tall`);
    const toggle = health.locator("[data-testid=health-toggle]");
    assert.equal((await toggle.textContent())?.trim(), "⚠ 4");
    await toggle.click();
    await health.locator(".warning").nth(3).waitFor({ state: "visible" });
    assert.ok((await health.boundingBox())!.height > folded, "unfolded, every warning shows");
    await toggle.click();
    assert.equal(await health.getAttribute("data-folded"), "true");

    // Two warnings fit: no fold, no toggle.
    const ids = (await d.api<{ id: string; assignee: string | null }[]>("GET", "/api/v1/tasks"))
      .filter((t) => t.assignee === "ghost" || t.assignee === "phantom");
    for (const t of ids) await d.api("POST", `/api/v1/tasks/${t.id}/cancel`, {});
    await until("two warnings", async () => (await health.locator(".warning").count()) === 2);
    assert.equal(await health.getAttribute("data-folded"), "false");
    assert.equal(await toggle.count(), 0);
    d.assertNoErrors();
  },
);
