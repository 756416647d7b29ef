import assert from "node:assert/strict";
import { type CliHome, cliHome, create } from "./_cli.ts";

/** snapshot is everything the board holds, as the CLI reports it. */
async function snapshot(h: CliHome): Promise<string> {
  const list = (await h.run(["list", "--archived", "--json"])).json<{ id: string }[]>();
  const shows = await Promise.all(list.map((t) => h.run(["show", t.id, "--json"])));
  return JSON.stringify([list, shows.map((s) => s.stdout)]);
}

interface Case {
  name: string;
  args: (ids: { a: string; ambiguous: string }) => string[];
  code: 1 | 2;
  error: string;
  message: RegExp;
}

const MIB = 1024 * 1024;

const CASES: Case[] = [
  {
    name: "unknown id",
    args: () => ["show", "t_ffffffff"],
    code: 1,
    error: "not_found",
    message: /No task matches "t_ffffffff"/,
  },
  {
    name: "not an id at all",
    args: () => ["show", "hello world"],
    code: 2,
    error: "invalid_input",
    message: /"hello world" is not a task id/,
  },
  {
    name: "ambiguous prefix",
    args: ({ ambiguous }) => ["show", ambiguous],
    code: 1,
    error: "ambiguous_id",
    message: /matches several tasks/,
  },
  {
    name: "empty title",
    args: () => ["create", ""],
    code: 2,
    error: "invalid_input",
    message: /title is empty/,
  },
  {
    name: "blank title",
    args: () => ["create", "   "],
    code: 2,
    error: "invalid_input",
    message: /title is empty/,
  },
  {
    name: "two-line title",
    args: () => ["create", "a\nb"],
    code: 2,
    error: "invalid_input",
    message: /title must be one line/,
  },
  {
    name: "body over 1 MiB",
    args: () => ["create", "big", "--body", "x".repeat(MIB + 1)],
    code: 2,
    error: "invalid_input",
    message: /body is larger than 1048576 bytes/,
  },
  {
    name: "metadata not JSON",
    args: ({ a }) => ["complete", a, "--metadata", "{tables: 3}"],
    code: 2,
    error: "invalid_argument",
    message: /--metadata is not valid JSON/,
  },
  {
    name: "metadata an array",
    args: ({ a }) => ["complete", a, "--metadata", "[1,2]"],
    code: 2,
    error: "invalid_argument",
    message: /--metadata must be a JSON object/,
  },
  {
    name: "unknown flag",
    args: () => ["create", "x", "--colour", "red"],
    code: 2,
    error: "unknown_option",
    message: /unknown option '--colour'/,
  },
  {
    name: "unknown verb",
    args: () => ["frobnicate"],
    code: 2,
    error: "unknown_command",
    message: /unknown command 'frobnicate'/,
  },
  {
    name: "missing argument",
    args: () => ["link", "t_1"],
    code: 2,
    error: "missing_argument",
    message: /missing required argument 'child'/,
  },
  {
    name: "bad priority",
    args: () => ["create", "x", "--priority", "soon"],
    code: 2,
    error: "invalid_argument",
    message: /"soon" is not a priority/,
  },
  {
    name: "priority out of range",
    args: () => ["create", "x", "--priority", "5000"],
    code: 2,
    error: "invalid_input",
    message: /priority is above 1000/,
  },
  {
    name: "bad duration",
    args: () => ["create", "x", "--max-runtime", "forever"],
    code: 2,
    error: "invalid_argument",
    message: /"forever" is not a duration/,
  },
  {
    name: "bad time",
    args: () => ["create", "x", "--not-before", "tomorrowish"],
    code: 2,
    error: "invalid_argument",
    message: /"tomorrowish" is not a time/,
  },
  {
    name: "bad workspace",
    args: () => ["create", "x", "--workspace", "dir:relative"],
    code: 2,
    error: "invalid_input",
    message: /workspace "dir:relative" is not scratch, worktree or dir:\/absolute\/path/,
  },
  {
    name: "context without an id, outside a worker",
    args: () => ["context"],
    code: 2,
    error: "usage",
    message: /Missing task id \(or run inside a worker/,
  },
  {
    name: "complete without an id, outside a worker",
    args: () => ["complete", "--summary", "x"],
    code: 2,
    error: "usage",
    message: /Missing task id \(or run inside a worker/,
  },
  {
    name: "login with a board path too long for a token file (found by fuzzing)",
    args: () => ["login", "--db", "x".repeat(5000)],
    code: 1,
    error: "cannot_open",
    message: /Cannot read the token file ".*": ENAMETOOLONG/,
  },
  {
    name: "a fractional offset",
    args: () => ["list", "--offset", "1.5"],
    code: 2,
    error: "usage",
    message: /--offset "1\.5" is not a non-negative integer/,
  },
  {
    name: "a zero limit",
    args: () => ["list", "--limit", "0"],
    code: 2,
    error: "usage",
    message: /--limit "0" is not a positive integer/,
  },
  {
    name: "bad status filter",
    args: () => ["list", "--status", "doing"],
    code: 2,
    error: "usage",
    message: /Unknown status "doing"/,
  },
  {
    name: "illegal transition",
    args: ({ a }) => ["reopen", a],
    code: 1,
    error: "illegal_transition",
    message: /Cannot reopen task "t_[0-9a-f]{8}": it is ready, and ready -> ready is not allowed/,
  },
  {
    name: "heartbeat without a token",
    args: ({ a }) => ["heartbeat", a],
    code: 1,
    error: "stale_lease",
    message: /only its worker can/,
  },
  {
    name: "unknown board",
    args: () => ["list", "--board", "nope"],
    code: 1,
    error: "not_found",
    message: /No board at ".*boards\/nope\/board.db"; run "kanban init"/,
  },
  {
    name: "bad board name",
    args: () => ["list", "--board", "../etc"],
    code: 2,
    error: "invalid_input",
    message: /Board name "..\/etc" is not valid/,
  },
  {
    name: "empty comment",
    args: ({ a }) => ["comment", a, "  "],
    code: 2,
    error: "invalid_input",
    message: /comment is empty/,
  },
];

Deno.test("bad input gets one clear error line, the right exit code, and leaves the board intact", async () => {
  using h = await cliHome();
  const a = await create(h, "keep me", "--body", "original");
  // 17 ids over 16 hex digits: two share their first digit, an ambiguous prefix.
  const ids = [a];
  let ambiguous: string | undefined;
  while (ambiguous === undefined) {
    const firsts = ids.map((id) => id.slice(0, 3));
    ambiguous = firsts.find((p, i) => firsts.indexOf(p) !== i);
    if (ambiguous === undefined) ids.push(await create(h, `filler ${ids.length}`));
  }
  const before = await snapshot(h);
  for (const c of CASES) {
    const text = await h.run(c.args({ a, ambiguous }));
    assert.equal(text.code, c.code, `${c.name}: exit code (stderr: ${text.stderr})`);
    assert.equal(text.stdout, "", `${c.name}: nothing on stdout`);
    const lines = text.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${c.name}: one line, got ${text.stderr}`);
    assert.match(lines[0]!, /^kanban: /, c.name);
    assert.match(lines[0]!, c.message, c.name);
    assert.doesNotMatch(text.stderr, /at .*\.ts:\d+/, `${c.name}: no stack trace`);
    const json = await h.run([...c.args({ a, ambiguous }), "--json"]);
    assert.equal(json.code, c.code, `${c.name} --json: exit code`);
    const err = json.json<{ error: { code: string; message: string } }>().error;
    assert.equal(err.code, c.error, `${c.name}: error code`);
    assert.match(err.message, c.message, `${c.name} --json: message`);
  }
  assert.equal(await snapshot(h), before, "the board is unchanged");
});

Deno.test("hostile but valid text is stored and printed back verbatim", async () => {
  using h = await cliHome();
  const texts = [
    "'; DROP TABLE tasks; --",
    'Robert"); DELETE FROM task_runs WHERE ("1"="1',
    "مرحبا بالعالم \u202Eevil\u202C עברית",
    "emoji 🧪🚀 and zero\u200Bwidth",
    "<script>alert(1)</script> & $(rm -rf /) `id`",
  ];
  for (const title of texts) {
    const r = await h.run(["create", title, "--body", title, "--json"]);
    assert.equal(r.code, 0, title);
    const shown = (await h.run(["show", r.json<{ id: string }>().id, "--json"])).json<
      { task: { title: string; body: string } }
    >();
    assert.equal(shown.task.title, title);
    assert.equal(shown.task.body, title);
    const c = await h.run(["comment", r.json<{ id: string }>().id, title, "--json"]);
    assert.equal(c.json()["body"], title);
  }
  assert.equal((await h.run(["list", "--json"])).json<unknown[]>().length, texts.length);
});

Deno.test("a 1 MB body is stored and read back intact", async () => {
  using h = await cliHome();
  const body = "é".repeat(250_000) + "x".repeat(500_000); // 1,000,000 bytes of UTF-8
  const r = await h.run(["create", "big", "--body", body, "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const shown = (await h.run(["show", r.json<{ id: string }>().id, "--json"])).json<
    { task: { body: string } }
  >();
  assert.equal(shown.task.body, body);
});
