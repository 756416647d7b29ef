/// <reference lib="dom" />
/**
 * Review in the drawer, in headless Chromium against the compiled binary and a real git
 * worktree: a worktree task in review shows its branch, base, files and unified diff; a file
 * collapses; a person comments on a line (by mouse and by keyboard) and on a file, and
 * "Request changes" sends the task back with one comment that quotes the diff lines; another
 * task is approved; a scratch task shows the artifacts its worker listed. The drawer widens for
 * a diff, and a long line scrolls inside its file, not the page.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { prepareWorkspace } from "../../lib/workspace/workspace.ts";
import type { BinaryHome } from "../e2e/_binary.ts";
import { makeRepo, work, worktreeConfig } from "../review/_repo.ts";
import { type Dash, dashboard, launchBrowser, until } from "./_browser.ts";

interface Detail {
  task: { status: string };
  comments: { body: string }[];
}

/** reviewTask makes a worktree task in review whose worktree holds a worker's changes. */
function reviewTask(home: BinaryHome, repo: string, title: string): string {
  const id = home.json<{ id: string }>(["create", title, "--workspace", "worktree", "--review"]).id;
  const wt = prepareWorkspace("worktree", id, {
    root: join(home.home, "workspaces", "default"),
    repository: repo,
  });
  work(wt);
  // One long line: it must scroll inside its file, not widen the page.
  writeFileSync(join(wt, "wide.txt"), `${"a long line ".repeat(80)}end\n`);
  const r = home.kanban(["complete", id, "--summary", "edited app.ts"]);
  assert.equal(r.code, 0, r.stderr);
  return id;
}

function seedTwo(home: BinaryHome): { first: string; second: string } {
  const repo = makeRepo(home.home);
  writeFileSync(join(home.home, "config.toml"), worktreeConfig(repo));
  return { first: reviewTask(home, repo, "Edit the app"), second: reviewTask(home, repo, "Tidy") };
}

async function openDrawer(page: Page, id: string): Promise<Locator> {
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  await drawer.waitFor({ state: "visible" });
  return drawer;
}

function detail(d: Dash<unknown>, id: string): Promise<Detail> {
  return d.api<Detail>("GET", `/api/v1/tasks/${id}`);
}

function fileOf(drawer: Locator, path: string): Locator {
  return drawer.locator(`[data-testid=diff-file][data-path="${path}"]`);
}

function scenario(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test(`review: ${name}`, async () => {
    await using browser = await launchBrowser();
    await fn(browser);
  });
}

scenario(
  "a worktree task in review shows branch, files and diff; line and file comments go back with Request changes",
  async (browser) => {
    await using d = await dashboard(browser, { seed: seedTwo });
    const { page } = d;
    const id = d.seeded.first;
    const drawer = await openDrawer(page, id);
    const changes = drawer.locator("[data-testid=changes]");
    await changes.locator("[data-testid=diff-summary]").waitFor();
    assert.equal(await changes.locator("[data-testid=diff-branch]").textContent(), `kanban/${id}`);
    assert.match(
      (await changes.locator("[data-testid=diff-base]").textContent())!,
      /^[0-9a-f]{10}$/,
    );
    assert.deepEqual(
      await changes.locator("[data-testid=diff-file]").evaluateAll((els) =>
        els.map((e) => (e as HTMLElement).dataset["path"])
      ),
      ["app.ts", "gone.txt", "image.bin", "new.txt", "renamed.txt", "wide.txt"],
    );
    const app = fileOf(changes, "app.ts");
    const added = app.locator("tr.dl-add td.code", { hasText: "THREE" });
    assert.equal(await added.count(), 1);

    // Collapse a file and open it again.
    const toggle = app.locator("[data-testid=diff-toggle]");
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    await toggle.click();
    assert.equal(await toggle.getAttribute("aria-expanded"), "false");
    assert.equal(await app.locator("[data-testid=diff-table]").count(), 0);
    await toggle.click();
    await app.locator("[data-testid=diff-table]").waitFor();

    // Wide: the drawer grows; the long line scrolls inside its file, not the page.
    const narrow = (await drawer.boundingBox())!.width;
    await changes.locator("[data-testid=drawer-wide]").click();
    await until(
      "the drawer is wide",
      async () => (await drawer.boundingBox())!.width > narrow + 300,
    );
    const scroll = await fileOf(changes, "wide.txt").locator(".diff-scroll").evaluate((el) => ({
      inner: el.scrollWidth > el.clientWidth,
      page: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    }));
    assert.deepEqual(scroll, { inner: true, page: false });

    // A line comment by mouse; typing in it fires no shortcut (t would switch the theme).
    const theme = await page.evaluate(() => document.documentElement.dataset["theme"]);
    await app.locator("[data-testid=line-comment][data-line='3'][data-side=new]").click();
    const input = app.locator("[data-testid=review-comment-input]");
    await input.waitFor();
    assert.equal(await input.evaluate((el) => el === document.activeElement), true);
    await page.keyboard.type("keep three lower case");
    await app.locator("[data-testid=review-comment-add]").click();
    await app.locator("[data-testid=draft-inline]", { hasText: "keep three lower case" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset["theme"]), theme);

    // A comment on a deleted line by keyboard: focus its number, Enter, type, Ctrl+Enter.
    await app.locator("[data-testid=line-comment][data-line='2'][data-side=old]").focus();
    await page.keyboard.press("Enter");
    await input.waitFor();
    await page.keyboard.type("why drop the word?");
    await page.keyboard.press("Control+Enter");
    await app.locator("[data-testid=draft-inline]", { hasText: "why drop the word?" }).waitFor();

    // Escape in an editor closes the editor, not the drawer.
    await app.locator("[data-testid=line-comment][data-line='6']").click();
    await input.waitFor();
    await page.keyboard.press("Escape");
    await input.waitFor({ state: "detached" });
    assert.equal(await drawer.isVisible(), true);

    // A file comment.
    const newFile = fileOf(changes, "new.txt");
    await newFile.locator("[data-testid=file-comment]").click();
    await page.keyboard.type("this file is not needed");
    await page.keyboard.press("Control+Enter");
    const bar = changes.locator("[data-testid=review-bar]");
    await until(
      "three comments wait",
      async () => (await bar.locator("[data-testid=draft]").count()) === 3,
    );
    assert.equal(await bar.locator("[data-testid=review-approve]").isDisabled(), true);
    await d.screenshot("review-light");
    await page.keyboard.press("t"); // the focus is on no field now: the theme switches
    await d.screenshot("review-dark");

    await bar.locator("[data-testid=review-reason]").fill("Nearly there");
    await bar.locator("[data-testid=review-request-changes]").click();
    await until("the task left review", async () => (await detail(d, id)).task.status !== "review");
    const task = await detail(d, id);
    assert.equal(task.task.status, "ready");
    assert.equal(task.comments.length, 1);
    const body = task.comments[0]!.body;
    assert.match(body, /^Review rejected: Nearly there\n\nComments on the changes \(3\):/);
    assert.match(
      body,
      /`app\.ts` line 3:\n\n> ```diff\n> -three\n> \+2\n> \+THREE\n> ```\n\nkeep three lower case/,
    );
    assert.match(
      body,
      /`app\.ts` old line 2:\n\n> ```diff\n> {2}one\n> -two\n> ```\n\nwhy drop the word\?/,
    );
    assert.match(body, /`new\.txt`:\n\nthis file is not needed/);
    await until(
      "the drawer shows the new status",
      async () => (await drawer.locator("[data-testid=drawer-status]").textContent()) !== "Review",
    );
    assert.equal(await changes.locator("[data-testid=review-bar]").count(), 0);
    await drawer.locator("[data-testid=comment-body]", { hasText: "keep three lower case" })
      .waitFor();
    d.assertNoErrors();
  },
);

scenario("Approve sends a task with no comments to done", async (browser) => {
  await using d = await dashboard(browser, { seed: seedTwo });
  const id = d.seeded.second;
  const drawer = await openDrawer(d.page, id);
  const approve = drawer.locator("[data-testid=review-approve]");
  await approve.waitFor();
  await approve.click();
  await until("the task is done", async () => (await detail(d, id)).task.status === "done");
  assert.equal((await detail(d, id)).comments.length, 0);
  // The diff stays readable after the review.
  await drawer.locator("[data-testid=diff-file][data-path='app.ts']").waitFor();
  d.assertNoErrors();
});

scenario("a task without a worktree shows the artifacts its worker listed", async (browser) => {
  await using d = await dashboard(browser, {
    seed: (home) => {
      const id = home.json<{ id: string }>(["create", "Write the report"]).id;
      const ws = prepareWorkspace("scratch", id, {
        root: join(home.home, "workspaces", "default"),
      });
      writeFileSync(join(ws, "report.md"), "# Findings\n\nAll good.\n");
      const metadata = JSON.stringify({
        artifacts: [{ path: "report.md", description: "the report" }, "/etc/hostname", "gone.txt"],
      });
      const r = home.kanban(["complete", id, "--summary", "wrote it", "--metadata", metadata]);
      assert.equal(r.code, 0, r.stderr);
      return id;
    },
  });
  const { page } = d;
  await page.locator("[data-testid=toggle-done], [data-testid=column][data-status=done]").first()
    .waitFor();
  const drawer = await openDrawer(page, d.seeded);
  const list = drawer.locator("[data-testid=artifacts]");
  await list.waitFor();
  assert.equal(await drawer.locator("[data-testid=changes]").count(), 0, "no diff for scratch");
  const rows = list.locator("[data-testid=artifact]");
  assert.equal(await rows.count(), 3);
  const report = list.locator("[data-testid=artifact][data-path='report.md']");
  assert.match((await report.textContent())!, /the report/);
  assert.match((await list.locator("[data-path='gone.txt']").textContent())!, /missing/);
  assert.match(
    (await list.locator("[data-path='/etc/hostname']").textContent())!,
    /outside the workspace/,
  );
  assert.equal(
    await list.locator("[data-path='/etc/hostname'] [data-testid=artifact-view]").count(),
    0,
  );
  await report.locator("[data-testid=artifact-view]").click();
  const text = report.locator("[data-testid=artifact-text]");
  await text.waitFor();
  assert.equal(await text.textContent(), "# Findings\n\nAll good.\n");
  d.assertNoErrors();
});
