/**
 * config.toml: the prompt keys (prompt, prompt_file) and mcp, and the limits of durations,
 * sizes and files read: what loads and what is refused.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CONFIG_MAX_BYTES,
  ConfigError,
  LIMITS,
  loadConfig,
  MCP_PRESETS,
  parseConfig,
  PRESET_NAMES,
  SAMPLE_CONFIG,
} from "../../lib/config/config.ts";
import { formatDuration, MAX_TIMER_MS, parseDuration } from "../../lib/config/duration.ts";
import { tempDir } from "../_setup.ts";

const env = { HOME: "/home/u", KANBAN_HOME: "/home/u/.kanban" };
const profile = (body: string) => `[profiles.coder]\npreset = "claude-code"\n${body}\n`;

Deno.test("a profile's prompt and mcp default to the built-in prompt and no MCP server", () => {
  const p = parseConfig(profile(""), "config.toml", env).profiles["coder"]!;
  assert.equal(p.prompt, undefined);
  assert.equal(p.mcp, false);
});

Deno.test("prompt_file is read at load, relative to the config file's folder or from ~", () => {
  using tmp = tempDir();
  mkdirSync(join(tmp.dir, "prompts"));
  writeFileSync(join(tmp.dir, "prompts", "coder.md"), "Coder.\n{context}\n{protocol}");
  mkdirSync(join(tmp.dir, "home"));
  writeFileSync(join(tmp.dir, "home", "p.md"), "{context}");
  const file = join(tmp.dir, "config.toml");
  writeFileSync(
    file,
    profile('prompt_file = "prompts/coder.md"') +
      '[profiles.other]\ncommand = ["x"]\nprompt_file = "~/p.md"\n',
  );
  const config = loadConfig({ ...env, HOME: join(tmp.dir, "home") }, file);
  assert.equal(config.profiles["coder"]!.prompt, "Coder.\n{context}\n{protocol}");
  assert.equal(config.profiles["other"]!.prompt, "{context}");
});

Deno.test("a missing prompt_file is a config error naming the key and the path", () => {
  using tmp = tempDir();
  const file = join(tmp.dir, "config.toml");
  writeFileSync(file, profile('prompt_file = "nope.md"'));
  assert.throws(
    () => loadConfig(env, file),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message.includes("profiles.coder.prompt_file: cannot read") &&
      e.message.includes(join(tmp.dir, "nope.md")),
  );
});

Deno.test("prompt and prompt_file together, and unknown placeholders, are refused", () => {
  assert.throws(
    () => parseConfig(profile('prompt = "{context}"\nprompt_file = "p.md"'), "c.toml", env),
    /c\.toml: profiles\.coder: give at most one of prompt or prompt_file/,
  );
  assert.throws(
    () => parseConfig(profile('prompt = "{context} for {task}"'), "c.toml", env),
    /c\.toml: profiles\.coder\.prompt: unknown placeholder \{task\} \(known: \{context\}, \{protocol\}\)/,
  );
  using tmp = tempDir();
  writeFileSync(join(tmp.dir, "p.md"), "{contxt}");
  const file = join(tmp.dir, "config.toml");
  writeFileSync(file, profile('prompt_file = "p.md"'));
  assert.throws(
    () => loadConfig(env, file),
    /prompt_file: ".*p\.md" has unknown placeholder \{contxt\}/,
  );
});

Deno.test("mcp = true is accepted for the presets that can take a server per run, refused for others and commands", () => {
  assert.ok(MCP_PRESETS.includes("claude-code") && MCP_PRESETS.includes("codex"));
  for (const preset of MCP_PRESETS) {
    const toml = `[profiles.a]\npreset = "${preset}"\nmcp = true\n`;
    assert.equal(parseConfig(toml, "c.toml", env).profiles["a"]!.mcp, true);
  }
  const others = PRESET_NAMES.filter((p) => !MCP_PRESETS.includes(p));
  for (const body of [...others.map((p) => `preset = "${p}"`), 'command = ["my-agent"]']) {
    assert.throws(
      () => parseConfig(`[profiles.a]\n${body}\nmcp = true\n`, "c.toml", env),
      new RegExp(
        `profiles\\.a: mcp = true works with the presets ${
          MCP_PRESETS.join(", ")
        }; .*docs/agents\\.md`,
      ),
      body,
    );
  }
});

Deno.test("the sample config still loads as defaults", () => {
  const config = parseConfig(SAMPLE_CONFIG, "config.toml", env);
  assert.deepEqual(config.profiles, {});
});

const dispatch = (body: string) => `[dispatch]\n${body}\n`;

/** refused asserts that `toml` is refused with exactly `message` (file and key first). */
function refused(toml: string, message: string): void {
  assert.throws(
    () => parseConfig(toml, "config.toml", env),
    (e: Error) => {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

Deno.test("durations past their key's maximum are refused, naming the file, the key and the limit", () => {
  refused(
    dispatch('lease = "400d"'),
    'config.toml: dispatch.lease: "400d" is longer than the maximum 1d',
  );
  refused(
    dispatch('dispatcher_lease = "100000000000d"'),
    'config.toml: dispatch.dispatcher_lease: "100000000000d" is longer than the maximum 36500d',
  );
  refused(
    dispatch('dispatcher_lease = "2h"'),
    'config.toml: dispatch.dispatcher_lease: "2h" is longer than the maximum 1h',
  );
  refused(
    dispatch("stop_grace = 86400"), // a number is seconds
    "config.toml: dispatch.stop_grace: 86400 is longer than the maximum 10m",
  );
  refused(
    profile('max_runtime = "31d"'),
    'config.toml: profiles.coder.max_runtime: "31d" is longer than the maximum 30d',
  );
  refused(
    dispatch('log_max_bytes = "2GB"'),
    'config.toml: dispatch.log_max_bytes: "2GB" is larger than the maximum 128MB',
  );
  refused(
    dispatch("log_max_bytes = 100"),
    "config.toml: dispatch.log_max_bytes: 100 is smaller than the minimum 1KB",
  );
  refused(
    dispatch('poll_interval = "0s"'),
    'config.toml: dispatch.poll_interval: "0s" is not a positive duration',
  );
});

Deno.test("every duration at its maximum loads, and those that feed timers stay under 2^31-1 ms", () => {
  const keys = Object.keys(LIMITS) as (keyof typeof LIMITS)[];
  // poll_interval may not be longer than the lease: give that its maximum too
  const toml = dispatch(keys.map((k) => `${k} = "${formatDuration(LIMITS[k])}"`).join("\n"));
  const d = parseConfig(toml, "config.toml", env).dispatch;
  for (const k of keys) assert.equal(d[k], LIMITS[k] * 1000, k);
  for (const k of ["poll_interval", "lease", "dispatcher_lease", "stop_grace", "exit_grace"]) {
    assert.ok(LIMITS[k as keyof typeof LIMITS] * 1000 <= MAX_TIMER_MS, k);
  }
  // a deadline at the largest duration any flag takes is still a date
  assert.ok(!Number.isNaN(new Date(Date.now() + parseDuration("36500d") * 1000).getTime()));
  assert.throws(() => parseDuration("36501d"), /longer than the maximum 36500d/);
});

Deno.test("a poll_interval longer than the runs' lease is refused: the leases would lapse between passes", () => {
  refused(
    dispatch('poll_interval = "1h"'),
    "config.toml: dispatch.poll_interval: 1h is longer than dispatch.lease (2m): " +
      "the runs' leases would lapse between passes (keep it under a third of lease)",
  );
  refused(
    dispatch('poll_interval = "20s"\nlease = "10s"'),
    "config.toml: dispatch.poll_interval: 20s is longer than dispatch.lease (10s): " +
      "the runs' leases would lapse between passes (keep it under a third of lease)",
  );
  const d = parseConfig(dispatch('poll_interval = "1s"\nlease = "1s"'), "c.toml", env).dispatch;
  assert.equal(d.poll_interval, 1000);
});

Deno.test("a prompt_file that never ends (/dev/zero) is refused quickly, naming the key and the cap", () => {
  using tmp = tempDir();
  const file = join(tmp.dir, "config.toml");
  writeFileSync(file, profile('prompt_file = "/dev/zero"'));
  const t0 = performance.now();
  assert.throws(
    () => loadConfig(env, file),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(
        e.message,
        `${file}: profiles.coder.prompt_file: "/dev/zero" is larger than 1 MiB, the largest prompt template`,
      );
      return true;
    },
  );
  assert.ok(performance.now() - t0 < 5_000, "reading stopped at the cap");
});

Deno.test("a config file over 1 MiB is refused without reading it all", () => {
  using tmp = tempDir();
  const file = join(tmp.dir, "config.toml");
  writeFileSync(file, "# padding\n".repeat(CONFIG_MAX_BYTES / 10 + 1));
  assert.throws(() => loadConfig(env, file), /config\.toml: larger than 1 MiB: not a config file/);
  // a symlink to /dev/zero, the same
  const zero = join(tmp.dir, "zero.toml");
  Deno.symlinkSync("/dev/zero", zero);
  assert.throws(() => loadConfig(env, zero), /zero\.toml: larger than 1 MiB/);
});

Deno.test("budgets in config.toml are read with their scope and window; a bad one is refused by key", () => {
  const ok = parseConfig(
    `[budgets.daily]\nscope = "profile:coder"\nmetric = "tokens"\ncap = 2_000_000\nwindow = "5h"\n`,
    "/x/config.toml",
    {},
  );
  assert.deepEqual(ok.budgets, {
    daily: { scope: "profile:coder", metric: "tokens", cap: 2_000_000, window: "5h", soft: false },
  });
  const bad = (body: string, message: RegExp) =>
    assert.throws(() => parseConfig(`[budgets.b]\n${body}`, "/x/config.toml", {}), message);
  const base = { scope: '"board"', metric: '"runs"', cap: "3", window: '"day"' };
  const toml = (o: Record<string, string>) =>
    Object.entries(o).map(([k, v]) => `${k} = ${v}`).join("\n");
  bad(toml({ ...base, metric: '"dollars"' }), /config\.toml: budgets\.b\.metric: /);
  bad(toml({ ...base, scope: '"team:x"' }), /budgets\.b\.scope: board, profile:NAME/);
  bad(toml({ ...base, window: '"fortnight"' }), /budgets\.b\.window: run, day, week, month/);
  bad(toml({ ...base, cap: "0" }), /budgets\.b\.cap: cap must be above 0/);
  bad(toml({ ...base, hard: "true" }), /budgets\.b: unknown key "hard"/);
});

Deno.test("a profile's completion gate: argv with gate placeholders, its time limit in ms, its rounds", () => {
  const p = parseConfig(
    profile(
      'gate = ["sh", "-c", "check {task} in {workspace}"]\ngate_timeout = "5m"\ngate_rounds = 2',
    ),
    "config.toml",
    env,
  ).profiles["coder"]!;
  assert.deepEqual(p.gate, ["sh", "-c", "check {task} in {workspace}"]);
  assert.equal(p.gate_timeout, 300_000);
  assert.equal(p.gate_rounds, 2);
  const bare = parseConfig(profile('gate = ["true"]'), "config.toml", env).profiles["coder"]!;
  assert.equal(bare.gate_timeout, undefined);
  assert.equal(bare.gate_rounds, undefined);
});

Deno.test("a bad gate, gate_timeout or gate_rounds is refused, naming the key", () => {
  refused(
    profile('gate = ["true"]\ngate_timeout = "2d"'),
    'config.toml: profiles.coder.gate_timeout: "2d" is longer than the maximum 1d',
  );
  refused(
    profile('gate = ["true"]\ngate_timeout = "soon"'),
    'config.toml: profiles.coder.gate_timeout: "soon" is not a duration (like 90s, 30m, 1h30m, 2d)',
  );
  refused(
    profile('gate = ["true"]\ngate_rounds = 0'),
    "config.toml: profiles.coder.gate_rounds: at least 1",
  );
  refused(
    profile('gate = ["true"]\ngate_rounds = 21'),
    "config.toml: profiles.coder.gate_rounds: at most 20",
  );
  refused(profile("gate = []"), "config.toml: profiles.coder.gate: must name a program");
  refused(
    profile('gate = ["check", "{prompt}"]'),
    "config.toml: profiles.coder.gate: unknown placeholder {prompt} (known in a gate: {task}, {workspace}, {profile}, {board}, {kanban})",
  );
  refused(
    profile("gate_rounds = 2"),
    "config.toml: profiles.coder: gate_timeout and gate_rounds need a gate",
  );
});
