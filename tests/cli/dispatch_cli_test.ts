import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliHome, create } from "./_cli.ts";
import { AGENTS } from "../dispatch/_harness.ts";
import { BINARY } from "../e2e/_binary.ts";
import { buildProgram } from "../../lib/cli/program.ts";
import { defaultMaxWorkers, memTotal } from "../../lib/dispatch/pressure.ts";
import { MACHINE_OFF } from "../_setup.ts";

Deno.test("init writes a commented sample config that loads as defaults", async () => {
  using h = await cliHome({ init: false });
  const r = await h.run(["init", "--json"]);
  assert.equal(r.json()["config_created"], true);
  assert.equal((await h.run(["init", "--json"])).json()["config_created"], false);
  const d = await h.run(["dispatch", "--dry-run", "--json"], { KANBAN_BIN: BINARY });
  assert.equal(d.code, 0, d.stderr);
  // unset in the sample: one worker per 2 GiB of this machine's memory, 1 to 8
  assert.equal(d.json()["max_workers"], defaultMaxWorkers(memTotal()));
  assert.equal(d.json()["max_workers_from"], "memory");
  assert.match(
    (await h.run(["dispatch", "--dry-run"], { KANBAN_BIN: BINARY })).stdout,
    /\d+\/\d+ workers \(max_workers from the machine's memory\)/,
  );
});

Deno.test("a broken config.toml is refused naming the file, the key and the problem", async () => {
  using h = await cliHome();
  writeFileSync(
    join(h.home, "config.toml"),
    '[profiles.coder]\npreset = "claude-code"\nmax_concurrent = "two"\n',
  );
  const r = await h.run(["dispatch", "--once"], { KANBAN_BIN: BINARY });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /config\.toml: profiles\.coder\.max_concurrent: .*expected number/);
});

Deno.test("dispatch --once runs a pass; log prints the worker's output; status reports health", async () => {
  using h = await cliHome();
  writeFileSync(
    join(h.home, "config.toml"),
    `[dispatch]\n${MACHINE_OFF}[profiles.coder]\ncommand = ["${
      join(AGENTS, "complete.sh")
    }"]\n[profiles.lost]\ncommand = ["no-such-agent-cli"]\n`,
  );
  const env = { KANBAN_BIN: BINARY, PATH: "/usr/bin:/bin" };
  const id = await create(h, "first", "--assignee", "coder");
  await create(h, "unowned", "--assignee", "ghost");
  const once = await h.run(["dispatch", "--once", "--json"], env);
  assert.equal(once.code, 0, once.stderr);
  assert.equal(once.json<{ spawned: unknown[] }>().spawned.length, 1);
  for (let i = 0; i < 100; i++) {
    const t = (await h.run(["show", id, "--json"])).json<{ task: { status: string } }>();
    if (t.task.status === "done") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await h.run(["dispatch", "--once"], env); // reaps the exited worker
  const log = await h.run(["log", id]);
  assert.equal(log.code, 0, log.stderr);
  assert.match(log.stdout, new RegExp(`working on ${id}`));
  const tail = await h.run(["tail", id]);
  assert.match(tail.stdout, /completed -> done/);
  const status = await h.run(["status", "--json"], env);
  const s = status.json<{ warnings: string[]; dispatchers: { holds_board: boolean }[] }>();
  assert.ok(s.warnings.some((w) => /"ghost", which has no profile/.test(w)), s.warnings.join("\n"));
  assert.ok(
    s.warnings.some((w) => /profile lost: command "no-such-agent-cli" is not found/.test(w)),
  );
  assert.equal(s.dispatchers.length, 1);
  const text = await h.run(["status"], env);
  assert.match(text.stdout, /warnings:/);
  assert.equal((await h.run(["log", "t_00000000"])).code, 1);
});

Deno.test("tail follows a running task's output and events until it leaves running", async () => {
  using h = await cliHome();
  writeFileSync(
    join(h.home, "config.toml"),
    `[profiles.talker]\ncommand = ["${join(AGENTS, "chatty.sh")}"]\n`,
  );
  const env = { KANBAN_BIN: BINARY, PATH: "/usr/bin:/bin", LINES_OUT: "10" };
  const id = await create(h, "talk", "--assignee", "talker");
  assert.equal((await h.run(["dispatch", "--once"], env)).code, 0);
  const tail = await h.run(["tail", id]); // returns once the worker completes by itself
  assert.equal(tail.code, 0, tail.stderr);
  assert.match(tail.stdout, /--- run 1 log: /);
  assert.match(tail.stdout, /line 0: 0+\nline 1: /);
  assert.match(tail.stdout, /line 9: /);
  assert.match(tail.stdout, /completed -> done/);
  assert.match(tail.stdout, new RegExp(`--- ${id} is done\\n$`));
  await h.run(["dispatch", "--once"], env); // reap
});

Deno.test("dispatch --serve takes every flag of kanban serve", () => {
  const program = buildProgram(
    {
      env: {},
      cwd: "/",
      stdout: () => {},
      stderr: () => {},
      readStdin: () => Promise.resolve(""),
      now: Date.now,
    } as unknown as Parameters<typeof buildProgram>[0],
  );
  const flags = (name: string) =>
    program.commands.find((c) => c.name() === name)!.options.map((o) => o.long!);
  const missing = flags("serve").filter((f) => !flags("dispatch").includes(f));
  assert.deepEqual(missing, [], "serve flags dispatch lacks");
  assert.ok(flags("serve").includes("--allow-host"));
});
