/// <reference lib="dom" />
/**
 * Decomposition in the drawer (docs/decompose.md): Decompose hands a triage task to the
 * orchestrator; once the orchestrator's plan waits for approval the drawer says so, and
 * Approve plan lets its tasks run. Real Chromium, the real `kanban serve`.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import { dashboard, launchBrowser, until } from "./_browser.ts";

interface Detail {
  task: { status: string; assignee: string | null };
}

Deno.test("drawer: Decompose hands a triage task to the orchestrator; Approve plan lets the plan run", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      writeFileSync(
        join(home.home, "config.toml"),
        '[decompose]\napproval = true\n[profiles.orchestrator]\ncommand = ["/bin/true"]\n' +
          '[profiles.coder]\ncommand = ["/bin/true"]\ndescription = "writes code"\n',
      );
      const { path } = home.json<{ path: string }>(["init"]);
      const id = home.json<{ id: string }>(["create", "Build the importer", "--triage"]).id;
      return { id, path };
    },
  });
  const { page } = d;
  const { id, path } = d.seeded;
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  await drawer.locator("[data-testid=action-decompose]").click();
  await until("the task queued for the orchestrator", async () => {
    const t = (await d.api<Detail>("GET", `/api/v1/tasks/${id}`)).task;
    return t.status === "ready" && t.assignee === "orchestrator";
  });
  await drawer.locator("[data-testid=action-decompose]").waitFor({ state: "detached" });

  // the orchestrator's worker submits its plan (as under kanban dispatch)
  {
    using store = openStore(path);
    const c = (await store.claim({ taskId: id }, { name: "dispatcher" }))!;
    await store.plan(id, {
      tasks: [
        { ref: "a", title: "Parse the files", assignee: "coder" },
        { ref: "b", title: "Load them", assignee: "coder", after: ["a"] },
      ],
    }, { name: "orchestrator-1", token: c.token });
  }
  const waiting = drawer.locator("[data-testid=plan-waiting]");
  await waiting.waitFor({ state: "visible", timeout: 15_000 });
  assert.equal(await waiting.textContent(), "Plan of 2 tasks waits for your approval");
  await drawer.locator("[data-testid=action-approve-plan]").click();
  await waiting.waitFor({ state: "detached", timeout: 15_000 });
  const tasks = await d.api<{ title: string; status: string }[]>("GET", "/api/v1/tasks");
  const first = tasks.find((t) => t.title === "Parse the files")!;
  assert.equal(first.status, "ready", "approved: the plan's first task may run");
  d.assertNoErrors();
});
