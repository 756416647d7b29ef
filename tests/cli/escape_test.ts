/**
 * Terminal escape injection: board text (titles, bodies, comments, summaries, metadata, errors,
 * names) and worker logs come from agents, so none of it may act on the terminal that prints
 * it. Text output shows every control character but newline and tab as a visible stand-in;
 * `--json` carries the text exactly; `log`/`tail` keep colours on a terminal only and drop every
 * other escape sequence, and `--raw` prints the log as written.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../lib/cli/program.ts";
import type { TerminalContext } from "../../lib/cli/output.ts";
import { escapedLine, LogFilter, terminalText } from "../../lib/cli/sanitize.ts";
import { openStore } from "../../lib/store/mod.ts";
import { type CliHome, cliHome, create } from "./_cli.ts";

const CLEAR = "\x1b[2J";
const RETITLE = "\x1b]0;pwned\x07";
const CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"; // OSC 52: write "rm -rf ~" to the clipboard
const CSI_8BIT = "\x9b2J";
const BIDI = "\u202egnp.exe\u202c and \u2066isolated\u2069";
/** One line of everything hostile (a title must be one line; trimmed, so no edge spaces). */
const HOSTILE = `a${CLEAR}b${RETITLE}c${CLIPBOARD}d${CSI_8BIT}e${BIDI}f\x07g\x7fh\x08i`;
/** A body: several lines, a CR LF line end, a lone CR that would hide the start of its line. */
const BODY = `first ${CLEAR}line\r\nsecond\tline ${CLIPBOARD}\nsafe-looking\rrm -rf ~ ${BIDI}`;

/** What a terminal may act on: C0 but tab and LF, DEL, C1, bidi embeddings and overrides. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

function assertSafe(what: string, text: string): void {
  const m = UNSAFE.exec(text);
  assert.equal(
    m,
    null,
    `${what} printed U+${m?.[0].charCodeAt(0).toString(16).padStart(4, "0")} raw: ${
      JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 20), (m?.index ?? 0) + 20))
    }`,
  );
}

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** runAs runs the CLI in-process like h.run, with stdout a terminal or not. */
async function runAs(
  h: CliHome,
  args: string[],
  opts: { terminal: boolean; env?: Record<string, string> },
): Promise<Out> {
  let stdout = "";
  let stderr = "";
  const ctx: TerminalContext = {
    env: { KANBAN_HOME: h.home, USER: "tester", ...opts.env },
    cwd: h.home,
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    readStdin: () => Promise.resolve(""),
    now: () => Date.parse("2026-03-01T12:00:00Z"),
    stdoutIsTerminal: opts.terminal,
  };
  const code = await runCli(args, ctx);
  return { code, stdout, stderr };
}

/**
 * loggedRun claims task `id` and records a worker whose log holds `text`, as the dispatcher
 * does for a run it starts (pid 1: alive, never ours to stop). Returns the run's id.
 */
async function loggedRun(h: CliHome, id: string, text: string): Promise<number> {
  const claim = (await h.run(["claim", id, "--json"])).json<{ run: { id: number } }>();
  const logPath = join(h.home, `run-${claim.run.id}.log`);
  writeFileSync(logPath, text);
  using store = openStore(join(h.home, "boards", "default", "board.db"));
  await store.recordSpawn(claim.run.id, {
    pid: 1,
    pid_start_time: null,
    host: "here",
    log_path: logPath,
    workspace: h.home,
  }, { name: "dispatcher" });
  return claim.run.id;
}

Deno.test("terminalText shows each control character as one visible stand-in and keeps LF and tab", () => {
  assert.equal(terminalText(CLEAR), "␛[2J");
  assert.equal(terminalText(RETITLE), "␛]0;pwned␇");
  assert.equal(terminalText(CSI_8BIT), "\ufffd2J");
  assert.equal(terminalText("a\u202eb\u2066c"), "a\ufffdb\ufffdc");
  assert.equal(terminalText("a\tb\nc\r\nd\re\x7f"), "a\tb\nc\nd␍e␡");
  assert.equal(
    terminalText("right-to-left: \u05e9\u05dc\u05d5\u05dd \u200f!"),
    "right-to-left: שלום \u200f!",
  );
  assertSafe("terminalText", terminalText(HOSTILE + BODY));
  assert.equal([...terminalText(HOSTILE)].length, [...HOSTILE].length, "one for one");
  assert.equal(
    escapedLine(`x${CLEAR}\n${CSI_8BIT}\u202e\x7f`),
    "x\\u001b[2J\\n\\u009b2J\\u202e\\u007f",
  );
});

Deno.test("text output of every reading verb holds no control character from hostile board text", async () => {
  using h = await cliHome();
  const actor = { KANBAN_ACTOR: `agent${RETITLE}` };
  const parent = await create(h, HOSTILE, "--body", BODY, "--created-by", `by${CLEAR}`);
  const child = await create(h, `child ${CLIPBOARD}`, "--parent", parent);
  assert.equal(
    (await h.run(["comment", parent, BODY, "--author", `au${CSI_8BIT}`], actor)).code,
    0,
  );
  assert.equal((await h.run(["comment", child, `note ${BIDI}`], actor)).code, 0);
  assert.equal((await h.run(["claim", parent])).code, 0);
  const done = await h.run([
    "complete",
    parent,
    "--summary",
    BODY,
    "--result",
    HOSTILE,
    "--metadata",
    JSON.stringify({ note: HOSTILE }),
  ]);
  assert.equal(done.code, 0, done.stderr);
  const blocked = await h.run(["block", child, `because ${CLEAR}${RETITLE}`]);
  assertSafe("block", blocked.stdout);
  const other = await create(h, `other ${CSI_8BIT}`, "--assignee", "coder");
  const run = await loggedRun(h, other, "working\n");
  assert.ok(run > 0);

  const verbs: string[][] = [
    ["list"],
    ["list", "--archived"],
    ["show", parent],
    ["show", child],
    ["runs"],
    ["runs", parent],
    ["context", child],
    ["context", child, "--context-only"],
    ["status"],
    ["stats"],
    ["assignees"],
    ["watch", "--since", "0", "--count", "8", "--timeout", "5s"],
    ["tail", parent],
    ["edit", child, "--title", `edited ${RETITLE}`],
    ["unblock", child, parent], // bulk: one line per task, an error for the done one
    ["comment", child, `again ${CLIPBOARD}`],
  ];
  for (const args of verbs) {
    const r = await h.run(args, actor);
    assertSafe(`kanban ${args.join(" ")} (stdout)`, r.stdout);
    assertSafe(`kanban ${args.join(" ")} (stderr)`, r.stderr);
  }

  // the text is shown, not dropped: a reader sees that someone tried an escape sequence
  const show = await h.run(["show", parent]);
  assert.equal(show.code, 0, show.stderr);
  assert.ok(show.stdout.includes(`${parent}  ${terminalText(HOSTILE)}`), show.stdout);
  assert.ok(show.stdout.includes("first ␛[2Jline\nsecond\tline ␛]52;c;cm0gLXJmIH4=␇\n"));
  assert.ok(show.stdout.includes("safe-looking␍rm -rf ~"), "a lone CR cannot hide a line's start");
  assert.ok(show.stdout.includes(`au\ufffd2J at `), "the comment's author");
  const list = await h.run(["list", "--archived"]);
  assert.match(list.stdout, /a␛\[2Jb␛\]0;pwned␇c␛\]52;c;cm0gLXJmIH4=␇d\ufffd2Je/);
});

Deno.test("--json carries hostile board text exactly", async () => {
  using h = await cliHome();
  const id = await create(h, HOSTILE, "--body", BODY);
  assert.equal((await h.run(["comment", id, BODY, "--author", `au${CSI_8BIT}`])).code, 0);
  assert.equal((await h.run(["claim", id])).code, 0);
  const done = await h.run(["complete", id, "--summary", BODY, "--json"]);
  assert.equal(done.code, 0, done.stderr);

  const show = (await h.run(["show", id, "--json"])).json<{
    task: { title: string; body: string };
    comments: { body: string; author: string }[];
    runs: { summary: string }[];
  }>();
  assert.equal(show.task.title, HOSTILE);
  assert.equal(show.task.body, BODY);
  assert.equal(show.comments[0]!.body, BODY);
  assert.equal(show.comments[0]!.author, `au${CSI_8BIT}`);
  assert.equal(show.runs[0]!.summary, BODY);
  const list = (await h.run(["list", "--json"])).json<{ title: string }[]>();
  assert.equal(list[0]!.title, HOSTILE);
  const runs = (await h.run(["runs", id, "--json"])).json<{ summary: string }[]>();
  assert.equal(runs[0]!.summary, BODY);
});

Deno.test("error messages that quote hostile input show it escaped, on one line", async () => {
  using h = await cliHome();
  const cases = [
    ["show", `x${CLEAR}${RETITLE}`],
    ["list", "--status", `${CLIPBOARD}${CSI_8BIT}`],
    ["create", `two${CLEAR}\nlines`],
    ["comment", `t_00${BIDI}`, "text"],
  ];
  for (const args of cases) {
    const r = await h.run(args);
    assert.notEqual(r.code, 0, `kanban ${JSON.stringify(args)} should fail`);
    assertSafe(`error of ${JSON.stringify(args)}`, r.stderr);
    assert.equal(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
  }
  const r = await h.run(["show", `x${CLEAR}`]);
  assert.match(r.stderr, /"x\\u001b\[2J" is not a task id/);
});

/** A worker log as agent CLIs write it: colours, and escapes that must not reach a terminal. */
const LOG = `\x1b[1;31mred\x1b[0m plain ${RETITLE}${CLEAR}\x1b[H${CSI_8BIT} ${CLIPBOARD}` +
  `\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b(B\x1b7\x1b8\x1b[?1049h ${BIDI}\x07 end\r\n` +
  `progress\rdone\n`;
/** LOG on a terminal: SGR kept, every other sequence gone, other controls shown. */
const LOG_TTY =
  `\x1b[1;31mred\x1b[0m plain  link  \ufffdgnp.exe\ufffd and \ufffdisolated\ufffd␇ end\n` +
  `progress␍done\n`;
// deno-lint-ignore no-control-regex -- matching control characters is the point
const LOG_PLAIN = LOG_TTY.replace(/\x1b\[[0-9;]*m/g, "");

Deno.test("log keeps colours on a terminal, strips every other escape, and --raw prints the log as written", async () => {
  using h = await cliHome();
  const id = await create(h, "logged");
  await loggedRun(h, id, LOG);

  const tty = await runAs(h, ["log", id], { terminal: true });
  assert.equal(tty.code, 0, tty.stderr);
  assert.equal(tty.stdout, LOG_TTY);
  const pipe = await runAs(h, ["log", id], { terminal: false });
  assert.equal(pipe.stdout, LOG_PLAIN);
  assertSafe("log on a pipe", pipe.stdout);
  const noColor = await runAs(h, ["log", id], { terminal: true, env: { NO_COLOR: "1" } });
  assert.equal(noColor.stdout, LOG_PLAIN);
  assert.equal((await runAs(h, ["log", id, "--raw"], { terminal: true })).stdout, LOG);
  assert.equal((await runAs(h, ["log", id, "--raw"], { terminal: false })).stdout, LOG);
  const json = await runAs(h, ["log", id, "--json"], { terminal: true });
  assert.equal(JSON.parse(json.stdout).log, LOG);

  assert.equal((await h.run(["cancel", id])).code, 0);
  const tail = await runAs(h, ["tail", id], { terminal: true });
  assert.equal(tail.code, 0, tail.stderr);
  assert.ok(tail.stdout.includes(`log: ${join(h.home, "run-1.log")}\n${LOG_TTY}--- `), tail.stdout);
  const tailPipe = await runAs(h, ["tail", id], { terminal: false });
  assert.ok(tailPipe.stdout.includes(`\n${LOG_PLAIN}--- `));
  assertSafe("tail on a pipe", tailPipe.stdout);
  assert.ok((await runAs(h, ["tail", id, "--raw"], { terminal: false })).stdout.includes(LOG));
});

Deno.test("LogFilter gives the same text however the log is cut into pieces", () => {
  for (const colour of [true, false]) {
    const whole = new LogFilter(colour);
    const expected = whole.push(LOG) + whole.flush();
    assert.equal(expected, colour ? LOG_TTY : LOG_PLAIN);
    for (let cut = 0; cut <= LOG.length; cut++) {
      const f = new LogFilter(colour);
      const got = f.push(LOG.slice(0, cut)) + f.push(LOG.slice(cut)) + f.flush();
      assert.equal(got, expected, `cut at ${cut}`);
    }
    const bytewise = new LogFilter(colour);
    let out = "";
    for (const c of LOG) out += bytewise.push(c);
    assert.equal(out + bytewise.flush(), expected, "one character at a time");
  }
  // a sequence that never ends is dropped, not printed
  const f = new LogFilter(true);
  assert.equal(f.push("ok \x1b]52;c;QUJD") + f.push("RUZH") + f.flush(), "ok ");
  const g = new LogFilter(true);
  assert.equal(g.push("ok \x1b[3") + g.flush(), "ok ");
});

Deno.test("the ambiguous-prefix error counts every task it does not name", async () => {
  using h = await cliHome();
  const board = join(h.home, "boards", "default", "board.db");
  {
    using store = openStore(board);
    for (let i = 0; i < 27; i++) await store.createTask({ title: `t${i}` }, { name: "test" });
  }
  const all = await h.run(["show", "t_"]);
  assert.equal(all.code, 1);
  assert.match(
    all.stderr,
    /matches several tasks: (t_[0-9a-f]{8}, ){4}t_[0-9a-f]{8}, and 22 more\n$/,
  );

  // A hex prefix shared by more than five tasks: 200 random ids put at least 13 under one digit.
  let ids: string[];
  {
    using store = openStore(board);
    for (let i = 0; i < 173; i++) await store.createTask({ title: `u${i}` }, { name: "test" });
    ids = (await store.listTasks({ archived: true, limit: 1000 })).map((t) => t.id);
  }
  assert.equal(ids.length, 200);
  const byDigit = Map.groupBy(ids, (id) => id[2]!);
  const [digit, shared] = [...byDigit].sort((a, b) => b[1].length - a[1].length)[0]!;
  assert.ok(shared.length > 6);
  const r = await h.run(["show", digit]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`, and ${shared.length - 5} more\\n$`));
  const json = await h.run(["show", digit, "--json"]);
  assert.equal(json.json<{ error: { code: string } }>().error.code, "ambiguous_id");
});

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

Deno.test(
  "the real process keeps log colours on a terminal (a pty) only, and stderr shows no control character",
  {
    ignore: !existsSync("/usr/bin/script"),
  },
  async () => {
    using h = await cliHome();
    const id = await create(h, "logged");
    await loggedRun(h, id, LOG);
    const env: Record<string, string> = {
      ...Deno.env.toObject(),
      KANBAN_HOME: h.home,
      USER: "tester",
    };
    delete env["NO_COLOR"];
    const kanban = [Deno.execPath(), "run", "-A", MAIN];
    const quoted = [...kanban, "log", id].map((a) => `'${a}'`).join(" ");
    // script(1) runs the command on a pseudo-terminal and copies what it printed to stdout
    const pty = spawnSync("/usr/bin/script", ["-qec", quoted, "/dev/null"], {
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(pty.status, 0, pty.stderr);
    assert.equal(pty.stdout.replaceAll("\r\n", "\n"), LOG_TTY.replaceAll("\r\n", "\n"));

    const pipe = spawnSync(kanban[0]!, [...kanban.slice(1), "log", id], {
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(pipe.status, 0, pipe.stderr);
    assert.equal(pipe.stdout, LOG_PLAIN);

    // the dispatcher's log (stderr) names the board file: one named with an escape sequence is
    // shown safely, as all of stderr is (main.ts)
    const db = join(h.home, `board${RETITLE}.db`);
    assert.equal((await h.run(["init", "--db", db])).code, 0);
    const child = spawn(kanban[0]!, [...kanban.slice(1), "dispatch", "--db", db], { env });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      if (stderr.includes(" on ")) child.kill("SIGTERM");
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    await new Promise((resolve) => child.once("close", resolve));
    clearTimeout(guard);
    assert.ok(stderr.includes("board␛]0;pwned␇.db"), stderr);
    assertSafe("the dispatcher's log", stderr);
  },
);
