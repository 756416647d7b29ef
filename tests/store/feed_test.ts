/**
 * The change feed (Store.follow, lib/store/feed.ts): batches of events after a cursor, in
 * order, each once, from writes on this connection, another connection and another process;
 * abort ends it cleanly. Every wait is bounded by a deadline that aborts the follower.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Store, TaskEvent } from "../../lib/store/mod.ts";
import { conformance } from "./_drivers.ts";
import { add } from "./_helpers.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Followed {
  batches: TaskEvent[][];
  ids: number[];
  /** Ends when `want` events came, the deadline passed, or the signal aborted. */
  done: Promise<void>;
  abort(): void;
}

/** follower reads `store.follow(cursor)` until it has `want` events (or `timeoutMs` passes). */
function follower(store: Store, cursor: number, want: number, timeoutMs = 10_000): Followed {
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), timeoutMs);
  const batches: TaskEvent[][] = [];
  const ids: number[] = [];
  const done = (async () => {
    try {
      for await (const batch of store.follow(cursor, { signal: stop.signal })) {
        batches.push(batch);
        ids.push(...batch.map((e) => e.id));
        if (ids.length >= want) break;
      }
    } finally {
      clearTimeout(deadline);
    }
  })();
  return { batches, ids, done, abort: () => stop.abort() };
}

/** range lists the ids from `from` to `to`, both included. */
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

conformance("follow() yields this connection's own writes in order, each once", async (drv) => {
  await using b = await drv.fresh();
  const head = await b.store.eventHead();
  const f = follower(b.store, head, 6);
  for (let i = 0; i < 3; i++) {
    await add(b.store, `task ${i}`);
    await new Promise((r) => setTimeout(r, 30)); // let some batches come one by one
  }
  // three events in one transaction
  await b.store.createTasks([{ title: "a" }, { title: "b" }, { title: "c" }], { name: "alice" });
  await f.done;
  const last = await b.store.eventHead();
  assert.deepEqual(f.ids, range(head + 1, last));
  assert.ok(f.ids.length >= 6, `got ${f.ids.length} events`);
  assert.ok(f.batches.every((batch) => batch.length > 0), "no empty batch");
});

conformance("follow() sees commits by another connection of this process", async (drv) => {
  await using b = await drv.fresh();
  using other = await drv.open(b.location);
  const head = await b.store.eventHead();
  const f = follower(b.store, head, 5);
  for (let i = 0; i < 5; i++) await add(other, `other ${i}`);
  await f.done;
  assert.deepEqual(f.ids, range(head + 1, head + 5));
  const kinds = f.batches.flat().map((e) => e.kind);
  assert.deepEqual(kinds, ["created", "created", "created", "created", "created"]);
});

conformance(
  "follow() sees commits by another process, in order, beside this connection's",
  async (drv) => {
    await using b = await drv.fresh();
    const head = await b.store.eventHead();
    const f = follower(b.store, head, 24, 30_000);
    const child = spawn(
      Deno.execPath(),
      ["run", "-A", fileURLToPath(new URL("./_writer.ts", import.meta.url)), b.location, "20"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.stdout.resume();
    for (let i = 0; i < 4; i++) await add(b.store, `mine ${i}`);
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 0, stderr);
    await f.done;
    assert.deepEqual(f.ids, range(head + 1, head + 24));
    const actors = new Set(f.batches.flat().map((e) => e.actor));
    assert.deepEqual([...actors].sort(), ["alice", "writer"]);
  },
);

conformance("a follower started at cursor N gets exactly the events after N", async (drv) => {
  await using b = await drv.fresh();
  for (let i = 0; i < 10; i++) await add(b.store, `t${i}`);
  const all = await b.store.eventsSince(0);
  const n = all[4]!.id;
  const f = follower(b.store, n, all.length - 5);
  await f.done;
  assert.deepEqual(f.ids, all.slice(5).map((e) => e.id));
  assert.deepEqual(f.batches.flat(), all.slice(5));
});

conformance("a backlog longer than a batch comes in several full batches at once", async (drv) => {
  await using b = await drv.fresh();
  for (let i = 0; i < 25; i++) await add(b.store, `t${i}`);
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), 10_000);
  const sizes: number[] = [];
  try {
    for await (const batch of b.store.follow(0, { signal: stop.signal, batch: 10 })) {
      sizes.push(batch.length);
      if (sizes.reduce((x, y) => x + y, 0) >= 25) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  assert.deepEqual(sizes, [10, 10, 5]);
});

conformance("many followers at once each get every event once, in order", async (drv) => {
  await using b = await drv.fresh();
  using other = await drv.open(b.location);
  const head = await b.store.eventHead();
  const followers = Array.from({ length: 25 }, () => follower(b.store, head, 12));
  for (let i = 0; i < 6; i++) {
    await add(i % 2 === 0 ? b.store : other, `t${i}`);
    await add(i % 2 === 0 ? other : b.store, `u${i}`);
  }
  await Promise.all(followers.map((f) => f.done));
  for (const f of followers) assert.deepEqual(f.ids, range(head + 1, head + 12));
});

conformance(
  "abort ends a waiting follower at once and cleanly; an aborted signal yields nothing",
  async (drv) => {
    await using b = await drv.fresh();
    await add(b.store, "before");
    const f = follower(b.store, await b.store.eventHead(), 1);
    await new Promise((r) => setTimeout(r, 60)); // it waits: nothing new was written
    const t0 = performance.now();
    f.abort();
    await f.done; // resolves (a rejection would fail the test)
    assert.ok(performance.now() - t0 < 500, "the follower ended soon after the abort");
    assert.deepEqual(f.ids, []);

    const stopped = new AbortController();
    stopped.abort();
    const got: TaskEvent[][] = [];
    for await (const batch of b.store.follow(0, { signal: stopped.signal })) got.push(batch);
    assert.deepEqual(got, []);
  },
);

conformance(
  "a follower whose store is closed ends with the store's error, not a hang",
  async (drv) => {
    await using b = await drv.fresh();
    const store = await drv.open(b.location);
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), 5_000);
    const done = (async () => {
      for await (const _ of store.follow(await store.eventHead(), { signal: stop.signal })) {
        // nothing is written
      }
    })();
    await new Promise((r) => setTimeout(r, 40));
    store.close();
    try {
      await assert.rejects(done);
      assert.ok(!stop.signal.aborted, "it ended before its deadline");
    } finally {
      clearTimeout(deadline);
    }
  },
);
