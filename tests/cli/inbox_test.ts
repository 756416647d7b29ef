import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Inbox, Reply } from "../../lib/store/mod.ts";
import { waited } from "../../lib/cli/verbs/inbox.ts";
import { type CliHome, cliHome, type CliResult, create } from "./_cli.ts";

interface ErrorJson {
  error: { code: string; message: string };
}

async function ok(h: CliHome, args: string[], stdin = ""): Promise<CliResult> {
  const r = await h.run(args, {}, stdin);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r;
}

/** fails runs `args` with --json and checks the exit code and the error code. */
async function fails(h: CliHome, args: string[], exit: number, code: string): Promise<string> {
  const r = await h.run([...args, "--json"]);
  assert.equal(r.code, exit, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  const e = r.json<ErrorJson>().error;
  assert.equal(e.code, code, e.message);
  return e.message;
}

/** A board with one task of each kind, entering their statuses in this order. */
async function threeKinds(h: CliHome): Promise<{ idea: string; checked: string; asks: string }> {
  const asks = await create(h, "asks", "--tenant", "acme");
  const checked = await create(h, "checked", "--review", "--tenant", "acme");
  const idea = await create(h, "idea", "--triage", "--tenant", "globex");
  await ok(h, ["complete", checked, "--summary", "Did the thing.\nDetails follow."]);
  await ok(h, ["block", asks, "Which region: eu or us?"]);
  return { idea, checked, asks };
}

Deno.test("kanban inbox prints what waits on a person, oldest wait first, with what it asks", async () => {
  using h = await cliHome();
  const { idea, checked, asks } = await threeKinds(h);
  const r = await ok(h, ["inbox"]);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^ID\s+KIND\s+WAITING\s+TITLE\s+QUESTION \/ HANDOFF$/);
  assert.match(lines[1]!, new RegExp(`^${idea}\\s+triage\\s+\\d+[smhd]\\s+idea\\s+-$`));
  assert.match(
    lines[2]!,
    new RegExp(`^${checked}\\s+review\\s+\\d+[smhd]\\s+checked\\s+Did the thing\\.$`),
  );
  assert.match(
    lines[3]!,
    new RegExp(`^${asks}\\s+question\\s+\\d+[smhd]\\s+asks\\s+Which region: eu or us\\?$`),
  );
  assert.equal(lines.at(-1), "3 waiting on a person (1 question, 1 review, 1 triage)");

  const box = (await ok(h, ["inbox", "--json"])).json<Inbox>();
  assert.deepEqual(box.items.map((i) => [i.id, i.kind]), [
    [idea, "triage"],
    [checked, "review"],
    [asks, "question"],
  ]);
  assert.equal(box.items[1]!.summary, "Did the thing.\nDetails follow.");

  const acme = (await ok(h, ["inbox", "--tenant", "acme", "--limit", "1", "--json"])).json<Inbox>();
  assert.deepEqual([acme.items.map((i) => i.id), acme.total], [[checked], 2]);
  const one = await ok(h, ["inbox", "--tenant", "acme", "-n", "1"]);
  assert.match(one.stdout, /2 waiting on a person \(1 question, 1 review\), the oldest 1 shown\n$/);
});

Deno.test("kanban inbox on a board where nothing waits says so", async () => {
  using h = await cliHome();
  await create(h, "ready");
  assert.equal((await ok(h, ["inbox"])).stdout, "Nothing waits on a person.\n");
});

Deno.test("kanban inbox prints board text safely: an escape sequence in a question shows as a stand-in", async () => {
  using h = await cliHome();
  const id = await create(h, "evil \x1b]0;owned\x07title");
  await ok(h, ["block", id, "\x1b[2Jwhat now?"]);
  const out = (await ok(h, ["inbox"])).stdout;
  assert.ok(!out.includes("\x1b"), JSON.stringify(out));
  assert.match(out, /␛\[2Jwhat now\?/);
  assert.match(out, /evil ␛]0;owned␇title/);
});

Deno.test("kanban reply answers a blocked task: the comment is added and the task unblocked", async () => {
  using h = await cliHome();
  const { asks } = await threeKinds(h);
  const r = await ok(h, ["reply", asks.slice(0, 7), "Use eu-west-1."]);
  assert.match(r.stdout, new RegExp(`^${asks}  ready  asks  \\(replied: comment \\d+\\)\\n$`));
  const shown = (await ok(h, ["show", asks, "--json"])).json<
    { task: { status: string }; comments: { author: string; body: string }[] }
  >();
  assert.equal(shown.task.status, "ready");
  assert.deepEqual(shown.comments.map((c) => [c.author, c.body]), [["tester", "Use eu-west-1."]]);
  const box = (await ok(h, ["inbox", "--json"])).json<Inbox>();
  assert.ok(!box.items.some((i) => i.id === asks));
});

Deno.test("kanban reply reads the answer from --body-file, or from standard input with -", async () => {
  using h = await cliHome();
  const a = await create(h, "a");
  const b = await create(h, "b");
  await ok(h, ["block", a, "?"]);
  await ok(h, ["block", b, "?"]);
  const file = join(h.home, "answer.md");
  writeFileSync(file, "# Answer\n\nUse **eu**.\n");
  const fromFile = (await ok(h, ["reply", a, "--body-file", file, "--json"])).json<Reply>();
  assert.equal(fromFile.comment.body, "# Answer\n\nUse **eu**.\n");
  assert.equal(fromFile.task.status, "ready");
  const fromStdin = (await ok(h, ["reply", b, "--body-file", "-", "--json"], "piped answer"))
    .json<Reply>();
  assert.deepEqual([fromStdin.comment.body, fromStdin.task.status], ["piped answer", "ready"]);
});

Deno.test("kanban reply refuses bad input with a message naming it, and writes nothing", async () => {
  using h = await cliHome();
  const ready = await create(h, "ready one");
  const blocked = await create(h, "blocked one");
  await ok(h, ["block", blocked, "?"]);
  assert.match(await fails(h, ["reply", blocked], 2, "usage"), /Expected ID TEXT/);
  assert.match(
    await fails(h, ["reply", blocked, "text", "--body-file", "-"], 2, "usage"),
    /not both/,
  );
  assert.equal(
    await fails(h, ["reply", blocked, "   "], 2, "invalid_input"),
    `Cannot reply to task "${blocked}": the reply is empty`,
  );
  assert.match(
    await fails(h, ["reply", blocked, "--body-file", join(h.home, "missing.md")], 2, "usage"),
    /Cannot read --body-file ".*missing\.md"/,
  );
  const big = join(h.home, "big.md");
  writeFileSync(big, "x".repeat(3 * 64 * 1024 + 1));
  assert.match(
    await fails(h, ["reply", blocked, "--body-file", big], 2, "usage"),
    /longer than a comment may be/,
  );
  assert.match(
    await fails(h, ["reply", blocked, "x".repeat(64 * 1024 + 1)], 2, "invalid_input"),
    /longer than 65536 characters/,
  );
  assert.match(
    await fails(h, ["reply", ready, "an answer"], 1, "illegal_transition"),
    new RegExp(`Cannot reply to task "${ready}": it is ready, .*comment on it instead`),
  );
  await fails(h, ["reply", "t_ffffffff", "hi"], 1, "not_found");
  assert.match(await fails(h, ["inbox", "--limit", "0"], 2, "usage"), /--limit "0"/);
  assert.match(
    await fails(h, ["inbox", "--limit", "5001"], 2, "usage"),
    /--limit "5001" is above 5000/,
  );
  const shown = (await ok(h, ["show", blocked, "--json"])).json<
    { task: { status: string }; comments: unknown[] }
  >();
  assert.deepEqual([shown.task.status, shown.comments], ["blocked", []]);
  assert.deepEqual(
    (await ok(h, ["show", ready, "--json"])).json<{ comments: unknown[] }>().comments,
    [],
  );
});

Deno.test("kanban reply and kanban inbox are a person's verbs: a worker is refused", async () => {
  using h = await cliHome();
  const mine = await create(h, "mine", "--assignee", "coder");
  const c = (await ok(h, ["claim", mine, "--json"])).json<{ token: string }>();
  await ok(h, ["block", mine, "Which port?"], "");
  const env = { KANBAN_TASK: mine, KANBAN_TOKEN: c.token, KANBAN_PROFILE: "coder" };
  for (const args of [["reply", mine, "8080"], ["inbox"]]) {
    const r = await h.run([...args, "--json"], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const e = r.json<ErrorJson>().error;
    assert.equal(e.code, "worker_forbidden");
    assert.match(e.message, new RegExp(`"kanban ${args[0]}" is refused inside the worker`));
  }
  const shown = (await ok(h, ["show", mine, "--json"])).json<
    { task: { status: string }; comments: unknown[] }
  >();
  assert.deepEqual([shown.task.status, shown.comments], ["blocked", []]);
});

Deno.test("waited() names a wait as a person reads it", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  const ago = (ms: number) => new Date(now - ms).toISOString();
  assert.deepEqual(
    [ago(5_000), ago(12 * 60_000), ago(3 * 3_600_000), ago(2 * 86_400_000), ago(-5_000)]
      .map((s) => waited(s, now)),
    ["5s", "12m", "3h", "2d", "0s"],
  );
});
