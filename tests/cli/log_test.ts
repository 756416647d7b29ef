/**
 * `kanban log` and `kanban tail` show a preset's machine-readable output as the lines a person
 * reads (through the preset of the run's profile in config.toml); `--raw` prints the file as
 * it is. The log is real Claude Code stream-json output (the preset's fixture).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { claudeCode } from "../../lib/dispatch/presets/claude_code.ts";
import { openStore } from "../../lib/store/mod.ts";
import { type CliHome, cliHome, create } from "./_cli.ts";

const FIXTURE = new URL("../dispatch/presets/fixtures/claude_code.jsonl", import.meta.url);

/**
 * loggedRun claims task `id` and records a worker whose log holds `text`, as the dispatcher
 * does for a run it starts. Returns the run's id and the log's path.
 */
async function loggedRun(h: CliHome, id: string, text: string) {
  const claim = (await h.run(["claim", id, "--json"])).json<{ run: { id: number } }>();
  const logPath = join(h.home, `run-${claim.run.id}.log`);
  writeFileSync(logPath, text);
  using store = openStore(join(h.home, "boards", "default", "board.db"));
  const spawn = {
    pid: 1,
    pid_start_time: null,
    host: "here",
    log_path: logPath,
    workspace: h.home,
  };
  await store.recordSpawn(claim.run.id, spawn, { name: "dispatcher" });
  return { run: claim.run.id, logPath };
}

Deno.test("log and tail read a preset's JSON output as readable lines; --raw prints the file", async () => {
  using h = await cliHome();
  writeFileSync(join(h.home, "config.toml"), '[profiles.coder]\npreset = "claude-code"\n');
  const id = await create(h, "logged", "--assignee", "coder");
  const raw = readFileSync(FIXTURE, "utf8");
  const { run, logPath } = await loggedRun(h, id, raw);
  const readable = raw.split("\n").map((l) => claudeCode.readable!(l)).filter((l) => l)
    .map((l) => `${l}\n`).join("");
  assert.ok(readable.includes("→ Bash: "), "the fixture holds a tool call");

  const log = await h.run(["log", id]);
  assert.equal(log.code, 0, log.stderr);
  assert.equal(log.stdout, readable);
  assert.doesNotMatch(log.stdout, /\{"type":/);
  assert.equal((await h.run(["log", id, "--raw"])).stdout, raw);
  assert.equal((await h.run(["log", id, "--json"])).json<{ log: string }>().log, raw);

  await h.run(["cancel", id]);
  const tail = await h.run(["tail", id]);
  assert.equal(tail.code, 0, tail.stderr);
  assert.ok(tail.stdout.includes(`--- run ${run} log: ${logPath}\n${readable}`));
  assert.ok((await h.run(["tail", id, "--raw"])).stdout.includes(raw));
});

Deno.test("a run of a command profile's log is printed as it is", async () => {
  using h = await cliHome();
  writeFileSync(join(h.home, "config.toml"), '[profiles.script]\ncommand = ["my-agent"]\n');
  const id = await create(h, "logged", "--assignee", "script");
  const text = '{"type":"assistant"}\nplain line\n';
  await loggedRun(h, id, text);
  assert.equal((await h.run(["log", id])).stdout, text);
});
