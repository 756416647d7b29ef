/**
 * What a running dispatcher notices between passes: config.toml changed (reloaded, or kept
 * when the new file is invalid), its board file deleted or replaced (it stops its workers and
 * exits with an error), and how status reports dispatchers that are gone.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { loadConfig } from "../../lib/config/config.ts";
import { BoardGoneError, type PassReport } from "../../lib/dispatch/dispatcher.ts";
import { boardHealth } from "../../lib/dispatch/health.ts";
import { openStore } from "../../lib/store/mod.ts";
import { agent, harness, pidAlive } from "./_harness.ts";
import { until } from "../faults/_faults.ts";

Deno.test("the dispatcher reloads a changed config.toml, and keeps the old one when the new is invalid", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  const lines: string[] = [];
  const d = h.newDispatcher("reloader", {
    configFile: h.configPath,
    loadConfig: () => loadConfig(h.env, h.configPath),
    log: (l) => lines.push(l),
  });
  const stop = new AbortController();
  const passes: PassReport[] = [];
  const running = d.run(stop.signal, (r) => passes.push(r));
  try {
    const task = await h.create("for the new profile", "writer");
    await until("a pass", () => passes.length > 0, 5_000);
    assert.equal(await h.status(task.id), "ready", "no profile runs it yet");
    writeFileSync(h.configPath, "[dispatch]\nlease = 'forever'\n");
    await until("refusal", () => lines.some((l) => /config not reloaded/.test(l)), 5_000);
    assert.match(lines.find((l) => /config not reloaded/.test(l))!, /lease/);
    assert.ok("coder" in d.config.profiles, "the old config stays");
    writeFileSync(
      h.configPath,
      `[dispatch]\npoll_interval = "1s"\n[profiles.coder]\n${agent("complete.sh")}\n` +
        `[profiles.writer]\n${agent("complete.sh")}\n`,
    );
    await until("the task done", async () => (await h.status(task.id)) === "done", 10_000);
    const reloaded = lines.find((l) => /config reloaded/.test(l))!;
    assert.match(reloaded, /profile writer added/);
    const health = await boardHealth({ store: h.store, env: h.env, now: Date.now() });
    assert.equal(health.caps.source, "dispatcher");
    assert.deepEqual(health.caps.profiles.map((p) => p.profile).sort(), ["coder", "writer"]);
  } finally {
    stop.abort();
    await running;
  }
});

Deno.test("status warns when config.toml has a profile the running dispatcher has not loaded", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  await h.dispatcher.runOnce(); // records the config it runs with
  writeFileSync(
    h.configPath,
    `[profiles.coder]\n${agent("complete.sh")}\n[profiles.writer]\n${agent("complete.sh")}\n`,
  );
  const health = await boardHealth({ store: h.store, env: h.env, now: Date.now() });
  assert.deepEqual(health.caps.profiles.map((p) => p.profile), ["coder"]);
  assert.ok(
    health.warnings.some((w) => /writer that the running dispatcher has not loaded/.test(w)),
    health.warnings.join("\n"),
  );
});

for (const how of ["deleted", "replaced"] as const) {
  Deno.test(`a dispatcher whose board file is ${how} stops its workers and exits with an error`, async () => {
    await using h = await harness({ slowpoke: agent("slow.sh") });
    const lines: string[] = [];
    const d = h.newDispatcher("watcher", { log: (l) => lines.push(l) });
    const task = await h.create("slow", "slowpoke");
    const stop = new AbortController();
    const running = d.run(stop.signal);
    try {
      await until("a worker", async () => (await h.store.openRuns())[0]?.pid != null, 10_000);
      const pid = (await h.store.openRuns())[0]!.pid!;
      if (how === "deleted") {
        rmSync(h.boardPath);
      } else {
        const other = `${h.boardPath}.new`;
        openStore(other, { create: true }).close();
        renameSync(other, h.boardPath);
      }
      await assert.rejects(running, (err: Error) => {
        assert.ok(err instanceof BoardGoneError, String(err));
        assert.match(err.message, new RegExp(`board file .* was ${how}`));
        return true;
      });
      assert.equal(pidAlive(pid), false, "its worker was stopped");
      assert.ok(lines.some((l) => /stopping 1 worker/.test(l)), lines.join("\n"));
      assert.equal((await h.store.listRuns(task.id))[0]!.outcome, "stopped");
    } finally {
      stop.abort();
      await running.catch(() => {});
    }
  });
}

Deno.test("status shows a dispatcher whose process is gone as gone, not standby", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  await h.dispatcher.runOnce();
  // a standby of this host whose process has exited (killed with -9, say)
  const child = spawnSync("true");
  assert.equal(child.status, 0);
  const lease = await h.store.acquireDispatchLease(
    { id: "ghost", host: hostname(), pid: child.pid! },
    15_000,
  );
  assert.equal(lease.active, false);
  const health = await boardHealth({ store: h.store, env: h.env, now: Date.now() });
  const state = Object.fromEntries(health.dispatchers.map((d) => [d.id, d.state]));
  assert.deepEqual(state, { "test-dispatcher": "active", ghost: "gone" });
});

Deno.test("rows of dispatchers gone for a day are pruned", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  await h.store.acquireDispatchLease({ id: "old", host: "elsewhere", pid: 1234 }, 15_000);
  await h.store.releaseDispatchLease("old");
  h.clock.advance(25 * 3600_000);
  await h.dispatcher.runOnce();
  assert.deepEqual((await h.store.dispatchers()).map((d) => d.id), ["test-dispatcher"]);
});
