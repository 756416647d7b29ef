/** The compiled binary carries the skills: `skills show` prints each SKILL.md byte for byte. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { binaryHome } from "./_binary.ts";

const skill = (name: string) =>
  readFileSync(new URL(`../../skills/${name}/SKILL.md`, import.meta.url), "utf8");

Deno.test("dist/kanban skills show prints the shipped SKILL.md files byte for byte", () => {
  using b = binaryHome();
  for (const name of ["kanban-worker", "kanban-orchestrator"]) {
    const r = b.kanban(["skills", "show", name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, skill(name));
  }
});

Deno.test("dist/kanban skills install writes them under ~/.claude/skills", () => {
  using b = binaryHome();
  const r = b.kanban(["skills", "install"]);
  assert.equal(r.code, 0, r.stderr);
  const installed = readFileSync(join(b.home, ".claude", "skills", "kanban-worker", "SKILL.md"));
  assert.equal(installed.toString("utf8"), skill("kanban-worker"));
});
