/**
 * Completion gates through the in-process CLI (docs/gates.md): `create --gate` (split like a
 * shell line) with its time limit and rounds, `edit --no-gate`, `show` with the gate and the
 * last gate's result, and a worker's `complete` that its gate holds, told so.
 */
import assert from "node:assert/strict";
import { type CliHome, cliHome, create } from "./_cli.ts";

/** claim claims task `id` and returns the environment of its worker. */
async function claim(h: CliHome, id: string): Promise<Record<string, string>> {
  const r = await h.run(["claim", id, "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return { KANBAN_TASK: id, KANBAN_TOKEN: r.json<{ token: string }>().token };
}

Deno.test("create --gate, show's gate lines, a worker's held complete, edit --no-gate", async () => {
  using h = await cliHome();
  const id = await create(
    h,
    "parser",
    "--assignee",
    "coder",
    "--gate",
    "sh -c 'cd {workspace} && make check'",
    "--gate-timeout",
    "90s",
    "--gate-rounds",
    "2",
  );
  const json = await h.run(["show", id, "--json"]);
  assert.deepEqual(json.json<{ task: { gate: unknown } }>().task.gate, {
    argv: ["sh", "-c", "cd {workspace} && make check"],
    timeout_ms: 90_000,
    rounds: 2,
  });
  const shown = await h.run(["show", id]);
  assert.match(
    shown.stdout,
    /^ {2}gate: +sh -c 'cd \{workspace\} && make check' {2}\(time limit 1m30s, 2 rounds\)$/m,
  );
  assert.doesNotMatch(shown.stdout, /last gate/);
  // the worker's complete is held for the gate, and says so
  const worker = await claim(h, id);
  const held = await h.run(["complete", "--summary", "parser done"], worker);
  assert.equal(held.code, 0, held.stderr);
  assert.equal(
    held.stdout,
    `${id}  running  parser  (completed: its gate runs once this worker exits)\n`,
  );
  const again = await h.run(["complete", "--summary", "parser done", "--json"], worker);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([again.json()["status"], again.json()["gate_pending"]], ["running", true]);
  const other = await h.run(["complete", "--summary", "something else"], worker);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /waits for its completion gate/);
  assert.match(
    (await h.run(["show", id])).stdout,
    /^ {2}last gate: +pending \(round 1 of 2\): runs once its worker \(run 1\) exits$/m,
  );
  // a person's complete is not gated
  const done = await h.run(["complete", id, "--summary", "by hand"]);
  assert.match(done.stdout, new RegExp(`^${id} {2}done {2}parser$`, "m"));
  // --no-gate: none, not even the profile's
  const edited = await h.run(["edit", id, "--no-gate", "--json"]);
  assert.equal(edited.code, 0, edited.stderr);
  assert.deepEqual(edited.json()["gate"], { argv: [], timeout_ms: null, rounds: null });
  assert.match((await h.run(["show", id])).stdout, /^ {2}gate: +none \(not even its profile's\)$/m);
});

Deno.test("a gate with shell operators, or its limits without a gate, is refused by name", async () => {
  using h = await cliHome();
  const ops = await h.run(["create", "x", "--gate", "make && make test"]);
  assert.equal(ops.code, 2);
  assert.match(ops.stderr, /unquoted "&": no shell runs these words/);
  const bare = await h.run(["create", "x", "--gate-rounds", "2"]);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /gate timeout and gate rounds need a gate/);
  const placeholder = await h.run(["create", "x", "--gate", "check {prompt}"]);
  assert.equal(placeholder.code, 2);
  assert.match(placeholder.stderr, /unknown placeholder \{prompt\}/);
});

Deno.test("a reviewer's approval of a task with a gate is held for the gate, and says so", async () => {
  using h = await cliHome();
  const id = await create(
    h,
    "parser",
    "--assignee",
    "coder",
    "--reviewer",
    "critic",
    "--gate",
    "make",
  );
  const coder = await claim(h, id);
  const handed = await h.run(["complete", "--summary", "parser"], coder);
  assert.match(handed.stdout, new RegExp(`^${id} {2}ready {2}parser$`, "m"), "the hand-in is not");
  const critic = await claim(h, id);
  const approved = await h.run(["review", "--approve", "--reason", "good"], critic);
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal(
    approved.stdout,
    `${id}  running  parser  (completed: its gate runs once this worker exits)\n`,
  );
});
