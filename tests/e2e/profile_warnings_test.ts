/**
 * Before any task is claimed, `kanban status`, `kanban dispatch --dry-run` and the dispatcher's
 * start-up log say what will keep a profile's workers from running: a CLI that is not on the
 * PATH, and Claude Code refusing to bypass permissions as root without IS_SANDBOX. The real
 * binary runs with the real CLIs of the real-CLI tier on its PATH.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { binaryHome } from "./_binary.ts";
import { AGENTS_BIN } from "../agents/_tier.ts";

const ROOT = process.getuid?.() === 0;
const REFUSES =
  /profile careless: claude-code refuses --permission-mode bypassPermissions as root \(IS_SANDBOX is "yes"\): .*IS_SANDBOX = "1".*docs\/agents\.md/;

Deno.test(`status and dispatch --dry-run warn before a claim: a missing CLI, and (${ROOT ? "as root" : "not root"}) Claude Code without IS_SANDBOX or Gemini CLI with mcp = true`, () => {
  using h = binaryHome();
  h.json(["init"]);
  writeFileSync(
    join(h.home, "config.toml"),
    [
      // the suite's own load on a small machine must not hold the dry run's start (pressure.ts)
      "[dispatch]",
      "max_load = 0",
      "[profiles.careless]",
      'preset = "claude-code"',
      "[profiles.sandboxed]",
      'preset = "claude-code"',
      'env = { IS_SANDBOX = "1" }',
      "[profiles.gemini]",
      'preset = "gemini"',
      "mcp = true",
      "[profiles.missing]",
      'command = ["no-such-agent-cli"]',
    ].join("\n"),
  );
  const task = h.json<{ id: string }>(["create", "waits", "--assignee", "careless"]);
  // IS_SANDBOX=yes: set, but not the "1" Claude Code accepts (the warning names the value)
  const env = { PATH: `${AGENTS_BIN}:/usr/bin:/bin`, IS_SANDBOX: "yes" };
  const status = h.json<{ warnings: string[] }>(["status"], env).warnings;
  const dry = h.kanban(["dispatch", "--dry-run"], { ...env, KANBAN_BIN: "/bin/true" });
  assert.equal(dry.code, 0, dry.stderr);
  for (const warnings of [status, dry.stdout.split("\n")]) {
    const text = warnings.join("\n");
    assert.match(text, /profile missing: command "no-such-agent-cli" is not found/);
    assert.doesNotMatch(text, /profile careless: command "claude"/, "claude is on the PATH");
    assert.doesNotMatch(text, /profile sandboxed: claude-code refuses/);
    // Gemini CLI takes a per-run settings file only from a root-owned folder chain
    const geminiMcp = /profile gemini: mcp = true needs a dispatcher running as root/;
    if (ROOT) {
      assert.match(text, REFUSES);
      assert.doesNotMatch(text, geminiMcp);
    } else {
      assert.doesNotMatch(text, /refuses/);
      assert.match(text, geminiMcp);
    }
  }
  assert.match(
    dry.stdout,
    new RegExp(`would start ${task.id} \\(careless\\)`),
    "warned, not refused",
  );
  const shown = h.json<{ task: { status: string } }>(["show", task.id]);
  assert.equal(shown.task.status, "ready", "a dry run claims nothing");
});
