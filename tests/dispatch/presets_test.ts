/**
 * Preset conformance: for each agent CLI preset, a stub executable of that name records the
 * argv, environment and working directory it was started with, then completes its task.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MCP_PRESETS, PRESET_NAMES } from "../../lib/config/config.ts";
import { PRESETS, WORKER_ENV } from "../../lib/dispatch/profiles.ts";
import { MCP_NOTE } from "../../lib/dispatch/prompt.ts";
import { harness } from "./_harness.ts";
import { tempDir } from "../_setup.ts";

const STUB = `#!/bin/sh
# Records how it was started, then behaves like a worker that finished.
out="$KANBAN_WORKSPACE/started.json"
{
  printf '{"argv0":"%s","cwd":"%s","task":"%s","run":"%s","profile":"%s","db":"%s","tty":"%s","stdin":"%s","argc":%s}' \\
    "$(basename "$0")" "$(pwd)" "$KANBAN_TASK" "$KANBAN_RUN" "$KANBAN_PROFILE" "$KANBAN_DB" \\
    "$(tty -s && echo yes || echo no)" "$(cat | wc -c)" "$#"
} > "$out"
i=0
for a in "$@"; do printf '%s\\0' "$a"; done > "$KANBAN_WORKSPACE/argv.bin"
kanban complete --summary "stub $(basename "$0") ok" > /dev/null
`;

/**
 * stubbed writes the stub as the preset's program in `dir`/bin and starts a harness whose
 * workers' PATH finds it first, with a profile "worker" of `profile`'s TOML lines.
 */
async function stubbed(dir: string, preset: keyof typeof PRESETS, profile: string) {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const program = PRESETS[preset].argv[0]!;
  writeFileSync(join(bin, program), STUB);
  chmodSync(join(bin, program), 0o755);
  return await harness({ worker: `preset = "${preset}"\n${profile}` }, "", {
    PATH: `${bin}:/usr/bin:/bin`,
  });
}

for (const preset of PRESET_NAMES) {
  Deno.test(`preset ${preset} starts its CLI headless with the task's argv, env and cwd`, async () => {
    using tmp = tempDir("kanban-stubs-");
    await using p = await stubbed(tmp.dir, preset, 'args = ["--extra", "{task}"]');
    const program = PRESETS[preset].argv[0]!;
    const task = await p.create("stubbed", "worker");
    await p.until(async () => (await p.status(task.id)) === "done");
    const run = (await p.store.listRuns(task.id))[0]!;
    const started = JSON.parse(readFileSync(join(run.workspace!, "started.json"), "utf8"));
    assert.equal(started.argv0, program);
    assert.equal(started.cwd, run.workspace);
    assert.equal(started.task, task.id);
    assert.equal(started.run, String(run.id));
    assert.equal(started.profile, "worker");
    assert.equal(started.db, p.boardPath);
    assert.equal(started.tty, "no", "no terminal: the CLI runs headless");
    const prompt = readFileSync(run.log_path!.replace(/\.log$/, ".prompt.md"), "utf8");
    assert.equal(
      started.stdin,
      PRESETS[preset].stdin === "prompt" ? String(new TextEncoder().encode(prompt).length) : "0",
      "stdin is empty, or the prompt for a CLI that reads it there",
    );
    const argv = readFileSync(join(run.workspace!, "argv.bin"), "utf8").split("\0").slice(0, -1);
    const expected = [...PRESETS[preset].argv.slice(1), "--extra", "{task}"].map((a) =>
      a === "{prompt}" ? prompt : a.replaceAll("{task}", task.id)
    );
    // then what the preset adds for one run (codex: the board's folder in its sandbox)
    assert.deepEqual(argv.slice(0, expected.length), expected);
    assert.match(prompt, new RegExp(`# Task ${task.id}: stubbed`));
    assert.match(prompt, /kanban complete --summary/);
    assert.equal(run.outcome, "completed");
    assert.equal(run.summary, `stub ${program} ok`);
  });
}

for (const preset of MCP_PRESETS) {
  Deno.test(`preset ${preset} with mcp = true is also handed kanban's MCP server on its command line`, async () => {
    using tmp = tempDir("kanban-stubs-");
    await using p = await stubbed(tmp.dir, preset, 'mcp = true\nargs = ["--extra"]');
    const task = await p.create("with tools", "worker");
    await p.until(async () => (await p.status(task.id)) === "done");
    const run = (await p.store.listRuns(task.id))[0]!;
    const argv = readFileSync(join(run.workspace!, "argv.bin"), "utf8").split("\0").slice(0, -1);
    const prompt = readFileSync(run.log_path!.replace(/\.log$/, ".prompt.md"), "utf8");
    const expected = [
      ...PRESETS[preset].argv.slice(1).map((a) =>
        a === "{prompt}" ? prompt : a.replaceAll("{task}", task.id)
      ),
      "--extra",
    ];
    assert.deepEqual(argv.slice(0, expected.length), expected, "the preset's argv, then args");
    // then what the preset adds for kanban's server: arguments, or a settings file named in
    // the environment (gemini), whose variables the stub cannot see; the real-CLI tier
    // (tests/agents/) proves each recipe
    const added = PRESETS[preset].launch!({
      kanban: "kanban",
      board: p.boardPath,
      env: {},
      args: ["--extra"],
      mcp: true,
      runFile: (name) => join(tmp.dir, name),
      workspace: { path: tmp.dir, own: true },
    });
    assert.ok(
      argv.length > expected.length || Object.keys(added.env ?? {}).length > 0,
      "the preset hands the CLI kanban's server",
    );
    assert.ok(prompt.endsWith(MCP_NOTE), "the prompt says the tools are there too");
    assert.equal(
      argv.some((a) => a.includes(p.boardPath) && a.includes("KANBAN_TOKEN=")),
      false,
      "no token on the command line",
    );
    for (const name of ["KANBAN_TASK", "KANBAN_TOKEN", "KANBAN_DB", "KANBAN_RUN"]) {
      assert.ok((WORKER_ENV as readonly string[]).includes(name), name);
    }
    assert.equal(run.outcome, "completed");
  });
}
