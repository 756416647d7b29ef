import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runCli } from "../../lib/cli/program.ts";
import { openStore, type Subscription, type TaskEvent } from "../../lib/store/mod.ts";
import { type CliHome, cliHome, create } from "./_cli.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HOOK = "https://example.com/hook";

Deno.test("notify add, list and remove manage subscriptions (text and --json)", async () => {
  using h = await cliHome();
  const task = await create(h, "watched", "--tenant", "acme");
  let r = await h.run([
    "notify",
    "add",
    "--webhook",
    HOOK,
    "--secret",
    "s3cret",
    "--task",
    task.slice(0, 5),
    "--event",
    "completed,blocked",
    "--event",
    "commented",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Subscription 1: webhook https:\/\/example\.com\/hook \(task t_/);
  assert.equal(r.stderr, "");

  r = await h.run(["notify", "add", "--command", "cat >> /tmp/x", "--tenant", "acme", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const cmd = r.json<Subscription>();
  assert.equal(cmd.kind, "command");
  assert.equal(cmd.tenant, "acme");
  assert.equal(cmd.cursor, 1, "starts at the head: the task's creation is not replayed");

  r = await h.run(["notify", "list", "--json"]);
  const subs = r.json<Subscription[]>();
  assert.deepEqual(subs.map((s) => [s.id, s.kind, s.state]), [
    [1, "webhook", "active"],
    [2, "command", "active"],
  ]);
  assert.equal(subs[0]!.task_id, task);
  assert.deepEqual(subs[0]!.kinds, ["completed", "blocked", "commented"]);
  assert.equal(subs[0]!.has_secret, true);
  assert.ok(!r.stdout.includes("s3cret"), "the secret is never printed");

  r = await h.run(["notify", "ls"]);
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^ID\s+KIND\s+TARGET\s+FILTER\s+STATE\s+SENT\s+LAST ERROR$/);
  assert.match(lines[1]!, /^1\s+webhook \(signed\)\s+https:\/\/example\.com\/hook\s+task t_/);
  assert.match(lines[2]!, /^2\s+command\s+cat >> \/tmp\/x\s+tenant acme\s+active\s+0$/);

  r = await h.run(["notify", "remove", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Subscription 1 removed (webhook ${HOOK})\n`);
  r = await h.run(["notify", "rm", "2", "--json"]);
  assert.equal(r.json<Subscription>().id, 2);
  r = await h.run(["notify", "list"]);
  assert.equal(r.stdout, "No subscriptions.\n");
});

interface Refusal {
  args: string[];
  code: 1 | 2;
  error: string;
  message: RegExp;
}

const REFUSALS: Refusal[] = [
  {
    args: ["notify", "add", "--webhook", "ftp://example.com/x"],
    code: 2,
    error: "invalid_input",
    message: /webhook URL "ftp:\/\/example\.com\/x" must start with http:\/\/ or https:\/\//,
  },
  {
    args: ["notify", "add", "--webhook", "example.com"],
    code: 2,
    error: "invalid_input",
    message: /webhook URL "example\.com" is not a valid URL/,
  },
  {
    args: ["notify", "add"],
    code: 2,
    error: "usage",
    message: /Give exactly one of --webhook URL or --command CMD/,
  },
  {
    args: ["notify", "add", "--webhook", HOOK, "--command", "cat"],
    code: 2,
    error: "usage",
    message: /Give exactly one of --webhook URL or --command CMD/,
  },
  {
    args: ["notify", "add", "--command", "cat", "--secret", "x"],
    code: 2,
    error: "usage",
    message: /--secret signs webhooks/,
  },
  {
    args: ["notify", "add", "--command", " "],
    code: 2,
    error: "invalid_input",
    message: /command is empty/,
  },
  {
    args: ["notify", "add", "--webhook", HOOK, "--task", "t_ffffffff"],
    code: 1,
    error: "not_found",
    message: /No task matches "t_ffffffff"/,
  },
  {
    args: ["notify", "remove", "42"],
    code: 1,
    error: "not_found",
    message: /No subscription 42/,
  },
  {
    args: ["notify", "remove", "abc"],
    code: 2,
    error: "usage",
    message: /"abc" is not a subscription id/,
  },
  {
    args: ["notify", "enable", "42"],
    code: 1,
    error: "not_found",
    message: /No subscription 42/,
  },
];

for (const c of REFUSALS) {
  Deno.test(`kanban ${c.args.join(" ")} exits ${c.code} with a clear message`, async () => {
    using h = await cliHome();
    const text = await h.run(c.args);
    assert.equal(text.code, c.code, text.stderr);
    assert.equal(text.stdout, "");
    assert.match(text.stderr, c.message);
    assert.equal(text.stderr.trim().split("\n").length, 1, "one line on stderr");
    const json = await h.run([...c.args, "--json"]);
    assert.equal(json.code, c.code);
    const err = json.json<{ error: { code: string; message: string } }>().error;
    assert.equal(err.code, c.error);
    assert.match(err.message, c.message);
    assert.equal((await h.run(["notify", "list", "--json"])).json<unknown[]>().length, 0);
  });
}

Deno.test("notify add warns about an event kind the board never writes, and still adds it", async () => {
  using h = await cliHome();
  const r = await h.run(["notify", "add", "--webhook", HOOK, "--event", "complete"]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /warning: no event of kind "complete" is written today \(known: created,/);
  assert.equal((await h.run(["notify", "list", "--json"])).json<unknown[]>().length, 1);
});

Deno.test("notify enable brings a disabled subscription back with its cursor", async () => {
  using h = await cliHome();
  await h.run(["notify", "add", "--webhook", HOOK]);
  const path = `${h.home}/boards/default/board.db`;
  {
    using store = openStore(path);
    await store.markFailed(1, "HTTP 500", null, true);
  }
  let r = await h.run(["notify", "list"]);
  assert.match(r.stdout, /disabled after 1 failures\s+0\s+HTTP 500/);
  r = await h.run(["notify", "enable", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Subscription 1 enabled; delivery resumes after event #0/);
  assert.equal(
    (await h.run(["notify", "list", "--json"])).json<Subscription[]>()[0]!.state,
    "active",
  );
});

Deno.test("watch --since 0 --count N replays history, one JSON line per event", async () => {
  using h = await cliHome();
  const a = await create(h, "a");
  const b = await create(h, "b");
  await h.run(["comment", a, "hello"]);
  let r = await h.run(["watch", "--since", "0", "--count", "3", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as TaskEvent);
  assert.deepEqual(events.map((e) => [e.id, e.kind, e.task_id]), [
    [1, "created", a],
    [2, "created", b],
    [3, "commented", a],
  ]);
  r = await h.run(["watch", "--since", "1", "--task", a, "-n", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^\\S+Z  #3  ${a}  commented  \\(tester\\)\\n$`));
  r = await h.run(["watch", "--since", "-1"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--since "-1" is not an event id/);
});

/** startWatch runs `kanban watch` in-process and resolves `ready` once it has read the head. */
function startWatch(h: CliHome, args: string[]) {
  let stdout = "";
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => markReady = resolve);
  const done = runCli(["watch", ...args], {
    env: { KANBAN_HOME: h.home, USER: "tester" },
    cwd: h.home,
    stdout: (s) => void (stdout += s),
    stderr: (s) => {
      if (s.includes("watching")) markReady();
    },
    readStdin: () => Promise.resolve(""),
    now: Date.now,
  });
  return { ready, done: done.then((code) => ({ code, stdout })) };
}

Deno.test("watch starts at the current head and prints new events as they happen", async () => {
  using h = await cliHome();
  const old = await create(h, "history");
  const w = startWatch(h, ["--count", "2", "--json"]);
  await w.ready;
  const fresh = await create(h, "fresh");
  await h.run(["comment", old, "news"]);
  const { code, stdout } = await w.done;
  assert.equal(code, 0);
  const events = stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as TaskEvent);
  assert.deepEqual(events.map((e) => [e.kind, e.task_id]), [
    ["created", fresh],
    ["commented", old],
  ]);
});

Deno.test("watch --timeout ends a quiet watch with exit code 0", async () => {
  using h = await cliHome();
  const r = await h.run(["watch", "--timeout", "1"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "");
});

Deno.test("watch in a real process streams events and stops cleanly on SIGTERM", async () => {
  using h = await cliHome();
  const path = `${h.home}/boards/default/board.db`;
  const child = spawn(Deno.execPath(), ["run", "-A", "main.ts", "--db", path, "watch", "--json"], {
    cwd: ROOT,
    env: { ...Deno.env.toObject(), KANBAN_HOME: h.home },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let onLine: (() => void) | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      stderr += s;
      if (stderr.includes("watching")) resolve();
    });
    child.once("exit", () => reject(new Error(`watch exited early: ${stderr}`)));
  });
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (s: string) => {
    stdout += s;
    onLine?.();
  });
  const exited = new Promise<[number | null, string | null]>((resolve) =>
    child.once("exit", (code, signal) => resolve([code, signal]))
  );
  try {
    await ready;
    const gotTwo = new Promise<void>((resolve) => {
      onLine = () => {
        if (stdout.split("\n").length > 2) resolve();
      };
    });
    const id = await create(h, "live");
    await h.run(["comment", id, "hi"]);
    await gotTwo;
    // process.kill, not child.kill: Deno's child.kill() reports the signal it sent as the
    // cause of exit even when the child handled it and exited 0.
    process.kill(child.pid!, "SIGTERM");
    assert.deepEqual(await exited, [0, null], stderr);
    const kinds = stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as TaskEvent).kind);
    assert.deepEqual(kinds, ["created", "commented"]);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }
});

Deno.test("status warns about a disabled subscription and says how to enable it", async () => {
  using h = await cliHome();
  await h.run(["notify", "add", "--webhook", HOOK]);
  {
    using store = openStore(`${h.home}/boards/default/board.db`);
    await store.markFailed(1, "HTTP 500: down", null, true);
  }
  const r = await h.run(["status", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.json<{ warnings: string[] }>().warnings;
  assert.ok(
    warnings.some((w) =>
      w.includes("notification 1 (webhook https://example.com/hook) disabled after 1 failures") &&
      w.includes('"kanban notify enable 1"')
    ),
    JSON.stringify(warnings),
  );
});
