import assert from "node:assert/strict";
import { cliHome, create } from "./_cli.ts";

interface ClaimJson {
  task: { id: string; status: string };
  run: { id: number };
  token: string;
}

Deno.test("a worker completes its own task with the env token and the child becomes ready", async () => {
  using h = await cliHome();
  const a = await create(h, "schema", "--assignee", "coder");
  const b = await create(h, "api", "--parent", a);
  const c = (await h.run(["claim", "--json"])).json<ClaimJson>();
  assert.equal(c.task.id, a);
  const env = { KANBAN_TASK: a, KANBAN_TOKEN: c.token, KANBAN_PROFILE: "coder" };
  assert.equal((await h.run(["heartbeat", "--note", "halfway"], env)).code, 0);
  assert.equal((await h.run(["comment", "made the tables"], env)).code, 0);
  const done = await h.run(
    ["complete", "--summary", "3 tables", "--metadata", '{"tables":3}', "--json"],
    env,
  );
  assert.equal(done.code, 0, done.stdout + done.stderr);
  assert.equal(done.json()["status"], "done");
  const child = (await h.run(["show", b, "--json"])).json<{ task: { status: string } }>();
  assert.equal(child.task.status, "ready");
  const ctx = await h.run(["context", b]);
  assert.match(ctx.stdout, /3 tables/);
  assert.match(ctx.stdout, /\{"tables":3\}/);
  const show = (await h.run(["show", a, "--json"])).json<
    { comments: { author: string; run_id: number }[]; runs: { outcome: string }[] }
  >();
  assert.equal(show.comments[0]!.author, "coder");
  assert.equal(show.comments[0]!.run_id, c.run.id);
  assert.equal(show.runs[0]!.outcome, "completed");
});

Deno.test("a stale worker's complete is refused with exit 1 and changes nothing", async () => {
  using h = await cliHome();
  const a = await create(h, "job");
  const c = (await h.run(["claim", "--json"])).json<ClaimJson>();
  assert.equal((await h.run(["block", a, "need a decision"])).code, 0); // a person blocks it
  assert.equal((await h.run(["unblock", a])).code, 0);
  const before = (await h.run(["show", a, "--json"])).stdout;
  const r = await h.run(["complete", "--summary", "late", "--json"], {
    KANBAN_TASK: a,
    KANBAN_TOKEN: c.token,
  });
  assert.equal(r.code, 1);
  assert.equal(r.json<{ error: { code: string } }>().error.code, "stale_lease");
  assert.equal((await h.run(["show", a, "--json"])).stdout, before);
});

Deno.test("inside a worker, writes to another task are refused", async () => {
  using h = await cliHome();
  const a = await create(h, "mine");
  const other = await create(h, "not mine");
  const c = (await h.run(["claim", a, "--json"])).json<ClaimJson>();
  const env = { KANBAN_TASK: a, KANBAN_TOKEN: c.token };
  for (const args of [["complete", other], ["comment", other, "hi"], ["block", other, "why"]]) {
    const r = await h.run([...args, "--json"], env);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.json<{ error: { code: string } }>().error.code, "foreign_task");
  }
  const t = (await h.run(["show", other, "--json"])).json<{ task: { status: string } }>();
  assert.equal(t.task.status, "ready");
});

Deno.test("block by a worker asks a human; unblock returns the task to the queue", async () => {
  using h = await cliHome();
  const a = await create(h, "question");
  const c = (await h.run(["claim", "--json"])).json<ClaimJson>();
  const r = await h.run(["block", "Which database?", "--json"], {
    KANBAN_TASK: a,
    KANBAN_TOKEN: c.token,
  });
  assert.equal(r.json()["status"], "blocked");
  assert.equal(r.json()["blocked_reason"], "Which database?");
  assert.equal((await h.run(["unblock", a, "--json"])).json()["status"], "ready");
});

Deno.test("review --approve and --reject move a task out of review", async () => {
  using h = await cliHome();
  const a = await create(h, "reviewed", "--review");
  await h.run(["claim"]);
  assert.equal((await h.run(["complete", a, "--json"])).json()["status"], "review");
  const rej = await h.run(["review", a, "--reject", "--reason", "tests missing", "--json"]);
  assert.equal(rej.json()["status"], "ready");
  await h.run(["claim"]);
  await h.run(["complete", a]);
  assert.equal((await h.run(["review", a, "--approve", "--json"])).json()["status"], "done");
  const usage = await h.run(["review", a]);
  assert.equal(usage.code, 2);
});

Deno.test("bulk verbs report each id and exit 1 when any fails", async () => {
  using h = await cliHome();
  const a = await create(h, "one");
  const b = await create(h, "two");
  const r = await h.run(["archive", a, b, "t_00000000", "--json"]);
  assert.equal(r.code, 1);
  const results = r.json<{ id: string; task?: { status: string }; error?: { code: string } }[]>();
  assert.deepEqual(results.map((x) => x.task?.status ?? x.error?.code), [
    "archived",
    "archived",
    "not_found",
  ]);
  assert.equal((await h.run(["list", "--json"])).json<unknown[]>().length, 0);
  assert.equal((await h.run(["list", "--archived", "--json"])).json<unknown[]>().length, 2);
  assert.equal((await h.run(["unarchive", a, "--json"])).json()["status"], "ready");
});

Deno.test("cancel of a running task closes its run as cancelled", async () => {
  using h = await cliHome();
  const a = await create(h, "doomed");
  const c = (await h.run(["claim", "--json"])).json<ClaimJson>();
  const r = await h.run(["cancel", a, "--reason", "not needed", "--json"]);
  assert.equal(r.json()["status"], "archived");
  const runs = (await h.run(["runs", a, "--json"])).json<{ id: number; outcome: string }[]>();
  assert.deepEqual(runs.map((x) => [x.id, x.outcome]), [[c.run.id, "cancelled"]]);
  const late = await h.run(["heartbeat"], { KANBAN_TASK: a, KANBAN_TOKEN: c.token });
  assert.equal(late.code, 1);
  assert.match(late.stderr, /run \d+ has ended \(cancelled\)/);
});

Deno.test("link, unlink, edit, assign, reopen and list filters work together", async () => {
  using h = await cliHome();
  const a = await create(h, "a", "--assignee", "coder", "--tenant", "acme");
  const b = await create(h, "b", "--assignee", "writer");
  assert.equal((await h.run(["link", a, b, "--json"])).json()["child_status"], "todo");
  assert.equal((await h.run(["unlink", a, b, "--json"])).json()["child_status"], "ready");
  assert.equal((await h.run(["link", b, b])).code, 1);
  await h.run(["link", a, b]);
  assert.equal(
    (await h.run(["link", b, a, "--json"])).json<{ error: { code: string } }>().error.code,
    "cycle",
  );
  const e = await h.run(["edit", a, "--title", "A!", "--priority", "5", "--json"]);
  assert.deepEqual([e.json()["title"], e.json()["priority"]], ["A!", 5]);
  assert.equal((await h.run(["assign", b, "coder", "--json"])).json()["assignee"], "coder");
  assert.equal((await h.run(["assign", b, "--none", "--json"])).json()["assignee"], null);
  const mine = (await h.run(["list", "--assignee", "coder", "--json"])).json<{ id: string }[]>();
  assert.deepEqual(mine.map((t) => t.id), [a]);
  assert.equal((await h.run(["list", "--tenant", "acme", "--json"])).json<unknown[]>().length, 1);
  assert.equal(
    (await h.run(["list", "--status", "todo,ready", "--json"])).json<unknown[]>().length,
    2,
  );
  await h.run(["complete", a]);
  assert.equal(
    (await h.run(["show", b, "--json"])).json<{ task: { status: string } }>().task.status,
    "ready",
  );
  assert.equal((await h.run(["reopen", a, "--json"])).json()["status"], "ready");
  assert.equal(
    (await h.run(["show", b, "--json"])).json<{ task: { status: string } }>().task.status,
    "todo",
  );
});

Deno.test("stats, assignees, runs and completions print", async () => {
  using h = await cliHome();
  await create(h, "a", "--assignee", "coder");
  const st = (await h.run(["stats", "--json"])).json<
    { total: number; by_status: Record<string, number> }
  >();
  assert.equal(st.total, 1);
  assert.equal(st.by_status["ready"], 1);
  const as = (await h.run(["assignees", "--json"])).json<{ assignee: string; total: number }[]>();
  assert.deepEqual(as, [{ assignee: "coder", total: 1, by_status: { ready: 1 } }]);
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await h.run(["completions", shell]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /complete/);
    assert.match(r.stdout, /heartbeat/);
  }
  assert.equal((await h.run(["completions", "tcsh"])).code, 2);
});

Deno.test("a worker's follow-up task records its origin; a stale worker cannot create one", async () => {
  using h = await cliHome();
  const a = await create(h, "plan", "--tenant", "acme");
  const c = (await h.run(["claim", "--json"])).json<ClaimJson>();
  const env = { KANBAN_TASK: a, KANBAN_TOKEN: c.token, KANBAN_TENANT: "acme" };
  const child = await h.run(["create", "follow-up", "--parent", a, "--json"], env);
  assert.equal(child.code, 0, child.stderr);
  assert.equal(child.json()["tenant"], "acme");
  const shown = (await h.run(["show", child.json<{ id: string }>().id, "--json"])).json<
    { events: { kind: string; data: Record<string, unknown> }[] }
  >();
  assert.deepEqual(shown.events[0]!.data["origin_run"], c.run.id);
  await h.run(["complete", a]); // a person completes it: the run ends
  const late = await h.run(["create", "too late", "--json"], env);
  assert.equal(late.code, 1);
  assert.equal(late.json<{ error: { code: string } }>().error.code, "stale_lease");
  assert.equal((await h.run(["list", "--json"])).json<unknown[]>().length, 2);
});
