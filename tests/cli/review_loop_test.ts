/**
 * The review loop through the in-process CLI (docs/review.md): `create --reviewer`, the
 * implementer's `request-review`, the reviewer's `review --reject|--approve` inside its worker,
 * `show` saying where the review stands, `edit --reviewer/--no-reviewer`, and bad values refused
 * by name.
 */
import assert from "node:assert/strict";
import { type CliHome, cliHome, create } from "./_cli.ts";

interface ClaimJson {
  token: string;
}

/** claim claims task `id` for `profile` and returns the environment of its worker. */
async function claim(h: CliHome, id: string, profile: string): Promise<Record<string, string>> {
  const r = await h.run(["claim", id, "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return { KANBAN_TASK: id, KANBAN_TOKEN: r.json<ClaimJson>().token, KANBAN_PROFILE: profile };
}

Deno.test("request-review, a reviewer's verdicts inside its worker, and show's review line", async () => {
  using h = await cliHome();
  const id = await create(h, "parser", "--assignee", "coder", "--reviewer", "critic");
  const coder = await claim(h, id, "coder");
  const handed = await h.run(["request-review", "--summary", "parser in src/parse.ts"], coder);
  assert.equal(handed.code, 0, handed.stderr);
  assert.match(handed.stdout, new RegExp(`^${id} {2}ready {2}parser$`, "m"));
  const critic = await claim(h, id, "critic");
  const shown = await h.run(["show", id]);
  assert.match(shown.stdout, /^ {2}reviewer: +critic: reviewing, round 1 of 3$/m);
  // --reject without a reason: the store says a request for changes says why
  const bare = await h.run(["review", "--reject"], critic);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /A request for changes says why/);
  const back = await h.run(["review", "--reject", "--reason", "no tests", "--json"], critic);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(
    [back.json()["status"], back.json()["assignee"]],
    ["ready", "coder"],
  );
  assert.match(
    (await h.run(["show", id])).stdout,
    /^ {2}reviewer: +critic: changes requested in round 1 of 3, back with coder$/m,
  );
  const coder2 = await claim(h, id, "coder");
  assert.equal((await h.run(["complete", "--summary", "with tests"], coder2)).code, 0);
  const critic2 = await claim(h, id, "critic");
  const done = await h.run(["review", "--approve", "--reason", "good", "--json"], critic2);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.json()["status"], "done");
  const json = (await h.run(["show", id, "--json"])).json<
    { task: { reviewer: string; review_rounds: null }; review?: unknown }
  >();
  assert.deepEqual([json.task.reviewer, json.task.review_rounds, json.review], [
    "critic",
    null,
    undefined,
  ]);
});

Deno.test("edit sets and clears a reviewer; bad reviewer settings are refused by name", async () => {
  using h = await cliHome();
  const id = await create(h, "parser");
  const set = await h.run(["edit", id, "--reviewer", "critic", "--review-rounds", "2", "--json"]);
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual([set.json()["reviewer"], set.json()["review_rounds"]], ["critic", 2]);
  assert.match((await h.run(["show", id])).stdout, /^ {2}reviewer: +critic \(up to 2 rounds\)$/m);
  const cleared = await h.run(["edit", id, "--no-reviewer", "--json"]);
  assert.equal(cleared.json()["reviewer"], null);
  const zero = await h.run(["create", "x", "--review-rounds", "0"]);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /review rounds must be at least 1/);
  const word = await h.run(["create", "x", "--review-rounds", "many"]);
  assert.equal(word.code, 2);
  assert.match(word.stderr, /"many" is not a whole number/);
  // a person does not hand work in
  const person = await h.run(["request-review", id]);
  assert.equal(person.code, 1);
  assert.match(person.stderr, /A worker asks for review of its work/);
});
