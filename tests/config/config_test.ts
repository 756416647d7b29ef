/** config.toml's prompt keys (prompt, prompt_file) and mcp: what loads and what is refused. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ConfigError,
  loadConfig,
  MCP_PRESETS,
  parseConfig,
  PRESET_NAMES,
  SAMPLE_CONFIG,
} from "../../lib/config/config.ts";
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
