import assert from "node:assert/strict";
import { setup } from "../_setup.ts";
import { add } from "../store/_helpers.ts";
import { AGENT_CAPS, runTool, TOOLS } from "../../lib/tools/mod.ts";
import { personDeps } from "./_mcp.ts";

Deno.test("list pages through the board with limit and offset; next_offset is null on the last page", async () => {
  await using b = setup();
  for (let i = 0; i < 7; i++) await add(b.store, `task ${i}`, { priority: i % 3 });
  const deps = personDeps(b.store);
  const all = (await runTool(TOOLS.list, deps, {})).tasks.map((t) => t.id);
  assert.equal(all.length, 7);
  const seen: string[] = [];
  const offsets: (number | null)[] = [];
  for (let offset: number | null = 0; offset !== null;) {
    const page: { tasks: { id: string }[]; next_offset: number | null } = await runTool(
      TOOLS.list,
      deps,
      { limit: 3, offset },
    );
    seen.push(...page.tasks.map((t) => t.id));
    offset = page.next_offset;
    offsets.push(offset);
  }
  assert.deepEqual(offsets, [3, 6, null]);
  assert.deepEqual(seen, all);
  const exact = await runTool(TOOLS.list, deps, { limit: 7 });
  assert.equal(exact.next_offset, null, "a page that ends exactly at the end is the last");
});

Deno.test("list with caps pages by default, refuses to exceed the largest page, and prints short rows", async () => {
  await using b = setup();
  for (let i = 0; i < 5; i++) await add(b.store, `task ${i}`, { body: "long ".repeat(100) });
  const caps = { ...AGENT_CAPS, pageSize: 2, maxPageSize: 3 };
  const deps = { ...personDeps(b.store), caps };
  const first = await runTool(TOOLS.list, deps, {});
  assert.equal(first.tasks.length, 2);
  assert.equal(first.next_offset, 2);
  const big = await runTool(TOOLS.list, deps, { limit: 100 });
  assert.equal(big.tasks.length, 3);
  assert.deepEqual(Object.keys(big.tasks[0]!), [
    "id",
    "title",
    "status",
    "assignee",
    "priority",
    "tenant",
    "updated_at",
  ]);
});

Deno.test("list filters by status, assignee, tenant and archived like the CLI", async () => {
  await using b = setup();
  const a = await add(b.store, "a", { assignee: "coder", tenant: "acme" });
  await add(b.store, "b", { assignee: "writer", triage: true });
  const c = await add(b.store, "c");
  await b.store.archive(c.id, { name: "alice" });
  const deps = personDeps(b.store);
  const ids = async (input: Record<string, unknown>) =>
    (await runTool(TOOLS.list, deps, input)).tasks.map((t) => t.title);
  assert.deepEqual(await ids({ assignee: "coder" }), ["a"]);
  assert.deepEqual(await ids({ tenant: "acme" }), ["a"]);
  assert.deepEqual(await ids({ status: ["triage"] }), ["b"]);
  assert.deepEqual(await ids({}), ["a", "b"]);
  assert.deepEqual(await ids({ archived: true }), ["a", "b", "c"]);
  assert.equal(a.status, "ready");
});
