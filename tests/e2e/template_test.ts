/**
 * `kanban template run` through the compiled binary: a template of docs/templates run twice with
 * one key makes one graph; the same key with other inputs is refused with exit code 1 and the
 * board stays exactly as it was (its export, byte for byte after the header).
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { binaryHome } from "./_binary.ts";

const RELEASE = fileURLToPath(new URL("../../docs/templates/release.toml", import.meta.url));

interface Graph {
  key: string;
  created: boolean;
  tasks: { ref: string; task: { id: string; status: string; assignee: string | null } }[];
}

Deno.test("dist/kanban template run: one graph per key, and the key with other inputs refused", () => {
  using b = binaryHome();
  b.json(["init"]);
  mkdirSync(join(b.home, "templates"));
  copyFileSync(RELEASE, join(b.home, "templates", "release.toml"));
  const validate = b.kanban(["template", "validate", "release"]);
  assert.equal(validate.code, 0, validate.stderr);

  const run = (change: string) => [
    "template",
    "run",
    "release",
    "--key",
    "1.4.0",
    "--input",
    `change=${change}`,
    "--input",
    "version=1.4.0",
    "--role",
    "reviewer=codex",
  ];
  const first = b.json<Graph>(run("CSV export"));
  assert.equal(first.created, true);
  assert.equal(first.key, "release:1.4.0");
  assert.deepEqual(first.tasks.map((t) => [t.ref, t.task.status, t.task.assignee]), [
    ["implement", "ready", "coder"],
    ["review", "todo", "codex"],
    ["release", "todo", "coder"],
  ]);

  const exported = () => b.kanban(["export"]).stdout.split("\n").slice(1).join("\n");
  const before = exported();
  const again = b.json<Graph>(run("CSV export"));
  assert.equal(again.created, false);
  assert.deepEqual(again.tasks.map((t) => t.task.id), first.tasks.map((t) => t.task.id));
  assert.equal(exported(), before, "a replay changed the board");

  const other = b.kanban([...run("CSV import"), "--json"]);
  assert.equal(other.code, 1, other.stdout + other.stderr);
  const error = JSON.parse(other.stdout).error;
  assert.equal(error.code, "key_conflict");
  assert.match(
    error.message,
    /Key "release:1\.4\.0" already created a graph from other input: node "implement": title differs/,
  );
  const text = b.kanban(run("CSV import"));
  assert.equal(text.code, 1);
  assert.match(text.stderr, /^kanban: Key "release:1\.4\.0" already created a graph/);
  assert.equal(exported(), before, "a refused run changed the board");
  assert.equal(b.json<unknown[]>(["list"]).length, 3);
});
