/** `kanban skills list|show|install`: the shipped SKILL.md files, exactly, where CLIs look. */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { frontmatter, SKILLS } from "../../skills/mod.ts";
import { cliHome } from "./_cli.ts";

const SKILLS_DIR = new URL("../../skills/", import.meta.url);
const onDisk = (name: string) => readFileSync(new URL(`${name}/SKILL.md`, SKILLS_DIR), "utf8");

Deno.test("every folder in skills/ is shipped, byte for byte, with frontmatter agent CLIs accept", () => {
  const folders = readdirSync(SKILLS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory()).map((e) => e.name).sort();
  assert.deepEqual(SKILLS.map((s) => s.name).sort(), folders);
  for (const skill of SKILLS) {
    assert.equal(skill.text, onDisk(skill.name), `${skill.name}: embedded text = file`);
    const fields = frontmatter(skill.text);
    // The Agent Skills rules: name = folder, lowercase words joined by single hyphens, at most
    // 64 characters; a description of 1-1024 characters; only standard keys.
    assert.deepEqual(Object.keys(fields).sort(), ["description", "name"]);
    assert.match(skill.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(skill.name.length <= 64);
    assert.ok(skill.description.length >= 1 && skill.description.length <= 1024);
    assert.doesNotMatch(skill.description, /: |^["'>|&*!%@`{[]| #/, "a plain YAML scalar");
  }
});

Deno.test("skills list names each skill with its description (text and --json)", async () => {
  using h = await cliHome({ init: false });
  const text = await h.run(["skills", "list"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^NAME +DESCRIPTION\nkanban-worker +How to work one task/);
  assert.match(text.stdout, /\nkanban-orchestrator +How to turn a goal/);
  const json = await h.run(["skills", "list", "--json"]);
  assert.deepEqual(
    json.json<{ name: string; description: string }[]>(),
    SKILLS.map(({ name, description }) => ({ name, description })),
  );
});

Deno.test("skills show prints the SKILL.md exactly; an unknown name is a usage error", async () => {
  using h = await cliHome({ init: false });
  for (const name of ["kanban-worker", "kanban-orchestrator"]) {
    const r = await h.run(["skills", "show", name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, onDisk(name));
  }
  const json = await h.run(["skills", "show", "kanban-worker", "--json"]);
  assert.equal(json.json()["text"], onDisk("kanban-worker"));
  const bad = await h.run(["skills", "show", "kanban-boss"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /Unknown skill "kanban-boss" \(known: kanban-worker, kanban-orchestrator\)/,
  );
});

Deno.test("skills install writes ~/.claude/skills/<name>/SKILL.md, and again changes nothing", async () => {
  using h = await cliHome({ init: false });
  const env = { HOME: h.home };
  const first = await h.run(["skills", "install"], env);
  assert.equal(first.code, 0, first.stderr);
  for (const name of ["kanban-worker", "kanban-orchestrator"]) {
    const path = join(h.home, ".claude", "skills", name, "SKILL.md");
    assert.equal(readFileSync(path, "utf8"), onDisk(name));
    assert.match(first.stdout, new RegExp(`installed ${name}: ${path}`));
  }
  const again = await h.run(["skills", "install", "--json"], env);
  assert.equal(again.code, 0);
  assert.deepEqual(again.json<{ action: string }[]>().map((r) => r.action), [
    "unchanged",
    "unchanged",
  ]);
  assert.deepEqual(readdirSync(join(h.home, ".claude", "skills", "kanban-worker")), ["SKILL.md"]);
});

Deno.test("skills install keeps a changed SKILL.md (exit 1) unless --force", async () => {
  using h = await cliHome({ init: false });
  const env = { HOME: h.home };
  const path = join(h.home, ".claude", "skills", "kanban-worker", "SKILL.md");
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, "my own notes\n");
  const kept = await h.run(["skills", "install"], env);
  assert.equal(kept.code, 1);
  assert.match(
    kept.stderr,
    /kept .*kanban-worker\/SKILL\.md: it differs from the shipped kanban-worker \(--force replaces it\)/,
  );
  assert.match(kept.stdout, /installed kanban-orchestrator/, "the other skill is still installed");
  assert.equal(readFileSync(path, "utf8"), "my own notes\n");
  const json = await h.run(["skills", "install", "--json"], env);
  assert.equal(json.code, 1);
  assert.deepEqual(json.json<{ name: string; action: string }[]>().map((r) => r.action), [
    "kept",
    "unchanged",
  ]);
  const forced = await h.run(["skills", "install", "kanban-worker", "--force"], env);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^replaced kanban-worker: /);
  assert.equal(readFileSync(path, "utf8"), onDisk("kanban-worker"));
});

Deno.test("skills install --to writes into any folder (relative to the working directory, or ~)", async () => {
  using h = await cliHome({ init: false });
  const r = await h.run(["skills", "install", "kanban-orchestrator", "--to", "agents/skills"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    readFileSync(join(h.home, "agents", "skills", "kanban-orchestrator", "SKILL.md"), "utf8"),
    onDisk("kanban-orchestrator"),
  );
  assert.equal(existsSync(join(h.home, "agents", "skills", "kanban-worker")), false);
  const tilde = await h.run(["skills", "install", "--to", "~/.agents/skills"], { HOME: h.home });
  assert.equal(tilde.code, 0, tilde.stderr);
  assert.ok(existsSync(join(h.home, ".agents", "skills", "kanban-worker", "SKILL.md")));
  const noHome = await h.run(["skills", "install"], { HOME: "" });
  assert.equal(noHome.code, 2);
  assert.match(noHome.stderr, /HOME is not set: give the folder with --to DIR/);
});
