/// <reference lib="dom" />
/**
 * The inbox view in headless Chromium against the compiled binary: what waits on a person is
 * listed oldest wait first with its kind, answered in place (reply and unblock, approve,
 * reject, promote), and kept live by the event stream; the Inbox tab shows the count. What
 * the answers did is read from the board through the API.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { BinaryHome } from "../e2e/_binary.ts";
import { type Dash, dashboard, launchBrowser, until } from "./_browser.ts";

/** A person's typing speed. */
const HUMAN = { delay: 40 };

interface Detail {
  task: { status: string; assignee: string | null; blocked_reason: string | null };
  comments: { author: string; body: string }[];
}

function create(home: BinaryHome, title: string, ...flags: string[]): string {
  return home.json<{ id: string }>(["create", title, ...flags]).id;
}

function run(home: BinaryHome, ...args: string[]): void {
  const r = home.kanban(args);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
}

function detail(d: Dash<unknown>, id: string): Promise<Detail> {
  return d.api<Detail>("GET", `/api/v1/tasks/${id}`);
}

/** One task of each kind; they entered their statuses in another order than they were made. */
function threeKinds(home: BinaryHome): { asks: string; checked: string; idea: string } {
  const asks = create(home, "Pick the region", "--assignee", "coder");
  const checked = create(home, "Write the changelog", "--review");
  const idea = create(home, "Try a cache", "--triage");
  run(home, "complete", checked, "--summary", "Wrote it: **three** sections.");
  run(home, "block", asks, "Which region: **eu** or us?");
  return { asks, checked, idea };
}

/** items lists the inbox's items as [title, kind], in the order shown. */
function items(page: Page): Promise<string[][]> {
  return page.locator("[data-testid=inbox-item]").evaluateAll((els) =>
    els.map((el) => [
      el.querySelector("[data-testid=inbox-title]")?.textContent ?? "",
      (el as HTMLElement).dataset["kind"] ?? "",
    ])
  );
}

/** tabCount reads the Inbox tab's count, null when it shows none (one read: it may go meanwhile). */
function tabCount(page: Page): Promise<string | null> {
  return page.evaluate(() =>
    document.querySelector("[data-testid=view-inbox] [data-testid=inbox-count]")?.textContent ??
      null
  );
}

async function openInbox(page: Page): Promise<void> {
  await page.keyboard.press("i");
  await page.locator("[data-testid=inbox][aria-busy=false]").waitFor();
}

function item(page: Page, id: string) {
  return page.locator(`[data-testid=inbox-item][data-id="${id}"]`);
}

function scenario(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test(`inbox: ${name}`, async () => {
    await using browser = await launchBrowser();
    await fn(browser);
  });
}

scenario(
  "the three kinds are listed oldest wait first, with the tab count; the title opens the drawer",
  async (browser) => {
    await using d = await dashboard(browser, { seed: threeKinds });
    const { page } = d;
    const { asks, checked, idea } = d.seeded;
    await until("the tab count", async () => (await tabCount(page)) === "3");
    await openInbox(page);
    assert.match(page.url(), /[?&]view=inbox\b/);
    assert.deepEqual(await items(page), [
      ["Try a cache", "triage"],
      ["Write the changelog", "review"],
      ["Pick the region", "question"],
    ]);
    assert.equal(
      await page.locator("[data-testid=inbox-summary]").textContent(),
      "1 question · 1 review · 1 in triage",
    );
    // The question and the handoff as markdown; the answer each kind takes
    const question = item(page, asks);
    assert.equal(await question.locator("[data-testid=inbox-question] strong").textContent(), "eu");
    assert.equal(await question.locator(".chip").first().textContent(), "coder");
    assert.match(
      await question.locator("[data-testid=inbox-age]").textContent() ?? "",
      /^waiting \d+s$/,
    );
    assert.equal(await question.locator("[data-testid=reply-submit]").isDisabled(), true);
    const review = item(page, checked);
    assert.equal(
      await review.locator("[data-testid=inbox-handoff] strong").textContent(),
      "three",
    );
    assert.equal(await review.locator("[data-testid=inbox-approve]").count(), 1);
    assert.equal(await item(page, idea).locator("[data-testid=inbox-promote]").count(), 1);
    assert.equal(await item(page, idea).locator("[data-testid=reply-input]").count(), 0);
    await d.screenshot("inbox");
    await page.keyboard.press("t");
    await page.locator("html[data-theme=dark]").waitFor({ state: "attached" });
    await d.screenshot("inbox-dark");
    await page.keyboard.press("t");

    // The title opens the drawer; the inbox stays behind it
    await review.locator("[data-testid=inbox-title]").click();
    await page.locator(`[data-testid=drawer][data-id="${checked}"]`).waitFor();
    assert.match(page.url(), new RegExp(`task=${checked}`));
    await page.keyboard.press("Escape");
    await page.locator("[data-testid=drawer]").waitFor({ state: "hidden" });

    // A phone: one column, nothing wider than the screen, the answers still there
    await page.setViewportSize({ width: 390, height: 844 });
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      inbox: document.querySelector("[data-testid=inbox]")!.scrollWidth,
    }));
    assert.ok(widths.page <= 390 && widths.inbox <= 390, JSON.stringify(widths));
    await question.locator("[data-testid=reply-input]").waitFor({ state: "visible" });
    const box = (await question.boundingBox())!;
    assert.ok(box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
    await d.screenshot("inbox-phone");
    d.assertNoErrors();
  },
);

scenario(
  "a reply typed in place unblocks the task with Ctrl+Enter, its comment is there, no shortcut fires",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        const first = create(home, "Choose the port");
        const second = create(home, "Name the bucket");
        run(home, "block", first, "Which port?");
        run(home, "block", second, "Which name?");
        return { first, second };
      },
    });
    const { page } = d;
    const { first, second } = d.seeded;
    await openInbox(page);
    await until("the tab count", async () => (await tabCount(page)) === "2");
    const theme = await page.evaluate(() => document.documentElement.dataset["theme"]);
    const field = item(page, first).locator("[data-testid=reply-input]");
    await field.click();
    // b, i, s, l, t, r, c, j, k, x and ? are shortcuts outside a field
    const answer = "Use 8080: it is best, skip the rest? (check with jk later, x)";
    await page.keyboard.type(answer, HUMAN);
    assert.equal(await field.inputValue(), answer, "every key reached the field");
    assert.match(page.url(), /view=inbox/, "a key typed in the reply switched the view");
    assert.equal(await page.evaluate(() => document.documentElement.dataset["theme"]), theme);
    assert.equal(await page.locator("[data-testid=inbox]").count(), 1);
    assert.equal((await detail(d, first)).task.status, "blocked", "sent before Ctrl+Enter");

    await page.keyboard.press("Control+Enter");
    const done = await until("the task unblocked", async () => {
      const t = await detail(d, first);
      return t.task.status !== "blocked" && t;
    });
    assert.equal(done.task.status, "ready");
    assert.equal(done.task.blocked_reason, null);
    assert.deepEqual(done.comments.map((c) => c.body), [answer]);
    assert.ok(done.comments[0]!.author.length > 0);
    await item(page, first).waitFor({ state: "detached" });
    await until("the tab count", async () => (await tabCount(page)) === "1");
    assert.deepEqual(await items(page), [["Name the bucket", "question"]]);

    // The button does the same; the answer is kept as typed (markdown)
    const other = item(page, second);
    await other.locator("[data-testid=reply-input]").fill("**data-eu**");
    await other.locator("[data-testid=reply-submit]").click();
    await until("the second task unblocked", async () => {
      const t = await detail(d, second);
      return t.task.status === "ready" && t.comments[0]?.body === "**data-eu**";
    });
    await page.locator("[data-testid=inbox-empty]").waitFor();
    assert.equal(await tabCount(page), null, "an empty inbox shows no count");
    d.assertNoErrors();
  },
);

scenario(
  "a review is approved or rejected, and a triage task promoted with an assignee, from the inbox",
  async (browser) => {
    await using d = await dashboard(browser, {
      seed: (home) => {
        writeFileSync(
          join(home.home, "config.toml"),
          '[profiles.coder]\ncommand = ["/bin/true"]\n\n[profiles.writer]\ncommand = ["/bin/true"]\n',
        );
        const good = create(home, "Good work", "--review");
        const poor = create(home, "Poor work", "--review");
        const idea = create(home, "An idea", "--triage");
        run(home, "complete", good, "--summary", "done well");
        run(home, "complete", poor, "--summary", "done badly");
        return { good, poor, idea };
      },
    });
    const { page } = d;
    const { good, poor, idea } = d.seeded;
    await openInbox(page);

    await item(page, good).locator("[data-testid=inbox-approve]").click();
    await until("approved", async () => (await detail(d, good)).task.status === "done");
    await item(page, good).waitFor({ state: "detached" });

    await item(page, poor).locator("[data-testid=inbox-reject]").click();
    const prompt = page.locator("[data-testid=prompt]");
    await prompt.waitFor();
    await prompt.locator("[data-testid=prompt-input]").fill("Add the tests");
    await prompt.locator("[data-testid=prompt-ok]").click();
    const rejected = await until("rejected", async () => {
      const t = await detail(d, poor);
      return t.task.status === "ready" && t;
    });
    assert.deepEqual(rejected.comments.map((c) => c.body), ["Review rejected: Add the tests"]);
    await item(page, poor).waitFor({ state: "detached" });

    const triage = item(page, idea);
    const assignee = triage.locator("[data-testid=promote-assignee]");
    const offered = await until("the profiles offered", async () => {
      const values = await triage.locator("datalist option").evaluateAll((els) =>
        els.map((el) => (el as HTMLOptionElement).value)
      );
      return values.includes("writer") && values;
    });
    assert.deepEqual(offered, ["coder", "writer"]);
    await assignee.fill("writer");
    await triage.locator("[data-testid=inbox-promote]").click();
    const promoted = await until("promoted", async () => {
      const t = await detail(d, idea);
      return t.task.status !== "triage" && t;
    });
    assert.deepEqual([promoted.task.status, promoted.task.assignee], ["ready", "writer"]);
    await page.locator("[data-testid=inbox-empty]").waitFor();
    assert.match(
      await page.locator("[data-testid=inbox-empty]").textContent() ?? "",
      /Nothing is waiting on you/,
    );
    d.assertNoErrors();
  },
);

scenario(
  "live: a task blocked elsewhere appears without a reload, a comment shows, an unblock removes it",
  async (browser) => {
    await using d = await dashboard(browser, { seed: (home) => create(home, "Deploy") });
    const { page, home } = d;
    const id = d.seeded;
    await openInbox(page);
    await page.locator("[data-testid=inbox-empty]").waitFor();
    await page.locator("[data-testid=live][data-state=connected]").waitFor();

    run(home, "block", id, "Which cluster?");
    await item(page, id).waitFor({ timeout: 5000 });
    assert.equal(await item(page, id).getAttribute("data-kind"), "question");
    await until("the tab count", async () => (await tabCount(page)) === "1");

    run(home, "comment", id, "Still waiting on ops", "--author", "bob");
    const last = item(page, id).locator("[data-testid=inbox-last-comment]");
    await last.waitFor({ timeout: 5000 });
    assert.match(await last.textContent() ?? "", /Last comment by bob.*Still waiting on ops/s);

    // A task blocked while another view is shown counts on the tab too, read as a count only
    await page.keyboard.press("b");
    await page.locator("[data-testid=board]").waitFor();
    const asked: string[] = [];
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (u.pathname === "/api/v1/inbox") asked.push(u.searchParams.get("limit") ?? "");
    });
    const other = create(home, "Rotate keys");
    run(home, "block", other, "Which vault?");
    await until("the tab count", async () => (await tabCount(page)) === "2");
    assert.ok(asked.length > 0, "the board's change read the inbox's count");
    assert.deepEqual([...new Set(asked)], ["1"], "outside its view, one item is asked for");

    run(home, "unblock", id);
    run(home, "unblock", other);
    await until("the tab count gone", async () => (await tabCount(page)) === null);
    await openInbox(page);
    await page.locator("[data-testid=inbox-empty]").waitFor();
    d.assertNoErrors();
  },
);
