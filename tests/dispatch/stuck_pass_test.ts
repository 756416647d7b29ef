/**
 * The dispatcher's loop (run()) when a pass gets stuck on the board, as one does on a half-open
 * connection to PostgreSQL (the network dropped, nothing told us): the call never answers.
 * The cutoff must still stop the host's workers before their leases can expire, whatever
 * the pass was doing when it got stuck: spawning the very worker (the first pass to know it),
 * or a pass woken by the cutoff's own timer so as to renew first. The board here is a real
 * SQLite board behind a wrapper whose calls, while "the network is down", fail at once or
 * never answer (until the test ends, when they fail).
 */
import assert from "node:assert/strict";
import { BusyError, type Store } from "../../lib/store/mod.ts";
import { agent, type Harness, harness, pidAlive } from "./_harness.ts";

type Mode = "up" | "fail" | "hang";

interface Net {
  mode: Mode;
  /** After a call of one of these store methods answers, the mode becomes the one named. */
  after: Record<string, Mode>;
}

/** flaky wraps `store`: calls fail while `net.mode` is "fail" and never answer while "hang". */
function flaky(store: Store): { store: Store; net: Net; release(): void } {
  const net: Net = { mode: "up", after: {} };
  const held: ((err: Error) => void)[] = [];
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || key === "close" || key === "follow") return value;
      return async (...args: unknown[]) => {
        if (net.mode === "fail") throw new BusyError(target.path, 10_000);
        if (net.mode === "hang") return await new Promise((_, reject) => held.push(reject));
        const result = await value.apply(target, args);
        const next = net.after[String(key)];
        if (next !== undefined && net.mode === "up") net.mode = next;
        return result;
      };
    },
  });
  return {
    store: wrapped,
    net,
    release: () => {
      net.mode = "up";
      net.after = {};
      for (const reject of held.splice(0)) reject(new Error("the network is back"));
    },
  };
}

/**
 * cutOff runs the loop of a dispatcher (config `toml`) on a flaky board with one hanging
 * worker, the network going down as `net.after` and `onLog` say, and checks that the worker is
 * dead before its run's lease (as the board has it) can expire.
 */
async function cutOff(
  toml: string,
  after: Record<string, Mode>,
  onLog: (line: string, net: Net) => void = () => {},
) {
  await using h: Harness = await harness({ coder: agent("hang.sh") }, toml);
  const f = flaky(h.store);
  f.net.after = after;
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    onLog(line, f.net);
  };
  const d = h.newDispatcher("stuck", { store: f.store, log });
  const task = await h.create("runs on a host about to be cut off", "coder");
  const stop = new AbortController();
  const loop = d.run(stop.signal);
  try {
    let pid = 0;
    for (let i = 0; i < 200 && pid === 0; i++) {
      pid = (await h.store.listRuns(task.id))[0]?.pid ?? 0;
      if (pid === 0) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(pid > 0, `no worker started:\n${lines.join("\n")}`);
    for (let i = 0; i < 100 && f.net.mode === "up"; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.notEqual(f.net.mode, "up", "the network went down");
    const expires = Date.parse((await h.store.listRuns(task.id))[0]!.lease_expires!);
    while (pidAlive(pid) && Date.now() <= expires) await new Promise((r) => setTimeout(r, 20));
    const diedBy = Date.now();
    assert.ok(
      !pidAlive(pid) && diedBy <= expires,
      `the worker still ran at ${new Date(diedBy).toISOString()}, past its lease's expiry ` +
        `${new Date(expires).toISOString()}:\n${lines.join("\n")}`,
    );
    assert.match(lines.join("\n"), /lease could not be renewed: cut off from the board/);
    const run = (await h.store.listRuns(task.id))[0]!;
    assert.equal(Date.parse(run.lease_expires!), expires, "no renewal reached the board");
  } finally {
    stop.abort();
    f.release();
    await loop;
  }
}

Deno.test("a pass stuck on the board right after it spawned a worker does not keep that worker from being cut off", async () => {
  // the pass that spawned the worker (the first to know it) never gets past recording its pid
  await cutOff('lease = "4s"', { recordSpawn: "hang" });
});

Deno.test("a pass woken by the cutoff's timer to renew first, and stuck on the board, does not delay the cutoff", async () => {
  // After a renewal the board fails fast: two failed passes, then the loop backs off for 4 s,
  // past the cutoff (renewal + 4 s of a 6 s lease), whose timer wakes the loop for a pass that
  // may renew first; that pass never gets an answer.
  await cutOff('lease = "6s"', { renewRun: "fail" }, (line, net) => {
    if (line.startsWith("pass failed (2 in a row)")) net.mode = "hang";
  });
});
