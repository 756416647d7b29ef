/// <reference lib="dom" />
/**
 * The web dashboard in headless Chromium against the compiled binary: every scenario runs on a
 * fresh board served by `dist/kanban serve`, acts through the page as a person would, and
 * checks both the DOM and the board itself (through the CLI or the API). Each scenario ends
 * by checking that the page logged no console error and threw nothing.
 */
import assert from "node:assert/strict";
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { BinaryHome } from "../e2e/_binary.ts";
import { BOARD_READY, dashboard, launchBrowser, SCREENSHOTS, until } from "./_browser.ts";

const STATUSES = ["triage", "todo", "scheduled", "ready", "running", "review", "done", "blocked"];

interface TaskJson {
  id: string;
  title: string;
  status: string;
  tenant: string | null;
  assignee: string | null;
  blocked_reason: string | null;
  result: string | null;
}

interface Detail {
  task: TaskJson & { body: string };
  comments: { author: string; body: string }[];
  events: { kind: string; data: Record<string, unknown> }[];
  runs: { summary: string | null }[];
}

const card = (page: Page, id: string) => page.locator(`[data-testid=card][data-id="${id}"]`);
const column = (page: Page, status: string) =>
  page.locator(`[data-testid=column][data-status="${status}"]`);

/** columnOf is the status of the column that holds the card of `id` (null: no such card). */
function columnOf(page: Page, id: string): Promise<string | null> {
  return page.evaluate((id) => {
    const el = document.querySelector(`[data-testid=card][data-id="${CSS.escape(id)}"]`);
    if (!el) return null;
    return el.closest<HTMLElement>("[data-testid=column]")?.dataset["status"] ?? "(no column)";
  }, id);
}

/** waitInColumn waits until the card of `id` is in column `status`. */
async function waitInColumn(page: Page, id: string, status: string, ms = 5000): Promise<void> {
  let seen: string | null = null;
  try {
    await until(`card ${id} in column ${status}`, async () => {
      seen = await columnOf(page, id);
      return seen === status;
    }, ms);
  } catch (err) {
    const where = seen ?? "no column (no such card)";
    throw new assert.AssertionError({ message: `${(err as Error).message}; it is in ${where}` });
  }
}

/** count reads column `status`'s count, which must be a bare number. */
async function count(page: Page, status: string): Promise<number> {
  const text = await column(page, status).locator("[data-testid=column-count]").textContent();
  const m = /^\s*(\d+)\s*$/.exec(text ?? "");
  assert.ok(m, `the ${status} column's count reads ${JSON.stringify(text)}, not a number`);
  return Number(m[1]);
}

async function waitCount(page: Page, status: string, expected: number): Promise<void> {
  let last: number | string = "nothing";
  try {
    await until(`the ${status} column's count to be ${expected}`, async () => {
      last = await count(page, status);
      return last === expected;
    });
  } catch (err) {
    throw new assert.AssertionError({ message: `${(err as Error).message}; it reads ${last}` });
  }
}

/** create makes a task with the real CLI and returns its id. */
function create(home: BinaryHome, title: string, ...flags: string[]): string {
  return home.json<{ id: string }>(["create", title, ...flags]).id;
}

function show(home: BinaryHome, id: string): Detail {
  return home.json<Detail>(["show", id]);
}

/** ok asserts that the CLI command succeeded. */
function ok(home: BinaryHome, args: string[]): string {
  const r = home.kanban(args);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** dropOn drags the card of `id` onto column `status` (native HTML5 drag and drop). */
async function dropOn(page: Page, id: string, status: string): Promise<void> {
  // The board scrolls sideways: with the target column off screen, dragTo scrolls it into view
  // mid-drag and Chromium never starts the drag. Scroll it into view first (the source card,
  // further left, stays visible for the drops made here).
  await column(page, status).scrollIntoViewIfNeeded();
  await card(page, id).dragTo(column(page, status));
}

/** answerPrompt waits for the prompt, types `text` (if any) and confirms. */
async function answerPrompt(page: Page, text: string): Promise<void> {
  const prompt = page.locator("[data-testid=prompt]");
  await prompt.waitFor({ state: "visible" });
  if (text !== "") await prompt.locator("[data-testid=prompt-input]").fill(text);
  await prompt.locator("[data-testid=prompt-ok]").click();
  await prompt.waitFor({ state: "hidden" });
}

/** promptShows tells whether the prompt opens within `ms` (for actions that may ask). */
function promptShows(page: Page, ms = 1000): Promise<boolean> {
  return page.locator("[data-testid=prompt]").waitFor({ state: "visible", timeout: ms })
    .then(() => true, () => false);
}

async function openDrawer(page: Page, id: string) {
  await card(page, id).locator("[data-testid=card-title]").click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  await drawer.waitFor({ state: "visible" });
  return drawer;
}

/**
 * seedBoard makes 16 tasks in every column but archived with the CLI: assignees, tenants,
 * a dependency, a markdown body and a comment.
 */
function seedBoard(home: BinaryHome): Record<string, string> {
  const [coder, writer, boss] = ["coder", "writer", "orchestrator"].map((a) => ["-a", a]);
  const [acme, globex] = ["acme", "globex"].map((x) => ["--tenant", x]);
  const body =
    "## Goal\n\nThree tables: **tasks**, `runs`, events.\n\n- keep it STRICT\n- one migration";
  const ids: Record<string, string> = {};
  ids["triage1"] = create(home, "Decide on the dashboard colours", "--triage");
  ids["triage2"] = create(home, "Look into flaky claim test", "--triage", ...acme!);
  ids["schema"] = create(home, "Design the schema", ...coder!, ...acme!, "--body", body);
  ids["api"] = create(home, "Build the API", ...coder!, "--parent", ids["schema"]);
  ids["docs"] = create(home, "Document the API", ...writer!, "--parent", ids["schema"]);
  ids["ready1"] = create(home, "Write the release notes", ...writer!, ...globex!);
  ids["ready2"] = create(home, "Profile the board query", ...coder!, "--priority", "high");
  ids["ready3"] = create(home, "Tidy the fixtures");
  ids["later"] = create(home, "Rotate the logs", "--not-before", "+2h");
  ids["running"] = create(home, "Migrate the old board", ...coder!);
  ok(home, ["claim", ids["running"], "--lease", "1h", "--json"]);
  ids["review"] = create(home, "Rewrite the dispatcher loop", ...coder!, "--review");
  ok(home, ["complete", ids["review"], "--summary", "loop rewritten"]);
  ids["done1"] = create(home, "Set up CI", ...coder!, ...acme!);
  ok(home, ["complete", ids["done1"], "--summary", "CI runs on every push"]);
  ids["done2"] = create(home, "Pick a licence", ...boss!);
  ok(home, ["complete", ids["done2"], "--summary", "MIT"]);
  ids["blocked1"] = create(home, "Deploy to staging", ...coder!, ...globex!);
  ok(home, ["block", ids["blocked1"], "Which region should staging use?"]);
  ids["blocked2"] = create(home, "Buy the domain", ...boss!);
  ok(home, ["block", ids["blocked2"], "Needs a credit card"]);
  ok(home, ["comment", ids["schema"], "Use *STRICT* tables, see `docs/`.", "--author", "alice"]);
  return ids;
}

/**
 * scenario is one test with its own Chromium (about half a second to start), so that each
 * scenario passes or fails on its own in the suite's count.
 */
function scenario(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test(`dashboard: ${name}`, async () => {
    await using browser = await launchBrowser();
    await fn(browser);
  });
}

scenario(
  "a logged-in page reaches the API with its HttpOnly session cookie alone",
  async (browser) => {
    await using d = await dashboard(browser);
    const cookies = await d.context.cookies();
    assert.equal(cookies.length, 1, JSON.stringify(cookies));
    assert.equal(cookies[0]!.httpOnly, true);
    const seen = await d.page.evaluate(async () => {
      const r = await fetch("/api/v1/board?limit=1");
      return { status: r.status, cookie: document.cookie, total: (await r.json()).total };
    });
    assert.deepEqual(seen, { status: 200, cookie: "", total: 0 });
    await d.page.locator("[data-testid=empty-board]").waitFor({ state: "visible" });
    await d.page.locator("[data-testid=health][data-state=down]").waitFor();
    await d.page.locator("[data-testid=live][data-state=connected]").waitFor();
    const other = await d.newPage(); // a second browser, logged in with a new one-time code
    await other.locator("[data-testid=empty-board]").waitFor({ state: "visible" });
    d.assertNoErrors();
  },
);

scenario(
  "a task created inline in the ready column gets the tenant filter and shows at once",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => ({
        acme: create(home, "Acme task", "--tenant", "acme"),
        other: create(home, "Globex task", "--tenant", "globex"),
      }),
    });
    const ids = d.seeded;
    const { page } = d;
    await card(page, ids["other"]!).waitFor();
    await page.fill("input[data-testid=search]", "");
    await page.fill("input[data-testid=filter-tenant]", "acme");
    await until(
      "the tenant filter in the URL",
      () => new URL(page.url()).searchParams.get("tenant") === "acme",
    );
    await card(page, ids["other"]!).waitFor({ state: "detached" });
    await card(page, ids["acme"]!).waitFor();
    await page.locator(BOARD_READY).waitFor();
    const before = await count(page, "ready");
    assert.equal(before, 1, "with tenant=acme the ready column holds the one acme task");

    await column(page, "ready").locator("[data-testid=add-task]").click();
    const input = column(page, "ready").locator("input[data-testid=new-task-title]");
    await input.fill("Write the acme changelog");
    await input.press("Enter");
    const made = await until(
      "the new task in the CLI's list",
      () => d.home.json<TaskJson[]>(["list"]).find((x) => x.title === "Write the acme changelog"),
    );
    assert.equal(made.tenant, "acme");
    assert.equal(made.status, "ready");
    await card(page, made.id).waitFor();
    await waitInColumn(page, made.id, "ready");
    assert.equal(
      (await card(page, made.id).locator("[data-testid=card-title]").textContent())?.trim(),
      "Write the acme changelog",
    );
    await waitCount(page, "ready", before + 1);

    await column(page, "triage").locator("[data-testid=add-task]").click();
    const triageInput = column(page, "triage").locator("input[data-testid=new-task-title]");
    await triageInput.fill("An acme idea");
    await triageInput.press("Enter");
    const idea = await until(
      "the triaged task in the CLI's list",
      () => d.home.json<TaskJson[]>(["list"]).find((x) => x.title === "An acme idea"),
    );
    assert.equal(idea.status, "triage");
    assert.equal(idea.tenant, "acme");
    await waitInColumn(page, idea.id, "triage");
    // The field stays open and focused for the next title, as quick entry should.
    await triageInput.pressSequentially("tra"); // "t" and "r" are shortcuts outside a field
    await triageInput.press("Enter");
    await until(
      "the second triaged task",
      () => d.home.json<TaskJson[]>(["list"]).find((x) => x.title === "tra"),
    );
    assert.equal(await page.evaluate(() => document.documentElement.dataset["theme"]), "light");
    d.assertNoErrors();
  },
);

scenario(
  "a ready task dropped on blocked asks for the reason, and on done for a summary",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => ({ a: create(home, "Deploy the site"), b: create(home, "Ship 1.2") }),
    });
    const ids = d.seeded;
    const { page } = d;
    await dropOn(page, ids["a"]!, "blocked");
    await answerPrompt(page, "Waiting for the API key");
    await waitInColumn(page, ids["a"]!, "blocked");
    const blocked = await until("the task blocked on the board", () => {
      const t = show(d.home, ids["a"]!).task;
      return t.status === "blocked" && t;
    });
    assert.equal(blocked.blocked_reason, "Waiting for the API key");
    await waitCount(page, "blocked", 1);

    await dropOn(page, ids["b"]!, "done");
    await answerPrompt(page, "Shipped in 1.2");
    await waitInColumn(page, ids["b"]!, "done");
    const done = await until("the task done on the board", async () => {
      const x = await d.api<Detail>("GET", `/api/v1/tasks/${ids["b"]}`);
      return x.task.status === "done" && x;
    });
    const completed = done.events.find((e) => e.kind === "completed");
    assert.ok(completed, `no completed event in ${JSON.stringify(done.events)}`);
    assert.equal(completed.data["summary"], "Shipped in 1.2");
    await waitCount(page, "done", 1);
    await waitCount(page, "ready", 0);
    // Still there after a reload: the server has it, not only the page.
    await page.reload();
    await page.locator(BOARD_READY).waitFor();
    await waitInColumn(page, ids["a"]!, "blocked");
    await waitInColumn(page, ids["b"]!, "done");
    // The drawer shows the handoff a person wrote (it has no run: only the event holds it).
    const drawer = await openDrawer(page, ids["b"]!);
    await drawer.locator("[data-testid=handoff-summary]", { hasText: "Shipped in 1.2" }).waitFor();
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });

    // A drop on todo unblocks; the task lands where derivation puts it (ready), and says so.
    await page.setViewportSize({ width: 2000, height: 900 }); // every column on screen
    await dropOn(page, ids["a"]!, "todo");
    const info = page.locator("[data-testid=toast][data-kind=info]", { hasText: "is ready" });
    await info.waitFor();
    await waitInColumn(page, ids["a"]!, "ready");
    d.assertNoErrors();
  },
);

scenario("a ready task dropped on running goes back with the server's reason", async (browser) => {
  await using d = await dashboard(browser, {
    seed: (home) => create(home, "Not for people to start", "--assignee", "coder"),
  });
  const id = d.seeded;
  const { page } = d;
  const events = show(d.home, id).events.length;
  await dropOn(page, id, "running");
  const toast = page.locator("[data-testid=toast][data-kind=error]");
  await toast.waitFor({ state: "visible" });
  assert.match((await toast.textContent()) ?? "", /only a claim enters running/);
  await waitInColumn(page, id, "ready");
  assert.equal(await count(page, "ready"), 1);
  assert.equal(await count(page, "running"), 0);
  const after = show(d.home, id);
  assert.equal(after.task.status, "ready");
  assert.equal(after.events.length, events, "the refused move wrote no event");
  // Chromium logs every 4xx fetch as "Failed to load resource"; this 409 is the refusal the
  // scenario provokes, so only that one message is allowed.
  d.assertNoErrors((e) =>
    e.kind === "console" && /status of 409/.test(e.text) &&
    e.url.endsWith(`/api/v1/tasks/${id}/move`)
  );
});

scenario(
  "a markdown comment made in the drawer shows rendered and reaches the board",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => create(home, "Review the plan", "--body", "Plan: *one* step"),
    });
    const id = d.seeded;
    const { page } = d;
    const drawer = await openDrawer(page, id);
    assert.equal(
      (await drawer.locator("[data-testid=drawer-title]").textContent())?.trim(),
      "Review the plan",
    );
    await drawer.locator("[data-testid=drawer-body] em", { hasText: "one" }).waitFor();
    const input = drawer.locator("textarea[data-testid=comment-input]");
    await input.fill("Looks **bold** to me");
    // Escape in a field leaves the field; the drawer and what was typed stay.
    await input.press("Escape");
    assert.equal(await input.inputValue(), "Looks **bold** to me");
    assert.equal(await drawer.isVisible(), true, "Escape in the comment box closed the drawer");
    await drawer.locator("[data-testid=comment-submit]").click();
    const comment = drawer.locator("[data-testid=comment]");
    await comment.locator("[data-testid=comment-body] strong", { hasText: "bold" }).waitFor();
    assert.equal(await comment.count(), 1);
    assert.ok(
      ((await comment.locator("[data-testid=comment-author]").textContent()) ?? "").trim() !== "",
    );
    const comments = show(d.home, id).comments;
    assert.deepEqual(comments.map((c) => c.body), ["Looks **bold** to me"]);
    await page.keyboard.press("Escape");
    await page.locator("[data-testid=drawer]").waitFor({ state: "detached" });
    d.assertNoErrors();
  },
);

scenario(
  "changes made with the CLI appear live, re-rendering only what changed",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => ({
        keep: create(home, "Unrelated task"),
        block: create(home, "Soon blocked"),
      }),
    });
    const ids = d.seeded;
    const { page } = d;
    await page.locator("[data-testid=live][data-state=connected]").waitFor();
    await page.evaluate((id) => {
      (window as unknown as { __marker: number }).__marker = 1;
      const el = document.querySelector(`[data-testid=card][data-id="${id}"]`);
      (el as unknown as { __keep: number }).__keep = 1;
    }, ids["keep"]!);
    const made = create(d.home, "Made in a terminal");
    await card(page, made).waitFor({ timeout: 5000 });
    await waitInColumn(page, made, "ready");
    await waitCount(page, "ready", 3);
    ok(d.home, ["block", ids["block"]!, "Needs a decision"]);
    await waitInColumn(page, ids["block"]!, "blocked");
    await waitCount(page, "blocked", 1);
    const kept = await page.evaluate((id) => ({
      marker: (window as unknown as { __marker?: number }).__marker,
      navigations: performance.getEntriesByType("navigation").length,
      keep: (document.querySelector(`[data-testid=card][data-id="${id}"]`) as unknown as {
        __keep?: number;
      } | null)?.__keep,
    }), ids["keep"]!);
    assert.deepEqual(kept, { marker: 1, navigations: 1, keep: 1 });
    d.assertNoErrors();
  },
);

scenario("three selected cards are archived together", async (browser) => {
  await using d = await dashboard(browser, {
    seed: (home) => ["one", "two", "three", "four", "five"].map((n) => create(home, `Task ${n}`)),
  });
  const ids = d.seeded;
  const { page } = d;
  const chosen = ids.slice(0, 3);
  for (const id of chosen) await card(page, id).locator("input[data-testid=card-select]").check();
  const bar = page.locator("[data-testid=bulk-bar]");
  await bar.waitFor({ state: "visible" });
  assert.match((await bar.locator("[data-testid=bulk-count]").textContent()) ?? "", /\b3\b/);
  await bar.locator("[data-testid=bulk-archive]").click();
  // The contract names no confirmation for bulk actions; accept one if the UI asks.
  if (await promptShows(page)) await answerPrompt(page, "");
  for (const id of chosen) await card(page, id).waitFor({ state: "detached" });
  await waitCount(page, "ready", 2);
  for (const id of ids.slice(3)) await waitInColumn(page, id, "ready");
  for (const id of chosen) {
    assert.equal((await d.api<Detail>("GET", `/api/v1/tasks/${id}`)).task.status, "archived");
  }
  const listed = d.home.json<TaskJson[]>(["list"]).map((x) => x.id).sort();
  assert.deepEqual(listed, ids.slice(3).sort());

  await page.locator("input[data-testid=show-archived]").check();
  await waitCount(page, "archived", 3);
  for (const id of chosen) await waitInColumn(page, id, "archived");
  d.assertNoErrors();
});

scenario(
  "the drawer edits the body, links a parent and offers only the legal actions",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => ({
        child: create(home, "Write the docs", "--body", "old text"),
        parent: create(home, "Freeze the API"),
      }),
    });
    const ids = d.seeded;
    const { page } = d;
    const drawer = await openDrawer(page, ids["child"]!);
    await drawer.locator("[data-testid=edit-body]").click();
    const editor = drawer.locator("textarea[data-testid=body-editor]");
    assert.equal(await editor.inputValue(), "old text");
    await editor.fill("# Plan\n\nWith *care*.");
    await drawer.locator("[data-testid=save-body]").click();
    await drawer.locator("[data-testid=drawer-body] h1", { hasText: "Plan" }).waitFor();
    await drawer.locator("[data-testid=drawer-body] em", { hasText: "care" }).waitFor();
    assert.equal(show(d.home, ids["child"]!).task.body, "# Plan\n\nWith *care*.");

    await drawer.locator("input[data-testid=add-parent-input]").fill(ids["parent"]!);
    await drawer.locator("[data-testid=add-parent]").click();
    await drawer.locator(`[data-testid=parent][data-id="${ids["parent"]}"]`).waitFor();
    const linked = show(d.home, ids["child"]!);
    assert.equal(linked.task.status, "todo", "it waits for its new parent");
    await waitInColumn(page, ids["child"]!, "todo");
    assert.ok((await drawer.locator("[data-testid=event]").count()) >= 3, "events are listed");
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });

    const parent = await openDrawer(page, ids["parent"]!);
    await parent.locator(`[data-testid=child][data-id="${ids["child"]}"]`).waitFor();
    const actions = await parent.locator("[data-testid^=action-]").evaluateAll((els) =>
      els.map((el) => el.getAttribute("data-testid")!.slice("action-".length)).sort()
    );
    for (const illegal of ["promote", "unblock", "approve", "reject", "reopen", "unarchive"]) {
      assert.ok(!actions.includes(illegal), `a ready task offers ${illegal}: ${actions}`);
    }
    assert.ok(actions.includes("complete"), `no complete among ${actions}`);
    await parent.locator("[data-testid=action-complete]").click();
    // The contract names no prompt for drawer actions: answer one if the UI asks.
    if (await promptShows(page)) await answerPrompt(page, "frozen");
    await until(
      "the parent done on the board",
      () => show(d.home, ids["parent"]!).task.status === "done",
    );
    await waitInColumn(page, ids["parent"]!, "done");
    await waitInColumn(page, ids["child"]!, "ready"); // its only parent is done now
    d.assertNoErrors();
  },
);

scenario(
  "the drawer rejects a review with a reason; a bulk cancel asks once for all",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        const reviewed = create(home, "Needs a second look", "--review");
        ok(home, ["complete", reviewed, "--summary", "first try"]);
        return { reviewed, a: create(home, "Drop me"), b: create(home, "Drop me too") };
      },
    });
    const ids = d.seeded;
    const { page } = d;
    const drawer = await openDrawer(page, ids["reviewed"]!);
    await drawer.locator("[data-testid=action-reject]").click();
    await answerPrompt(page, "add tests");
    await until(
      "the review rejected",
      () => show(d.home, ids["reviewed"]!).task.status === "ready",
    );
    const comments = show(d.home, ids["reviewed"]!).comments.map((c) => c.body);
    assert.deepEqual(comments, ["Review rejected: add tests"]);
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });

    const dropped = [ids["a"]!, ids["b"]!];
    for (const id of dropped) {
      await card(page, id).locator("input[data-testid=card-select]")
        .check();
    }
    await page.locator("[data-testid=bulk-cancel]").click();
    await answerPrompt(page, "out of scope");
    for (const id of dropped) {
      await card(page, id).waitFor({ state: "detached" });
      const shown = show(d.home, id);
      assert.equal(shown.task.status, "archived");
      assert.ok(
        shown.events.some((e) => e.data["reason"] === "out of scope"),
        `no event with the reason in ${JSON.stringify(shown.events)}`,
      );
    }
    d.assertNoErrors();
  },
);

scenario(
  "HTML and javascript: links in titles, bodies, comments and authors stay inert",
  async (browser) => {
    const title = `<img src=x onerror="window.__xss=1">`;
    const author = "<b onmouseover=window.__xss=6>x</b>";
    await using d = await dashboard(browser, {
      seed: (home) => {
        const id = create(
          home,
          title,
          "--body",
          "Intro **kept** <img src=x onerror=window.__xss=3> and " +
            '<img src="x" onerror="window.__xss=8">\n\n<script>window.__xss=2</script>\n\n' +
            '[click](javascript:window.__xss=4)\n\n<a href="JaVaScRiPt:window.__xss=7">b</a>\n\n' +
            "![pixel](https://tracker.example/p.png)\n",
        );
        ok(home, ["comment", id, "<svg onload=window.__xss=5>", "--author", author]);
        return id;
      },
    });
    const id = d.seeded;
    const { page } = d;
    assert.equal(await card(page, id).locator("[data-testid=card-title]").textContent(), title);
    const drawer = await openDrawer(page, id);
    assert.equal(
      (await drawer.locator("[data-testid=drawer-title]").textContent())?.trim(),
      title,
    );
    await drawer.locator("[data-testid=drawer-body] strong", { hasText: "kept" }).waitFor();
    await drawer.locator("[data-testid=comment]").waitFor();
    assert.ok(
      ((await drawer.locator("[data-testid=comment-author]").textContent()) ?? "").includes(
        author,
      ),
      "the comment's author is shown as text",
    );
    await drawer.locator("[data-testid=comment-author]").hover();
    await drawer.locator("[data-testid=comment-body]").hover();
    await page.waitForTimeout(300); // an image error or an svg load would have fired by now
    const seen = await page.evaluate(() => {
      const all = [...document.querySelectorAll("*")];
      const drawer = document.querySelector("[data-testid=drawer]");
      return {
        xss: (window as unknown as { __xss?: number }).__xss ?? null,
        handlers: all.flatMap((el) =>
          [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) =>
            `<${el.localName} ${a.name}>`
          )
        ),
        scripts: drawer?.querySelectorAll("script").length ?? -1,
        // Images load only from data: URLs (no /x, no tracking pixel).
        imageSources: [...(drawer?.querySelectorAll("img") ?? [])].map((i) => i.src)
          .filter((src) => src !== ""),
        javascriptUrls: all.flatMap((el) =>
          ["href", "src", "action", "formaction", "xlink:href"]
            .map((n) => el.getAttribute(n) ?? "")
            .filter((v) => /^\s*javascript:/i.test(v))
        ),
      };
    });
    assert.deepEqual(seen, {
      xss: null,
      handlers: [],
      scripts: 0,
      imageSources: [],
      javascriptUrls: [],
    });
    // One message is the payload's own doing: Chromium reports a CSP violation for each
    // inline handler that DOMPurify's (inert) DOMParser document parses, before DOMPurify
    // drops it. Nothing ran, and nothing else may appear.
    d.assertNoErrors((e) =>
      e.kind === "console" &&
      /^Executing inline event handler violates .*Content Security Policy/.test(e.text)
    );
  },
);

scenario("filters live in the URL, and the keyboard shortcuts work", async (browser) => {
  await using d = await dashboard(browser, {
    seed: (home) => ({
      coder: create(home, "Index the events table", "--assignee", "coder"),
      writer: create(home, "Write the guide", "--assignee", "writer"),
    }),
  });
  const ids = d.seeded;
  const { page } = d;
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("/");
  assert.equal(
    await page.evaluate(() => document.activeElement?.getAttribute("data-testid")),
    "search",
  );
  await page.keyboard.type("guide");
  await until(
    "the search in the URL",
    () => new URL(page.url()).searchParams.get("search") === "guide",
  );
  await card(page, ids["coder"]!).waitFor({ state: "detached" });
  await card(page, ids["writer"]!).waitFor();

  await page.fill("input[data-testid=search]", "");
  await page.fill("input[data-testid=filter-assignee]", "coder");
  await until(
    "the assignee in the URL",
    () => new URL(page.url()).searchParams.get("assignee") === "coder",
  );
  await card(page, ids["writer"]!).waitFor({ state: "detached" });
  await page.reload();
  await page.locator(BOARD_READY).waitFor();
  assert.equal(await page.inputValue("input[data-testid=filter-assignee]"), "coder");
  await card(page, ids["coder"]!).waitFor();
  assert.equal(await card(page, ids["writer"]!).count(), 0, "the filter survives a reload");

  await openDrawer(page, ids["coder"]!);
  const address = new URL(page.url()).searchParams;
  assert.deepEqual([address.get("task"), address.get("assignee")], [ids["coder"], "coder"]);
  await page.reload();
  await page.locator(`[data-testid=drawer][data-id="${ids["coder"]}"]`).waitFor();
  assert.equal(await page.inputValue("input[data-testid=filter-assignee]"), "coder");
  await page.keyboard.press("Escape");
  await page.locator("[data-testid=drawer]").waitFor({ state: "detached" });
  assert.equal(new URL(page.url()).searchParams.get("task"), null);

  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("?");
  await page.locator("[data-testid=shortcuts]").waitFor({ state: "visible" });
  const inHelp = () =>
    page.evaluate(() => document.activeElement?.closest("[data-testid=shortcuts]") !== null);
  await until("the focus in the shortcuts dialog", inHelp);
  for (let i = 0; i < 3; i++) await page.keyboard.press("Tab"); // the dialog keeps the focus
  assert.equal(await inHelp(), true, "Tab left the dialog");
  await page.keyboard.press("Escape");
  await page.locator("[data-testid=shortcuts]").waitFor({ state: "hidden" });
  d.assertNoErrors();
});

scenario(
  "the keyboard walks, selects and opens cards; a bulk action reports what failed",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        const idea = create(home, "An idea", "--triage");
        const ready = create(home, "Already queued");
        // An archived task whose idempotency key a newer task took: unarchiving it is a legal
        // move that the server refuses.
        const old = create(home, "Old report", "--idempotency-key", "weekly-report");
        ok(home, ["archive", old]);
        create(home, "New report", "--idempotency-key", "weekly-report");
        return { idea, ready, old };
      },
    });
    const ids = d.seeded;
    const { page } = d;
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("j"); // the first card: the triage column comes first
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute("data-id"));
    assert.equal(await focused(), ids["idea"]);
    await page.keyboard.press("x");
    await page.keyboard.press("j");
    assert.equal(await focused(), ids["ready"]);
    await page.keyboard.press("x");
    const bar = page.locator("[data-testid=bulk-bar]");
    assert.match((await bar.locator("[data-testid=bulk-count]").textContent()) ?? "", /^2$/);

    // Promote suits the triaged task only: the bar says so and sends that one alone; the
    // other stays selected.
    const promote = bar.locator("[data-testid=bulk-promote]");
    assert.equal((await promote.textContent())?.trim(), "Promote(1 of 2)");
    await promote.click();
    await page.locator("[data-testid=toast][data-kind=info]", { hasText: "1 promoted" }).waitFor();
    await waitInColumn(page, ids["idea"]!, "ready");
    await until(
      "one card still selected",
      async () => ((await bar.locator("[data-testid=bulk-count]").textContent()) ?? "") === "1",
    );
    assert.equal(
      await card(page, ids["ready"]!).locator("input[data-testid=card-select]").isChecked(),
      true,
    );
    // A move the table allows can still fail on the server: the bar reports the reason, and
    // the task that failed stays selected.
    await page.locator("input[data-testid=show-archived]").check();
    await card(page, ids["old"]!).locator("input[data-testid=card-select]").check();
    await bar.locator("[data-testid=bulk-unarchive]").click();
    const toast = page.locator("[data-testid=toast][data-kind=error]");
    await toast.waitFor();
    assert.match((await toast.textContent()) ?? "", /0 unarchived, 1 failed: .*idempotency key/);
    await waitInColumn(page, ids["old"]!, "archived");
    assert.equal((await bar.locator("[data-testid=bulk-count]").textContent())?.trim(), "2");
    await page.locator("body").click({ position: { x: 5, y: 5 } }); // out of the checkbox
    await page.keyboard.press("Escape"); // clears the selection
    await bar.waitFor({ state: "detached" });

    await card(page, ids["ready"]!).focus();
    await page.keyboard.press("Enter");
    await page.locator(`[data-testid=drawer][data-id="${ids["ready"]}"]`).waitFor();
    await page.keyboard.press("Escape");
    await page.locator("[data-testid=drawer]").waitFor({ state: "detached" });
    await until("the focus back on the card", async () => (await focused()) === ids["ready"]);
    d.assertNoErrors();
  },
);

scenario("in lanes, a drop in another lane reassigns the task", async (browser) => {
  await using d = await dashboard(browser, {
    seed: (home) => ({
      coder: create(home, "Index the events table", "--assignee", "coder"),
      writer: create(home, "Write the guide", "--assignee", "writer"),
    }),
  });
  const ids = d.seeded;
  const { page } = d;
  await page.locator("[data-testid=toggle-lanes]").click();
  const cell = (lane: string, status: string) =>
    page.locator(
      `[data-testid=lane][data-assignee="${lane}"] [data-testid=cell][data-status="${status}"]`,
    );
  const inCell = (lane: string, status: string, id: string) =>
    cell(lane, status).locator(`[data-testid=card][data-id="${id}"]`);
  await inCell("coder", "ready", ids["coder"]!).waitFor();

  await card(page, ids["coder"]!).dragTo(cell("writer", "ready"));
  await inCell("writer", "ready", ids["coder"]!).waitFor();
  const moved = show(d.home, ids["coder"]!).task;
  assert.deepEqual([moved.assignee, moved.status], ["writer", "ready"]);

  await cell("", "blocked").scrollIntoViewIfNeeded();
  await card(page, ids["writer"]!).dragTo(cell("", "blocked"));
  await answerPrompt(page, "Who writes it?");
  await inCell("", "blocked", ids["writer"]!).waitFor();
  const blocked = show(d.home, ids["writer"]!).task;
  assert.deepEqual([blocked.assignee, blocked.status, blocked.blocked_reason], [
    null,
    "blocked",
    "Who writes it?",
  ]);
  d.assertNoErrors();
});

scenario("screenshots: the board, the drawer, lanes and the dark theme", async (browser) => {
  for (const name of ["board", "drawer", "lanes", "dark"]) {
    rmSync(join(SCREENSHOTS, `${name}.png`), { force: true });
  }
  await using d = await dashboard(browser, { seed: seedBoard });
  const ids = d.seeded;
  const { page } = d;
  await page.setViewportSize({ width: 2000, height: 1000 }); // every column on screen
  const board = await d.api<{ columns: { status: string; count: number }[] }>(
    "GET",
    "/api/v1/board",
  );
  for (const s of STATUSES) {
    const expected = board.columns.find((c) => c.status === s)?.count;
    assert.ok(expected !== undefined && expected > 0, `the seed put nothing in ${s}`);
    assert.equal(await count(page, s), expected, `the ${s} column's count`);
    assert.equal(await column(page, s).locator("[data-testid=card]").count(), expected);
  }
  await page.locator("[data-testid=health][data-state=down]").waitFor();
  await d.screenshot("board");

  const drawer = await openDrawer(page, ids["schema"]!);
  await drawer.locator("[data-testid=comment]").waitFor();
  await drawer.locator(`[data-testid=child][data-id="${ids["api"]}"]`).waitFor();
  await d.screenshot("drawer");
  await page.keyboard.press("Escape");
  await drawer.waitFor({ state: "detached" });
  const running = await openDrawer(page, ids["running"]!);
  await running.locator("[data-testid=run]").first().waitFor();
  assert.equal(await running.locator("[data-testid=run]").count(), 1, "the claim's one run");
  await running.locator("[data-testid=drawer-close]").click();
  await running.waitFor({ state: "detached" });

  await page.locator("[data-testid=toggle-lanes]").click();
  await page.locator("[data-testid=lane][data-assignee=coder]").first().waitFor();
  await page.locator('[data-testid=lane][data-assignee=""]').first().waitFor();
  await d.screenshot("lanes");
  await page.locator("[data-testid=toggle-lanes]").click();
  await page.locator("[data-testid=lane]").first().waitFor({ state: "detached" });

  const theme = () => page.evaluate(() => document.documentElement.dataset["theme"] ?? null);
  assert.notEqual(await theme(), "dark", "the page starts light (colour scheme: light)");
  await page.locator("[data-testid=toggle-theme]").click();
  await until("html[data-theme=dark]", async () => (await theme()) === "dark");
  await d.screenshot("dark");
  for (const name of ["board", "drawer", "lanes", "dark"]) {
    const file = join(SCREENSHOTS, `${name}.png`);
    assert.ok(existsSync(file) && statSync(file).size > 10_000, `${file} was not written`);
  }
  d.assertNoErrors();
});
