/**
 * `kanban profile holds|release` through the in-process CLI (docs/quotas.md): the holds a
 * dispatcher put on profiles, listed, shown by status and why, released by a person (a
 * failed sign-in's blocked tasks back in the queue), refused when wrong or inside a worker.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../e2e/_binary.ts";
import { authBlockReason, openStore } from "../../lib/store/mod.ts";
import { DISPATCHER } from "../_setup.ts";
import { cliHome, create } from "./_cli.ts";

/** board opens the CLI home's board, as a dispatcher would. */
function board(home: string) {
  return openStore(join(home, "boards", "default", "board.db"));
}

Deno.test("profile holds lists what holds; status and why say so; release ends it", async () => {
  using h = await cliHome();
  const id = await create(h, "work", "--assignee", "coder");
  const store = board(h.home);
  const reset = Date.now() + 30 * 60_000;
  const until = new Date(reset).toISOString();
  await store.holdProfile({
    profile: "coder",
    kind: "rate_limit",
    reset_at: reset,
    reason: "Error: 429 Too Many Requests",
    task: id,
    host: "build-1",
  }, DISPATCHER);
  store.close();
  const list = await h.run(["profile", "holds"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(
    list.stdout,
    new RegExp(
      `^coder +rate_limit +${until} +1 +${id} +build-1 +Error: 429 Too Many Requests$`,
      "m",
    ),
  );
  const json = (await h.run(["profile", "holds", "--json"])).json<{ profile: string }[]>();
  assert.deepEqual(json.map((x) => x.profile), ["coder"]);
  const status = await h.run(["status"]);
  assert.match(
    status.stdout,
    new RegExp(
      `^held profiles:\n {2}coder: rate_limit until ${until} \\(Error: 429 Too Many Requests\\)$`,
      "m",
    ),
  );
  assert.match(status.stdout, /! profile "coder" is rate limited .*; held until 20/);
  const why = await h.run(["why", id]);
  assert.match(why.stdout, /quota.*profile "coder" is rate limited/);
  const released = await h.run(["profile", "release", "coder"]);
  assert.equal(released.stdout.trim(), "released profile coder (rate_limit)");
  assert.equal((await h.run(["profile", "holds"])).stdout.trim(), "no profile is held");
  const again = await h.run(["profile", "release", "coder"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Profile "coder" is not held/);
});

Deno.test("release after a failed sign-in unblocks the tasks it blocked, and only those", async () => {
  using h = await cliHome();
  const hit = await create(h, "hit", "--assignee", "coder");
  const mine = await create(h, "mine", "--assignee", "coder");
  assert.equal((await h.run(["block", mine, "a person's question"])).code, 0);
  const store = board(h.home);
  await store.holdProfile({
    profile: "coder",
    kind: "auth",
    reason: "401 Unauthorized: Incorrect API key provided",
    task: hit,
    host: "build-1",
  }, DISPATCHER);
  await store.block(hit, authBlockReason("coder"), DISPATCHER);
  store.close();
  const list = await h.run(["profile", "holds"]);
  assert.match(list.stdout, /^coder +auth +released by a person +1 /m);
  const r = await h.run(["profile", "release", "coder", "--json"]);
  assert.deepEqual(r.json<{ unblocked: string[] }>().unblocked, [hit]);
  const shown = (id: string) =>
    h.run(["show", id, "--json"]).then((x) => x.json<{ task: { status: string } }>().task);
  assert.equal((await shown(hit)).status, "ready");
  assert.equal((await shown(mine)).status, "blocked");
});

Deno.test("a worker cannot release a profile's hold", async () => {
  using h = await cliHome();
  const id = await create(h, "work", "--assignee", "coder");
  const claim = (await h.run(["claim", id, "--json"])).json<{ token: string }>();
  const store = board(h.home);
  await store.holdProfile({ profile: "coder", kind: "quota", reason: "x", host: "h" }, DISPATCHER);
  store.close();
  const r = await h.run(["profile", "release", "coder"], {
    KANBAN_TASK: id,
    KANBAN_TOKEN: claim.token,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /worker/i);
  assert.equal((await h.run(["profile", "holds", "--json"])).json<unknown[]>().length, 1);
});

Deno.test("a dry run starts nothing for a held profile and says until when", async () => {
  using h = await cliHome();
  writeFileSync(
    join(h.home, "config.toml"),
    `[dispatch]\nmax_load = 0\n[profiles.coder]\ncommand = ["true"]\n[profiles.writer]\ncommand = ["true"]\n`,
  );
  const held = await create(h, "held work", "--assignee", "coder");
  const free = await create(h, "free work", "--assignee", "writer");
  const store = board(h.home);
  await store.holdProfile({
    profile: "coder",
    kind: "quota",
    reset_at: Date.now() + 600_000,
    reason: "You exceeded your current quota",
    task: held,
    host: "h",
  }, DISPATCHER);
  store.close();
  const d = await h.run(["dispatch", "--dry-run"], { KANBAN_BIN: BINARY });
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, new RegExp(`would start ${free} \\(writer\\)`));
  assert.doesNotMatch(d.stdout, new RegExp(`would start ${held}`));
  assert.match(
    d.stdout,
    /profile coder held until 20.*: quota \(You exceeded your current quota\)/,
  );
});
