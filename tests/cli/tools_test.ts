import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import { runTool, TOOLS } from "../../lib/tools/mod.ts";
import { cliHome, create } from "./_cli.ts";

interface ClaimJson {
  task: { id: string };
  run: { id: number };
  token: string;
}

Deno.test("show, list and stats print exactly what their tools return", async () => {
  using h = await cliHome();
  const a = await create(h, "schema", "--assignee", "coder", "--body", "tables");
  await create(h, "api", "--parent", a, "--tenant", "acme");
  await h.run(["comment", a, "looks good"]);
  using store = openStore(join(h.home, "boards", "default", "board.db"));
  const deps = { store, actor: { name: "tester" }, worker: null };
  const json = async (args: string[]) => JSON.parse((await h.run([...args, "--json"])).stdout);
  const norm = (v: unknown) => JSON.parse(JSON.stringify(v));
  assert.deepEqual(await json(["show", a]), norm(await runTool(TOOLS.show, deps, { id: a })));
  assert.deepEqual(await json(["list"]), norm((await runTool(TOOLS.list, deps, {})).tasks));
  assert.deepEqual(
    await json(["list", "--tenant", "acme"]),
    norm((await runTool(TOOLS.list, deps, { tenant: "acme" })).tasks),
  );
  // stats also says what the runs used (kanban stats --since for a window)
  const { usage, ...stats } = await json(["stats"]);
  assert.deepEqual(stats, norm(await runTool(TOOLS.stats, deps, {})));
  const { until: _, ...sums } = usage;
  const { until: __, ...expected } = norm(await store.usageStats());
  assert.deepEqual(sums, expected);
});

Deno.test("list --limit and --offset page through the tasks", async () => {
  using h = await cliHome();
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await create(h, `t${i}`));
  const page = async (...args: string[]) =>
    (await h.run(["list", ...args, "--json"])).json<{ id: string }[]>().map((t) => t.id);
  assert.deepEqual(await page("--limit", "2", "--offset", "2"), ids.slice(2, 4));
  assert.deepEqual(await page("--offset", "3"), ids.slice(3));
  assert.equal((await h.run(["list", "--offset", "-1"])).code, 2);
});

Deno.test("show prints, per run, the tasks the worker created", async () => {
  using h = await cliHome();
  const plan = await create(h, "plan", "--assignee", "planner");
  const c = (await h.run(["claim", "--json"])).json<ClaimJson>();
  // An empty KANBAN_TENANT (as a shell may leave it) means no tenant, like every KANBAN_* variable.
  const env = { KANBAN_TASK: plan, KANBAN_TOKEN: c.token, KANBAN_TENANT: "" };
  const child = await h.run(["create", "write docs", "--assignee", "writer", "--json"], env);
  assert.equal(child.code, 0, child.stdout + child.stderr);
  assert.equal(child.json()["tenant"], null);
  const shown = (await h.run(["show", plan, "--json"])).json<
    { runs: { id: number; created_tasks: { id: string; title: string }[] }[] }
  >();
  assert.deepEqual(shown.runs[0]!.created_tasks.map((t) => t.title), ["write docs"]);
  const text = (await h.run(["show", plan])).stdout;
  assert.match(
    text,
    new RegExp(`run ${c.run.id} created:\\n\\s+${child.json()["id"]}  ready  write docs`),
  );
});

Deno.test("inside a worker, link orders the run's own follow-ups and refuses other tasks", async () => {
  using h = await cliHome();
  const plan = await create(h, "plan");
  const stranger = await create(h, "stranger");
  const c = (await h.run(["claim", plan, "--json"])).json<ClaimJson>();
  const env = { KANBAN_TASK: plan, KANBAN_TOKEN: c.token };
  const one = (await h.run(["create", "one", "--json"], env)).json<{ id: string }>().id;
  const two = (await h.run(["create", "two", "--json"], env)).json<{ id: string }>().id;
  const ok = await h.run(["link", one, two, "--json"], env);
  assert.equal(ok.code, 0, ok.stdout);
  assert.deepEqual(ok.json(), { parent: one, child: two, changed: true, child_status: "todo" });
  const refused = await h.run(["link", one, stranger, "--json"], env);
  assert.equal(refused.code, 1);
  assert.equal(refused.json<{ error: { code: string } }>().error.code, "foreign_task");
  const t = (await h.run(["show", stranger, "--json"])).json<{ task: { status: string } }>();
  assert.equal(t.task.status, "ready");
});
