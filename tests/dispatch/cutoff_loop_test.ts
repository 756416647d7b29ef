/**
 * The cutoff in the dispatcher's loop, against a board that stops answering (a partition
 * leaves connections half-open: calls neither succeed nor fail): a worker is stopped before
 * its lease can expire even when the pass that started it is the one left hanging, and when
 * no other worker had a cutoff pending. Found by the multi-host chaos run (scripts/
 * chaos_hosts.ts): a host partitioned right after a spawn kept its new worker running past
 * its lease while another host ran the task again.
 */
import assert from "node:assert/strict";
import type { Store } from "../../lib/store/mod.ts";
import { agent, harness, pidAlive } from "./_harness.ts";

/** Methods that do not return a single promise: never held. */
const NOT_CALLS = new Set(["follow", "close", "confinedTo", "constructor"]);

/**
 * flaky wraps `store` as a board whose network comes and goes: while `mode` is "fail" every
 * call fails at once (a refused connection), while "hang" every call hangs until the board is
 * back (a partition), then runs. `onSpawn` sees each recorded spawn (before it is sent).
 */
function flaky(store: Store, onSpawn: (pid: number) => void = () => {}) {
  const net = { mode: "up" as "up" | "fail" | "hang" };
  const held: (() => void)[] = [];
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || typeof key !== "string" || NOT_CALLS.has(key)) {
        return value;
      }
      return (...args: unknown[]) => {
        if (key === "recordSpawn") onSpawn((args[1] as { pid: number }).pid);
        if (net.mode === "up") return value.apply(target, args);
        if (net.mode === "fail") return Promise.reject(new Error("connect ECONNREFUSED"));
        return new Promise((resolve, reject) => {
          held.push(() => (value.apply(target, args) as Promise<unknown>).then(resolve, reject));
        });
      };
    },
  });
  return {
    store: wrapped,
    net,
    /** back: the board answers again, the held calls first. */
    back: () => {
      net.mode = "up";
      for (const f of held.splice(0)) f();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

/**
 * stoppedInTime waits for worker `pid` to be gone, failing once it has run `ms` since `from`
 * (lease 6 s: cut off after lease - margin = 4 s without a renewal, killed within the grace).
 */
async function stoppedInTime(pid: number, from: number, ms: number): Promise<void> {
  while (pidAlive(pid)) {
    const late = Date.now() - from;
    assert.ok(late < ms, `worker ${pid} still runs ${late} ms on, past its lease`);
    await tick();
  }
}

Deno.test("a worker started by a pass that then hangs on a silent board is stopped before its lease can expire", async () => {
  await using h = await harness({ hanger: agent("hang.sh") }, 'lease = "6s"');
  await h.create("hang", "hanger");
  let pid: number | undefined;
  const b = flaky(h.store, (p) => {
    pid = p;
    b.net.mode = "hang"; // the board goes silent right as the spawn is recorded
  });
  const d = h.newDispatcher("silent", { store: b.store });
  const stop = new AbortController();
  const loop = d.run(stop.signal);
  try {
    const started = Date.now();
    while (pid === undefined) {
      assert.ok(Date.now() - started < 10_000, "the worker was never spawned");
      await tick();
    }
    // the lease ran from the claim, a little before the spawn
    await stoppedInTime(pid, Date.now(), 6_000);
  } finally {
    stop.abort();
    d.stopWorkers();
    b.back();
    await loop;
  }
});

Deno.test("a cutoff due while the loop waits out failed passes still comes when the next pass hangs", async () => {
  await using h = await harness({ hanger: agent("hang.sh") }, 'lease = "6s"');
  await h.create("hang", "hanger");
  let pid: number | undefined;
  const b = flaky(h.store, (p) => (pid = p));
  const d = h.newDispatcher("flaky", { store: b.store });
  const stop = new AbortController();
  const loop = d.run(stop.signal);
  try {
    const started = Date.now();
    while (pid === undefined || (await h.store.openRuns())[0]?.pid !== pid) {
      assert.ok(Date.now() - started < 10_000, "the worker was never spawned");
      await tick();
    }
    // Refused: passes fail at once and the loop backs off (2 s, then 4 s), and the cutoff
    // comes due (4 s after the claim) while it waits; meanwhile the network starts dropping
    // instead, and the pass the cutoff's timer wakes hangs.
    const spawned = Date.now();
    b.net.mode = "fail";
    await new Promise((r) => setTimeout(r, 3_500));
    b.net.mode = "hang";
    await stoppedInTime(pid, spawned, 6_000);
  } finally {
    stop.abort();
    d.stopWorkers();
    b.back();
    await loop;
  }
});
