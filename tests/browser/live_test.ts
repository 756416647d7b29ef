/// <reference lib="dom" />
/**
 * The dashboard beside a real dispatcher: the health bar, a worker's log while it runs, the
 * run history afterwards; and the page's states when the server goes away.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { AGENTS } from "../dispatch/_harness.ts";
import { BINARY } from "../e2e/_binary.ts";
import { dashboard, launchBrowser, until } from "./_browser.ts";
import { MACHINE_OFF } from "../_setup.ts";

/** dispatcher starts `dist/kanban dispatch` on `home`; stop() ends it with SIGTERM. */
function dispatcher(home: string, env: Record<string, string>) {
  const child: ChildProcess = spawn(BINARY, ["dispatch"], {
    env: { PATH: "/usr/bin:/bin", HOME: home, KANBAN_HOME: home, USER: "e2e", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    output: () => err,
    async [Symbol.asyncDispose]() {
      // Deno's ChildProcess.kill() does not deliver a catchable SIGTERM: signal the pid.
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGTERM");
      await exited;
    },
  };
}

Deno.test("dashboard: a dispatcher's worker shows live in the drawer, then in the run history", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      writeFileSync(
        join(home.home, "config.toml"),
        `[dispatch]\n${MACHINE_OFF}[profiles.coder]\ncommand = ["${join(AGENTS, "chatty.sh")}"]\n`,
      );
      return home.json<{ id: string }>(["create", "Print a while", "--assignee", "coder"]).id;
    },
  });
  const id = d.seeded;
  const { page } = d;
  const health = page.locator("[data-testid=health]");
  await health.locator("text=No dispatcher is running").waitFor();
  assert.equal(await health.getAttribute("data-state"), "down");

  await using worker = dispatcher(d.home.home, { LINES_OUT: "40" });
  await page.locator("[data-testid=health][data-state=ok]").waitFor({ timeout: 10_000 });
  await page.locator(`[data-testid=column][data-status=running] [data-id="${id}"]`).waitFor();
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  const log = drawer.locator("[data-testid=run-log]");
  const lines = async () => ((await log.textContent()) ?? "").match(/^line \d+:/gm)?.length ?? 0;
  const first = await until("the worker's first lines in the drawer", async () => {
    const n = await lines();
    return n > 0 && n < 30 && n;
  }, 8000);
  // The log grows while the run is open, without touching the page.
  await until("more lines while the worker runs", async () => (await lines()) >= first + 5, 8000);
  assert.match(await drawer.locator("[data-testid=drawer-status]").textContent() ?? "", /Running/);
  assert.equal(await drawer.locator("[data-testid=run]").count(), 1);
  assert.match((await drawer.locator("[data-testid=run]").textContent()) ?? "", /running/);

  await drawer.locator("[data-testid=drawer-status]", { hasText: "Done" }).waitFor({
    timeout: 15_000,
  });
  const run = drawer.locator("[data-testid=run]");
  // The exit code comes a moment after the outcome (when the dispatcher reaps the worker).
  const text = await until("the run's outcome and exit code", async () => {
    const t = (await run.textContent()) ?? "";
    return /completed/.test(t) && /exit code/.test(t) && t;
  });
  assert.match(text, /coder/, "the profile");
  assert.match(text, /printed 40 lines/, "the summary");
  assert.match(text, /exit code 0/);
  await until("the whole log", async () => /line 39:/.test((await log.textContent()) ?? ""));
  await page.locator(`[data-testid=column][data-status=done] [data-id="${id}"]`).waitFor();
  assert.equal(worker.output().includes("error"), false, worker.output());
  d.assertNoErrors();
});

Deno.test("dashboard: when the server goes away the page says so and keeps the board", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => home.json<{ id: string }>(["create", "Still here"]).id,
  });
  const id = d.seeded;
  const { page } = d;
  await page.locator("[data-testid=live][data-state=connected]").waitFor();
  await d.stopServer();
  await page.locator("[data-testid=live][data-state=reconnecting]").waitFor({ timeout: 8000 });
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("r");
  const error = page.locator("[data-testid=board-error]");
  await error.waitFor();
  assert.match((await error.textContent()) ?? "", /does not answer/);
  await page.locator(`[data-testid=card][data-id="${id}"]`).waitFor();
  // The browser reports the event stream cut by the shutdown and the refused connections (its
  // retries and the board fetch):
  // they are what this scenario provokes, and nothing else may appear.
  d.assertNoErrors((e) =>
    e.kind === "console" &&
    /ERR_CONNECTION_REFUSED|ERR_INCOMPLETE_CHUNKED_ENCODING|Failed to fetch/.test(e.text)
  );
});
