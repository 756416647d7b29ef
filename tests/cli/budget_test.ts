/**
 * `kanban budget add|list|remove` through the in-process CLI (docs/budgets.md): a budget added
 * with its scope and window, listed with what its window spent, refused by name when wrong,
 * refused inside a worker, shown by status.
 */
import assert from "node:assert/strict";
import { cliHome, create } from "./_cli.ts";

Deno.test("budget add, list, remove; status shows the budgets", async () => {
  using h = await cliHome();
  const add = await h.run([
    "budget",
    "add",
    "coder-5h",
    "--scope",
    "profile:coder",
    "--metric",
    "runs",
    "--cap",
    "2",
    "--window",
    "5h",
  ]);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout.trim(), "added hard budget coder-5h");
  const id = await create(h, "work", "--assignee", "coder");
  assert.equal((await h.run(["claim", id])).code, 0);
  const list = await h.run(["budget", "list"]);
  assert.match(list.stdout, /^coder-5h +profile:coder +runs +5h +1 +2 +hard +ok +-$/m);
  const json = (await h.run(["budget", "list", "--json"])).json<
    { name: string; spent: number; in_flight: number; hours: number }[]
  >();
  assert.deepEqual(
    json.map((b) => [b.name, b.spent, b.in_flight, b.hours]),
    [["coder-5h", 1, 1, 5]],
  );
  const status = await h.run(["status"]);
  assert.match(status.stdout, /^budgets:\n {2}coder-5h: 1 of 2 runs in the last 5 hours \(50%\)$/m);
  const removed = await h.run(["budget", "remove", "coder-5h"]);
  assert.equal(removed.stdout.trim(), "removed budget coder-5h");
  assert.equal((await h.run(["budget", "list"])).stdout.trim(), "no budgets");
});

Deno.test("bad budgets are refused naming what is wrong; a worker cannot add one", async () => {
  using h = await cliHome();
  const bad = async (args: string[], code: number, message: RegExp) => {
    const r = await h.run(["budget", "add", "x", ...args]);
    assert.equal(r.code, code, r.stdout + r.stderr);
    assert.match(r.stderr, message);
  };
  const ok = ["--metric", "runs", "--cap", "1", "--window", "day"];
  await bad(["--scope", "everything", ...ok], 2, /"everything" is not a scope/);
  await bad(
    ["--scope", "board", "--metric", "dollars", "--cap", "1", "--window", "day"],
    2,
    /"dollars" is not a metric/,
  );
  await bad(
    ["--scope", "board", "--metric", "runs", "--cap", "1", "--window", "fortnight"],
    2,
    /"fortnight" is not a window/,
  );
  await bad(
    ["--scope", "board", "--metric", "runs", "--cap", "-1", "--window", "day"],
    2,
    /cap must be above 0/,
  );
  await bad(
    ["--scope", "board", "--metric", "runs", "--cap", "1", "--window", "0h"],
    2,
    /hours must be at least 1/,
  );
  assert.equal((await h.run(["budget", "remove", "nope"])).code, 1);
  const id = await create(h, "mine", "--assignee", "coder");
  const token = (await h.run(["claim", id, "--json"])).json<{ token: string }>().token;
  const env = { KANBAN_TASK: id, KANBAN_TOKEN: token };
  const r = await h.run(["budget", "add", "x", "--scope", "board", ...ok], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /budgets cap the whole fleet's spending: a person sets them/);
  assert.equal((await h.run(["budget", "list"], env)).code, 0, "a worker may read them");
});
