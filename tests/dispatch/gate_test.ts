/** Running a completion gate: real processes, exit codes, output tails, time limits. */

import assert from "node:assert/strict";
import {
  fillGate,
  GATE_OUTPUT_MAX,
  gateFailedSection,
  gateSettings,
  runGate,
} from "../../lib/dispatch/gate.ts";
import { parseConfig } from "../../lib/config/config.ts";
import { profileWarnings } from "../../lib/dispatch/profiles.ts";
import { tempDir } from "../_setup.ts";

const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

Deno.test("a gate that exits 0 passes, in the workspace, with its output kept", async () => {
  using tmp = tempDir();
  const r = await runGate({
    argv: ["sh", "-c", "pwd; echo checks green >&2"],
    cwd: tmp.dir,
    env,
    timeoutMs: 10_000,
  });
  assert.equal(r.passed, true);
  assert.equal(r.exit_code, 0);
  assert.equal(r.timed_out, false);
  assert.match(r.output, new RegExp(`${tmp.dir}\\n`));
  assert.match(r.output, /checks green/);
  assert.ok(r.duration_ms >= 0);
});

Deno.test("a gate that exits non-zero fails with its exit code and the tail of its output", async () => {
  using tmp = tempDir();
  const r = await runGate({
    argv: [
      "sh",
      "-c",
      `head -c ${GATE_OUTPUT_MAX * 3} /dev/zero | tr '\\0' x; echo; echo LAST; exit 3`,
    ],
    cwd: tmp.dir,
    env,
    timeoutMs: 10_000,
  });
  assert.equal(r.passed, false);
  assert.equal(r.exit_code, 3);
  assert.match(r.output, /^\[\.\.\. \d+ characters cut\]\n/);
  assert.match(r.output, /LAST\n$/);
  assert.ok(r.output.length <= GATE_OUTPUT_MAX + 40, `${r.output.length}`);
});

Deno.test("a gate over its time limit is killed with its whole group and fails", async () => {
  using tmp = tempDir();
  const started = Date.now();
  const r = await runGate({
    argv: ["sh", "-c", "echo started; sleep 30 & wait"],
    cwd: tmp.dir,
    env,
    timeoutMs: 300,
  });
  assert.equal(r.passed, false);
  assert.equal(r.timed_out, true);
  assert.equal(r.exit_code, null);
  assert.match(r.output, /started\ngate ran longer than 300 ms and was killed$/);
  assert.ok(Date.now() - started < 10_000);
});

Deno.test("a gate that cannot start fails, saying why", async () => {
  using tmp = tempDir();
  const r = await runGate({ argv: ["/nonexistent/gate"], cwd: tmp.dir, env, timeoutMs: 5_000 });
  assert.equal(r.passed, false);
  assert.equal(r.exit_code, null);
  assert.match(r.output, /gate could not start: .*ENOENT/);
});

Deno.test("fillGate replaces known placeholders and leaves others as written", () => {
  assert.deepEqual(
    fillGate(["check", "{task}", "--in={workspace}", "{other}"], { task: "t_1", workspace: "/w" }),
    ["check", "t_1", "--in=/w", "{other}"],
  );
});

Deno.test("the prompt section after a failed gate names the round and quotes the output", () => {
  const text = gateFailedSection({
    round: 1,
    rounds: 3,
    exit_code: 1,
    output: "lint: 2 errors\n## not a heading\n",
  }).join("\n");
  assert.match(text, /^## Completion gate failed \(round 1 of 3\)\n/);
  assert.match(text, /exited with code 1/);
  assert.match(text, /\n> lint: 2 errors\n> ## not a heading\n/);
  assert.match(text, /the gate runs again \(round 2 of 3\)\.$/);
  assert.doesNotMatch(text, /last round/);
  const last = gateFailedSection({ round: 2, rounds: 3, exit_code: null, output: "" }).join("\n");
  assert.match(last, /round 2 of 3/);
  assert.match(last, /did not finish/);
  assert.match(last, /> \(no output\)/);
  assert.match(last, /\(round 3 of 3\), its last round: if it fails again, the task is blocked/);
});

Deno.test("a profile's gate gets 10 minutes and 3 rounds unless configured; no gate, no settings", () => {
  assert.equal(gateSettings({}), null);
  assert.deepEqual(gateSettings({ gate: ["true"] }), {
    argv: ["true"],
    timeoutMs: 600_000,
    rounds: 3,
  });
  assert.deepEqual(gateSettings({ gate: ["true"], gate_timeout: 5_000, gate_rounds: 1 }), {
    argv: ["true"],
    timeoutMs: 5_000,
    rounds: 1,
  });
});

Deno.test("a profile's gate is not warned about: the dispatcher enforces it", () => {
  const toml =
    '[profiles.coder]\ncommand = ["sh"]\ngate = ["true"]\n[profiles.plain]\ncommand = ["sh"]\n';
  const profiles = parseConfig(toml, "config.toml", { HOME: "/home/u" }).profiles;
  const warnings = profileWarnings(profiles, env);
  assert.deepEqual(warnings, []);
});
