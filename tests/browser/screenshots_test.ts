/// <reference lib="dom" />
/**
 * The README's and docs/dashboard.md's pictures, taken from a board a person would recognise:
 * a week of work by three profiles (runs with usage), a diamond and a chain waiting, a question,
 * a worktree task in review. At 1366×768 (a laptop): the board, the review drawer, the inbox
 * and the stats view; at 390×844 (a phone): the board and the inbox. Each shot is also a check:
 * nothing scrolls sideways and what the shot is of is on the screen. The files land in
 * .test-tmp/screenshots/docs-*.png; copy them to docs/img/ after a visible change.
 */
import assert from "node:assert/strict";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { type Actor, openStore } from "../../lib/store/mod.ts";
import { prepareWorkspace } from "../../lib/workspace/workspace.ts";
import type { BinaryHome } from "../e2e/_binary.ts";
import { makeRepo, work, worktreeConfig } from "../review/_repo.ts";
import { BOARD_READY, dashboard, launchBrowser, SCREENSHOTS } from "./_browser.ts";

const LAPTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };
const DAY = 86_400_000;

const PERSON: Actor = { name: "ana" };
const DISPATCHER: Actor = { name: "dispatcher" };

/**
 * seed writes a week of history through the store with a clock that walks from seven days ago
 * to now, then the open work of today; returns the id of the task in review.
 */
async function seed(home: BinaryHome): Promise<string> {
  const { path } = home.json<{ path: string }>(["init"]);
  const repo = makeRepo(home.home);
  writeFileSync(
    join(home.home, "config.toml"),
    `${worktreeConfig(repo)}\n[profiles.claude]\npreset = "claude-code"\n\n` +
      `[profiles.codex]\npreset = "codex"\n\n[profiles.gemini]\npreset = "gemini"\n`,
  );
  let at = Date.now() - 7 * DAY;
  {
    using store = openStore(path, { clock: () => at });
    const profiles = ["claude", "codex", "gemini"];
    const jobs = [
      "Add rate limiting to the API",
      "Write the migration guide",
      "Fix the flaky login test",
      "Profile the search endpoint",
      "Upgrade the TLS library",
      "Translate the settings page",
      "Clean up feature flags",
      "Document the webhook retries",
    ];
    for (let day = 0; day < 7; day++) {
      for (let i = 0; i < 2 + (day * 3) % 5; i++) {
        const profile = profiles[(day + i) % 3]!;
        const title = jobs[(day * 3 + i) % jobs.length]!;
        const { task } = await store.createTask({ title, assignee: profile }, PERSON);
        at += 7 * 60_000 + i * 90_000;
        const claim = await store.claim({ taskId: task.id, leaseMs: 3_600_000 }, DISPATCHER);
        assert.ok(claim, `claim ${task.id}`);
        at += 12 * 60_000 + ((day + i) % 4) * 5 * 60_000;
        const worker = { name: profile, token: claim.token };
        const tokens = 20_000 + ((day * 7 + i * 13) % 9) * 6_000;
        const usage = {
          input_tokens: tokens,
          cache_read_tokens: tokens * 3,
          output_tokens: Math.round(tokens / 6),
          models: [profile === "claude" ? "claude-sonnet" : profile === "codex" ? "gpt" : "gemini"],
          ...(profile === "gemini" ? {} : { cost_usd: tokens / 90_000 }),
        };
        if (day === 2 && i === 1) {
          await store.block(task.id, "The staging database refuses the migration", worker);
        } else {
          await store.complete(task.id, { summary: `${title}: done, tests pass`, usage }, worker);
        }
      }
      at = Date.now() - (6 - day) * DAY;
    }
  }
  // Today, through the CLI as a person would.
  const create = (title: string, ...flags: string[]) =>
    home.json<{ id: string }>(["create", title, ...flags]).id;
  const ok = (...args: string[]) => {
    const r = home.kanban(args);
    assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stderr}`);
  };
  const schema = create("Design the billing schema", "-a", "claude", "--priority", "high");
  const api = create("Build the billing API", "-a", "codex", "--parent", schema);
  const ui = create("Build the billing page", "-a", "gemini", "--parent", schema);
  create("Billing end-to-end test", "-a", "codex", "--parent", api, "--parent", ui);
  create("Rotate the signing keys", "--not-before", "+6h");
  create("Try a cheaper model for triage", "--triage");
  create("Summarise last week's incidents", "-a", "claude", "--priority", "urgent");
  const running = create("Port the CSV export", "-a", "codex");
  ok("claim", running, "--lease", "1h");
  const question = create("Deploy the billing service", "-a", "claude");
  ok("block", question, "Which region should billing run in: eu-west or us-east?");

  const review = home.json<{ id: string }>([
    "create",
    "Refactor the retry helper",
    "-a",
    "claude",
    "--workspace",
    "worktree",
    "--review",
  ]).id;
  const wt = prepareWorkspace("worktree", review, {
    root: join(home.home, "workspaces", "default"),
    repository: repo,
  });
  work(wt);
  ok("complete", review, "--summary", "Retry helper takes a budget; callers updated");
  return review;
}

/** shot saves what the screen shows (not the whole page) as .test-tmp/screenshots/NAME.png. */
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  assert.ok(statSync(file).size > 10_000, `${file} is (nearly) empty`);
}

/** sideways is how far the page and the board scroll sideways (both 0 when everything fits). */
function sideways(page: Page): Promise<number> {
  return page.evaluate(() =>
    Math.max(
      document.documentElement.scrollWidth - document.documentElement.clientWidth,
      ...[...document.querySelectorAll<HTMLElement>("[data-testid=board]")].map((b) =>
        b.scrollWidth - b.clientWidth
      ),
    )
  );
}

Deno.test("screenshots: the board, review, inbox and stats at laptop and phone sizes", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, { seed });
  const { page } = d;
  await page.setViewportSize(LAPTOP);
  await page.locator(BOARD_READY).waitFor();
  await page.locator("[data-testid=card]").first().waitFor();
  assert.equal(await sideways(page), 0, "the laptop board fits");
  for (const s of ["blocked", "review", "todo", "ready", "running", "done"]) {
    const box = await page.locator(`[data-testid=column][data-status=${s}]`).boundingBox();
    assert.ok(box && box.x + box.width <= LAPTOP.width, `${s} is in view`);
  }
  await shot(page, "docs-board-laptop");

  // Review: the drawer, wide, on the worktree task's diff.
  await page.locator(`[data-testid=card][data-id="${d.seeded}"] [data-testid=card-title]`)
    .click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${d.seeded}"]`);
  await drawer.locator("[data-testid=diff-summary]").waitFor();
  await drawer.locator("[data-testid=drawer-wide]").click();
  await drawer.locator("[data-testid=changes]").scrollIntoViewIfNeeded();
  await shot(page, "docs-review-laptop");
  await page.keyboard.press("Escape");

  await page.locator("[data-testid=view-inbox]").click();
  await page.locator("[data-testid=inbox-item]").first().waitFor();
  assert.equal(await page.locator("[data-testid=inbox-item]").count(), 4);
  await shot(page, "docs-inbox-laptop");

  await page.locator("[data-testid=view-stats]").click();
  await page.locator("[data-testid=stats] canvas").first().waitFor();
  await page.waitForTimeout(300); // the plots draw on the next frame
  await shot(page, "docs-stats-laptop");

  await page.setViewportSize(PHONE);
  await page.locator("[data-testid=view-board]").click();
  await page.locator("[data-testid=card]").first().waitFor();
  assert.equal(await sideways(page), 0, "the phone board fits");
  await shot(page, "docs-board-phone");
  await page.locator("[data-testid=view-inbox]").click();
  await page.locator("[data-testid=inbox-item]").first().waitFor();
  assert.equal(await sideways(page), 0, "the phone inbox fits");
  await shot(page, "docs-inbox-phone");
  d.assertNoErrors();
});
