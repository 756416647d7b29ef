/**
 * A client that goes silent in the middle of a transaction (a network partition: its packets
 * are dropped and the server is never told; or a frozen process) must not hold its row locks
 * for as long as the server keeps the connection, which, without TCP keepalives, is hours:
 * every other host's write to those rows (taking the lead from it, ending its expired runs)
 * would wait that long. The driver has the server end such a transaction after the busy
 * timeout; it rolls back, so none of its writes lands. An import, whose transaction waits on
 * its input, is not held to it.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore } from "../../../lib/store/mod.ts";
import { PostgresDriver } from "../../../lib/store/postgres/driver.ts";
import { DISPATCHER, HUMAN } from "../../_setup.ts";
import { dropDatabase, endStore, freshDatabase, pgTest } from "./_pg.ts";

pgTest(
  "a transaction whose client went silent gives its row locks up after the busy timeout, and none of its writes lands",
  async () => {
    const db = await freshDatabase();
    const store = openStore(db.url);
    const silent = new PostgresDriver(db.url, { idleInTransactionMs: 1_000 });
    let wake = () => {};
    const gate = new Promise<void>((r) => (wake = r));
    try {
      await store.createTask({ title: "held", assignee: "coder" }, HUMAN);
      const claim = (await store.claim({ assignees: ["coder"] }, DISPATCHER))!;
      let locked = () => {};
      const holding = new Promise<void>((r) => (locked = r));
      const held = silent.tx(async (q) => {
        await q.runRenew(claim.run.id, Date.parse("2100-01-01T00:00:00Z"));
        locked();
        await gate; // silent from here on: the server sees the session idle in its transaction
      });
      held.catch(() => {});
      await holding;
      const started = Date.now();
      const waited = await Promise.race([
        store.renewRun(claim.run.id).then(() => Date.now() - started),
        new Promise<null>((r) => setTimeout(() => r(null), 8_000)),
      ]);
      assert.ok(waited !== null, "a write to the held row still waited after 8 s");
      assert.ok(waited >= 500 && waited < 5_000, `the write waited ${waited} ms`);
      wake();
      await assert.rejects(held, "the silent client's transaction fails when it speaks again");
      const run = await store.getRun(claim.run.id);
      assert.ok(Date.parse(run.lease_expires!) < Date.parse("2100-01-01T00:00:00Z"));
    } finally {
      wake();
      await silent.end().catch(() => {});
      await endStore(store);
      await dropDatabase(db.name);
    }
  },
);

/** slowly yields `lines` with a pause of `ms` before each. */
async function* slowly(lines: string[], ms: number): AsyncIterable<string> {
  for (const line of lines) {
    await sleep(ms);
    yield line;
  }
}

pgTest("an import whose input pauses longer than the busy timeout still lands", async () => {
  const from = await freshDatabase();
  const to = await freshDatabase();
  const source = openStore(from.url);
  const target = openStore(to.url, { idleInTransactionMs: 500 });
  try {
    await source.createTask({ title: "moved" }, HUMAN);
    let text = "";
    await source.exportBoard((chunk) => {
      text += chunk;
      return Promise.resolve();
    });
    // over a second in all: twice the busy timeout
    const lines = text.trimEnd().split("\n");
    const report = await target.importBoard(slowly(lines, 1_000 / lines.length + 100));
    assert.equal(report.counts.task, 1);
    assert.deepEqual((await target.listTasks()).map((t) => t.title), ["moved"]);
  } finally {
    await endStore(source);
    await endStore(target);
    await dropDatabase(from.name);
    await dropDatabase(to.name);
  }
});
