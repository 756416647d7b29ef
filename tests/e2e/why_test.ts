/**
 * `kanban why` with the compiled binary and a real dispatcher process: a profile capped at one
 * worker holds the second task, `why` (text and --json) says so from the board, the dispatcher
 * records one `held` event however many passes it runs, and `status` counts it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, binaryHome } from "./_binary.ts";

interface Why {
  task: string;
  status: string;
  reasons: { code: string; message: string; detail: Record<string, unknown> }[];
  last_held: { data: Record<string, unknown> } | null;
}
interface Shown {
  events: { kind: string; data: Record<string, unknown> }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("dist/kanban why: a capped profile's second task says profile_cap; one held event; status counts it", async () => {
  using b = binaryHome();
  b.json(["init"]);
  writeFileSync(
    join(b.home, "config.toml"),
    `[dispatch]\npoll_interval = "1s"\nstop_grace = "1s"\nmax_load = 0\nmin_free_memory = 0\n` +
      `[profiles.a]\ncommand = ["sleep", "30"]\nmax_concurrent = 1\n`,
  );
  const first = b.json<{ id: string }>(["create", "first", "--assignee", "a", "--priority", "1"]);
  const second = b.json<{ id: string }>(["create", "second", "--assignee", "a"]);
  const early = b.json<Why>(["why", second.id]);
  assert.deepEqual(early.reasons.map((r) => r.code), ["no_dispatcher"]);

  const env = { PATH: "/usr/bin:/bin", HOME: b.home, KANBAN_HOME: b.home, USER: "e2e" };
  const child = spawn(BINARY, ["dispatch", "--stop-workers"], { env, stdio: "ignore" });
  const exited = new Promise((r) => child.once("exit", r));
  try {
    let why: Why | null = null;
    for (let i = 0; i < 150; i++) {
      why = b.json<Why>(["why", second.id]);
      if (why.reasons[0]?.code === "profile_cap") break;
      await sleep(100);
    }
    assert.deepEqual(why!.reasons.map((r) => r.code), ["profile_cap"], JSON.stringify(why));
    assert.deepEqual(why!.reasons[0]!.detail, { profile: "a", running: 1, max: 1 });
    assert.equal(b.json<{ task: { status: string } }>(["show", first.id]).task.status, "running");

    // a few of the dispatcher's passes (poll_interval 1s): still one held event
    let held: Shown["events"] = [];
    for (let i = 0; i < 50 && held.length === 0; i++) {
      held = b.json<Shown>(["show", second.id]).events.filter((e) => e.kind === "held");
      await sleep(100);
    }
    await sleep(2_500);
    held = b.json<Shown>(["show", second.id]).events.filter((e) => e.kind === "held");
    assert.equal(held.length, 1, JSON.stringify(held));
    assert.equal(held[0]!.data["reason"], "profile_cap");

    const text = b.kanban(["why", second.id.slice(0, 6)]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${second.id}  ready  a  second\n`));
    assert.match(
      text.stdout,
      /\n {2}profile_cap: profile "a" is at its cap: 1 running of max_concurrent 1\n/,
    );
    assert.match(
      text.stdout,
      /\nlast held by .+ at .+: profile_cap \(profile "a" runs 1 of max_concurrent 1\)\n$/,
    );
    const running = b.kanban(["why", first.id]);
    assert.match(running.stdout, /running now/);

    const status = b.kanban(["status"]);
    assert.match(status.stdout, /\n {4}held: 1 profile_cap \(kanban why ID\)\n/, status.stdout);
    // max_workers is unset in this config.toml: it follows the machine's memory, and says so
    assert.match(status.stdout, /\nworkers: 1\/\d+ \(max_workers from memory\)\n/);
    const caps = b.json<{ caps: { max_workers_from: string } }>(["status"]).caps;
    assert.equal(caps.max_workers_from, "memory");
  } finally {
    child.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
    clearTimeout(timer);
  }
  const none = b.kanban(["why", "t_ffffffff"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No task matches "t_ffffffff"/);
  assert.equal(b.kanban(["why"]).code, 2, "the id is required");
});
