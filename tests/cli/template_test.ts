/** `kanban template list|validate|show|run`, in-process. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CliHome, cliHome, create } from "./_cli.ts";

const RELEASE = fileURLToPath(new URL("../../docs/templates/release.toml", import.meta.url));

const PAIR = `
version = 1
description = "write, then check"

[inputs.topic]
description = "what about"

[roles.writer]
profile = "claude"

[roles.checker]

[[nodes]]
id = "write"
title = "Write about {{topic}}"
body = "All about {{topic}}."
role = "writer"

[[nodes]]
id = "check"
title = "Check {{topic}}"
role = "checker"
after = ["write"]
`;

/** A template whose one input is a node's whole body (a spec, many lines long). */
const SPEC = `
version = 1

[inputs.spec]
description = "what to build, in markdown"

[[nodes]]
id = "build"
title = "Build it"
body = "{{spec}}"
`;

interface GraphJson {
  key: string;
  created: boolean;
  tasks: {
    ref: string;
    task: {
      id: string;
      status: string;
      assignee: string | null;
      title: string;
      tenant: string | null;
    };
  }[];
}
interface ErrorJson {
  error: { code: string; message: string };
}

/** named writes `$KANBAN_HOME/templates/NAME.toml`. */
function named(h: CliHome, name: string, text: string): void {
  mkdirSync(join(h.home, "templates"), { recursive: true });
  writeFileSync(join(h.home, "templates", `${name}.toml`), text);
}

async function tasks(h: CliHome): Promise<unknown[]> {
  return (await h.run(["list", "--archived", "--json"])).json<unknown[]>();
}

Deno.test("template validate accepts a file and a name, and says what it declares", async () => {
  using h = await cliHome();
  const file = await h.run(["template", "validate", RELEASE]);
  assert.equal(file.code, 0, file.stderr);
  assert.match(file.stdout, /^ok: release \(.*release\.toml\): implement -> review -> release/);
  assert.match(file.stdout, /3 nodes: implement, review, release/);
  assert.match(file.stdout, /change {2}\(required, not given\)/);
  assert.match(file.stdout, /reviewer -> reviewer/);
  named(h, "pair", PAIR);
  const byName = await h.run(["template", "validate", "pair", "--json"]);
  assert.equal(byName.code, 0, byName.stderr);
  const v = byName.json<{ ok: boolean; name: string; file: string; nodes: number }>();
  assert.deepEqual([v.ok, v.name, v.nodes], [true, "pair", 2]);
  assert.equal(v.file, join(h.home, "templates", "pair.toml"));
});

Deno.test("template validate refuses a bad template with exit code 2, naming file, node and field", async () => {
  using h = await cliHome();
  named(h, "bad", PAIR.replace('role = "checker"', 'role = "checkr"'));
  const r = await h.run(["template", "validate", "bad"]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    `kanban: ${
      join(h.home, "templates", "bad.toml")
    }: nodes[1] ("check").role: no role "checkr" (roles: writer, checker)\n`,
  );
  named(h, "loop", PAIR.replace('after = ["write"]', 'after = ["check"]'));
  const loop = await h.run(["template", "validate", "loop", "--json"]);
  assert.equal(loop.code, 2);
  assert.equal(loop.json<ErrorJson>().error.code, "invalid_input");
  assert.match(loop.json<ErrorJson>().error.message, /cycle: "check" after "check"/);
  const missing = await h.run(["template", "validate", "nope"]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /No template "nope" in .*templates \(templates: bad, loop\); give a file path/,
  );
  const file = await h.run(["template", "validate", "./nope.toml"]);
  assert.equal(file.code, 2);
  assert.match(file.stderr, /\.\/nope\.toml: cannot read it/);
});

Deno.test("template list lists the named templates, the invalid ones with their error", async () => {
  using h = await cliHome();
  assert.match((await h.run(["template", "list"])).stdout, /^No templates in .*templates\.\n$/);
  named(h, "pair", PAIR);
  named(h, "future", "version = 2\n");
  const r = await h.run(["template", "list", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const list = r.json<{ name: string; nodes?: number; description?: string; error?: string }[]>();
  assert.deepEqual(list.map((t) => t.name), ["future", "pair"]);
  assert.match(list[0]!.error!, /version 2 is newer than this kanban reads \(version 1\)/);
  assert.equal(list[1]!.nodes, 2);
  assert.equal(list[1]!.description, "write, then check");
  const text = (await h.run(["template", "list"])).stdout;
  assert.match(text, /pair {4}2 {6}write, then check/);
});

Deno.test("template show prints the filled-in graph without touching the board", async () => {
  using h = await cliHome();
  named(h, "pair", PAIR);
  const r = await h.run([
    "template",
    "show",
    "pair",
    "--input",
    "topic=tides",
    "--role",
    "checker=codex",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /write: Write about tides\n {4}assignee: claude \(role writer\)\n {4}\| All about tides\./,
  );
  assert.match(
    r.stdout,
    /check: Check tides\n {4}assignee: codex \(role checker\)\n {4}after: write/,
  );
  assert.doesNotMatch(r.stdout, /missing/);
  const partial = await h.run(["template", "show", "pair", "--json"]);
  const j = partial.json<{ missing: string[]; nodes: { task: { title: string } }[] }>();
  assert.deepEqual(j.missing, ['input "topic"', 'role "checker"']);
  assert.equal(j.nodes[0]!.task.title, "Write about {{topic}}");
  const typo = await h.run(["template", "show", "pair", "--input", "topik=x"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /no input "topik" \(inputs: topic\)/);
  assert.deepEqual(await tasks(h), []);
});

Deno.test("template run creates the graph once per key, and refuses the key with other inputs", async () => {
  using h = await cliHome();
  named(h, "pair", PAIR);
  const args = [
    "template",
    "run",
    "pair",
    "--key",
    "k1",
    "--input",
    "topic=tides",
    "--role",
    "checker=codex",
  ];
  const first = await h.run([...args, "--json"]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const g = first.json<GraphJson>();
  assert.equal(g.key, "pair:k1");
  assert.equal(g.created, true);
  assert.deepEqual(g.tasks.map((t) => [t.ref, t.task.status, t.task.assignee, t.task.title]), [
    ["write", "ready", "claude", "Write about tides"],
    ["check", "todo", "codex", "Check tides"],
  ]);
  const again = await h.run(args);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^already created by key pair:k1: 2 tasks \(nothing changed\)\n/);
  assert.match(
    again.stdout,
    new RegExp(`${g.tasks[1]!.task.id} +todo +check +codex +Check tides {2}\\(after write\\)`),
  );
  const before = await tasks(h);
  const other = await h.run([
    "template",
    "run",
    "pair",
    "--key",
    "k1",
    "--input",
    "topic=waves",
    "--role",
    "checker=codex",
    "--json",
  ]);
  assert.equal(other.code, 1);
  assert.equal(other.json<ErrorJson>().error.code, "key_conflict");
  assert.match(
    other.json<ErrorJson>().error.message,
    /Key "pair:k1" already created a graph from other input: node "write": title differs/,
  );
  const rebound = await h.run([...args.slice(0, -1), "checker=gemini"]);
  assert.equal(rebound.code, 1);
  assert.match(rebound.stderr, /node "check": assignee differs/);
  assert.deepEqual(await tasks(h), before);
  // another key is another graph
  const k2 = (await h.run([...args.slice(0, 4), "k2", ...args.slice(5), "--json"])).json<
    GraphJson
  >();
  assert.equal(k2.created, true);
  assert.equal((await tasks(h)).length, 4);
});

Deno.test("template run refuses what is missing before it opens the board", async () => {
  using h = await cliHome();
  named(h, "pair", PAIR);
  const noKey = await h.run(["template", "run", "pair", "--input", "topic=x"]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /required option '--key <key>' not specified/);
  const missing = await h.run(["template", "run", "pair", "--key", "k"]);
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr,
    'kanban: Cannot run template "pair": missing input "topic" (--input topic=VALUE), role "checker" (--role checker=PROFILE)\n',
  );
  const slash = await h.run([
    "template",
    "run",
    "pair",
    "--key",
    "a/b",
    "--input",
    "topic=x",
    "--role",
    "checker=c",
  ]);
  assert.equal(slash.code, 2);
  assert.match(slash.stderr, /The key "a\/b" contains "\/"/);
  const oneLine = await h.run([
    "template",
    "run",
    "pair",
    "--key",
    "k",
    "--input",
    "topic=two\nlines",
    "--role",
    "checker=c",
  ]);
  assert.equal(oneLine.code, 2);
  assert.match(oneLine.stderr, /pair\.toml: nodes\[0\] \("write"\): title must be one line/);
  assert.deepEqual(await tasks(h), []);
});

Deno.test("inside a worker, template run makes the run's follow-ups in its tenant; other template verbs run too", async () => {
  using h = await cliHome();
  named(h, "pair", PAIR);
  const mine = await create(h, "plan", "--assignee", "planner", "--tenant", "acme");
  const c = (await h.run(["claim", mine, "--json"])).json<{ token: string }>();
  const env = {
    KANBAN_TASK: mine,
    KANBAN_TOKEN: c.token,
    KANBAN_PROFILE: "planner",
    KANBAN_TENANT: "acme",
  };
  for (const verb of ["list", "validate pair", "show pair"]) {
    const r = await h.run(["template", ...verb.split(" ")], env);
    assert.equal(r.code, 0, `${verb}: ${r.stderr}`);
  }
  const args = [
    "template",
    "run",
    "pair",
    "--key",
    "w",
    "--input",
    "topic=x",
    "--role",
    "checker=codex",
    "--json",
  ];
  const r = await h.run(args, env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const g = r.json<GraphJson>();
  assert.deepEqual(g.tasks.map((t) => t.task.tenant), ["acme", "acme"]);
  const show = (await h.run(["show", mine, "--json"])).json<
    { runs: { created_tasks: { id: string }[] }[] }
  >();
  assert.deepEqual(
    show.runs[0]!.created_tasks.map((t) => t.id).sort(),
    g.tasks.map((t) => t.task.id).sort(),
  );
  // the run ended: its token creates nothing more, and the replay of its graph changes nothing
  assert.equal((await h.run(["complete", "--summary", "planned"], env)).code, 0);
  const late = await h.run([...args.slice(0, 4), "w2", ...args.slice(5)], env);
  assert.equal(late.code, 1);
  assert.equal(late.json<ErrorJson>().error.code, "stale_lease");
  assert.equal((await tasks(h)).length, 3);
});

Deno.test("--input-file gives an input the text of a file; a bad file is refused by name before the board is touched", async () => {
  await using h = await cliHome();
  named(h, "spec", SPEC);
  const spec = "# The parser\n\n- reads `a = 1`\n- says where it fails\n";
  writeFileSync(join(h.home, "spec.md"), spec);
  const run = (...more: string[]) =>
    h.run(["template", "run", "spec", "--key", "k1", ...more, "--json"]);
  const ok = await run("--input-file", "spec=spec.md");
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const [build] = ok.json<GraphJson>().tasks;
  const shown = await h.run(["show", build!.task.id, "--json"]);
  assert.equal(shown.json<{ task: { body: string } }>().task.body, spec);
  const before = await tasks(h);

  const refused = async (args: string[], message: RegExp) => {
    const r = await run(...args);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.json<ErrorJson>().error.message, message);
  };
  await refused(
    ["--input-file", "spec=nowhere.md"],
    /^--input-file spec=nowhere\.md: cannot read it \(ENOENT\): no file .*nowhere\.md$/,
  );
  writeFileSync(join(h.home, "latin1.txt"), new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
  await refused(
    ["--input-file", "spec=latin1.txt"],
    /^--input-file spec=latin1\.txt: the file is not UTF-8 text$/,
  );
  writeFileSync(join(h.home, "huge.txt"), "x".repeat(100_000));
  await refused(
    ["--input-file", "spec=huge.txt"],
    /^--input-file spec=huge\.txt: the file is 100000 bytes; an input is at most 20000 characters$/,
  );
  await refused(
    ["--input", "spec=short", "--input-file", "spec=spec.md"],
    /^input spec is given by both --input and --input-file$/,
  );
  await refused(
    ["--input-file", "topic.md"],
    /--input-file "topic\.md": write --input-file NAME=VALUE/,
  );
  assert.deepEqual(await tasks(h), before, "nothing was written");

  // a routine's template takes it too; a --title routine refuses it
  const routine = await h.run([
    "routine",
    "add",
    "weekly",
    "--cron",
    "@weekly",
    "--template",
    "spec",
    "--input-file",
    "spec=spec.md",
    "--json",
  ]);
  assert.equal(routine.code, 0, routine.stdout + routine.stderr);
  const titled = await h.run([
    "routine",
    "add",
    "daily",
    "--cron",
    "@daily",
    "--title",
    "Sweep",
    "--input-file",
    "spec=spec.md",
  ]);
  assert.equal(titled.code, 2);
  assert.match(titled.stderr, /--input, --input-file and --role are for a --template routine/);
});
