/**
 * A writer cut off from the server in the middle of a transaction (a partition leaves its
 * connection half-open: the server waits for statements that never come) must not hold up the
 * board's other writers for longer than the driver's idle-in-transaction timeout. Every write
 * appends an event under one lock (lib/store/postgres/core.ts), so before this bound a single
 * host partitioned at the wrong moment froze every write of the fleet until the server noticed
 * the dead connection (hours, with TCP keepalive's defaults). Found by the multi-host chaos
 * run (scripts/chaos_hosts.ts), whose partition proxy this test uses.
 */
import assert from "node:assert/strict";
import { PostgresDriver } from "../../../lib/store/postgres/driver.ts";
import { PartitionProxy } from "../../../scripts/chaos_proxy.ts";
import { dropDatabase, freshDatabase, pgTest } from "./_pg.ts";

const event = (kind: string) => ({
  task_id: null,
  run_id: null,
  kind,
  actor: "test",
  data: "{}",
  at: Date.now(),
});

pgTest(
  "a writer cut off in the middle of a transaction holds the event lock no longer than the idle-in-transaction timeout",
  async () => {
    const db = await freshDatabase();
    const target = new URL(db.url);
    const proxy = new PartitionProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.listen();
    const through = new URL(db.url);
    through.port = String(proxy.port);
    const idleMs = 1_000;
    const cut = new PostgresDriver(through.toString(), { idleInTransactionMs: idleMs });
    const other = new PostgresDriver(db.url);
    try {
      await other.tx((q) => q.eventAppend(event("warm")));
      let locked!: () => void;
      const holding = new Promise<void>((r) => (locked = r));
      // The event is appended (its lock taken on the server), then the network goes silent.
      const stuck = cut.tx(async (q) => {
        await q.eventAppend(event("cut off"));
        proxy.partition("stall");
        locked();
        return await q.eventHead();
      }).then(() => "committed", () => "failed");
      await holding;
      const started = Date.now();
      const limit = idleMs + 5_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still waiting after ${limit} ms`)), limit);
      });
      try {
        await Promise.race([other.tx((q) => q.eventAppend(event("other writer"))), late]);
      } finally {
        clearTimeout(timer);
      }
      const waited = Date.now() - started;
      assert.ok(waited >= idleMs / 2, `the lock was held (${waited} ms)`);
      proxy.heal("resume");
      assert.equal(await stuck, "failed", "the server ended the cut-off transaction");
      const kinds = (await other.read((q) => q.eventsAfter(0, 10))).map((e) => e.kind);
      assert.deepEqual(kinds, ["warm", "other writer"], "nothing of the cut-off writer was kept");
    } finally {
      proxy.heal("reset");
      await proxy.close();
      await cut.end().catch(() => {});
      await other.end();
      await dropDatabase(db.name);
    }
  },
);
