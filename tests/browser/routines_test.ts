/**
 * The dashboard's health bar shows the board's routines: how many, the next to fire and when,
 * the paused ones counted; its hover lists each with its next time. The stats view lists them
 * with Pause, Resume and Run now. Real Chromium against the real binary.
 */
import assert from "node:assert/strict";
import { dashboard, launchBrowser, until } from "./_browser.ts";

Deno.test("dashboard: the health bar shows the routines with the next one and when it fires", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      const add = (...args: string[]) => {
        const r = home.kanban(["routine", "add", ...args]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      };
      // every minute: always the next to fire; the yearly one comes later; one paused
      add("sweep", "--cron", "* * * * *", "--tz", "UTC", "--title", "Sweep");
      add("yearly", "--cron", "@yearly", "--tz", "Europe/Paris", "--title", "Yearly review");
      add("nightly", "--cron", "@daily", "--tz", "UTC", "--title", "Nightly");
      assert.equal(home.kanban(["routine", "pause", "nightly"]).code, 0);
    },
  });
  const note = d.page.locator("[data-testid=routines]");
  await note.waitFor({ state: "visible" });
  const text = (await note.textContent())!.replace(/\s+/g, " ").trim();
  assert.match(text, /^3 routines · next sweep in [01]m · 1 paused$/);
  assert.equal(await d.page.locator("[data-testid=routine-next]").textContent(), "sweep");
  const title = (await note.getAttribute("title"))!.split("\n");
  assert.deepEqual(title.map((l) => l.replace(/: .*\(/, ": (")), [
    "sweep: (* * * * *, UTC)",
    "yearly: (@yearly, Europe/Paris)",
    "nightly: (@daily, UTC)",
  ]);
  assert.match(title[2]!, /^nightly: paused /);
  // removing a routine shows at the next health poll (5 s)
  assert.equal(d.home.kanban(["routine", "remove", "sweep"]).code, 0);
  await d.page.locator("[data-testid=routines]", { hasText: "2 routines" }).waitFor({
    timeout: 15_000,
  });
  assert.equal(await d.page.locator("[data-testid=routine-next]").textContent(), "yearly");
  d.assertNoErrors();
});

Deno.test("dashboard: the stats view pauses, resumes and runs a routine now", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      const r = home.kanban([
        "routine",
        "add",
        "nightly",
        "--cron",
        "@daily",
        "--tz",
        "UTC",
        "--title",
        "Nightly sweep",
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    },
  });
  const { page, home } = d;
  const routine = () =>
    home.json<{ name: string; paused: boolean; fired: number }[]>(["routine", "list"])[0]!;
  await page.locator("[data-testid=view-stats]").click();
  const row = page.locator("[data-testid=routine][data-name=nightly]");
  await row.waitFor({ state: "visible", timeout: 15_000 });
  assert.match((await row.textContent())!, /nightly\s*@daily \(UTC\)/);
  assert.match((await row.locator("[data-testid=routine-when]").textContent())!, /^next /);
  assert.match((await row.textContent())!, /never fired/);

  await row.locator("[data-testid=routine-pause]").click();
  await row.locator("[data-testid=routine-resume]").waitFor({ timeout: 15_000 });
  assert.equal(await row.locator("[data-testid=routine-when]").textContent(), "paused");
  assert.equal(routine().paused, true, "paused on the board");

  // a paused routine runs now all the same: one occurrence, its task made once
  await row.locator("[data-testid=routine-run]").click();
  await until(
    "the task it made",
    () => home.json<{ title: string }[]>(["list"]).some((t) => t.title === "Nightly sweep"),
  );
  await page.locator(".toast", { hasText: "nightly fired: 1 task created" }).waitFor();
  assert.equal(home.json<unknown[]>(["list"]).length, 1);
  await until("its last time", async () => /last fired /.test((await row.textContent())!));

  await row.locator("[data-testid=routine-resume]").click();
  await row.locator("[data-testid=routine-pause]").waitFor({ timeout: 15_000 });
  assert.equal(routine().paused, false, "resumed on the board");
  d.assertNoErrors();
});
