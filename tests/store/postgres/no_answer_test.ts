/**
 * A server that stops answering (the connection half-open after a network failure: the query
 * went out, nothing comes back, nothing fails) must fail the call in about the answer timeout,
 * not hold it until TCP gives up a quarter of an hour later; once the network is back the next
 * call works on a fresh connection. The partition is a TCP proxy in this process that stops
 * forwarding and keeps every connection open (scripts/chaos_proxy.ts).
 */
import assert from "node:assert/strict";
import { PostgresDriver } from "../../../lib/store/postgres/driver.ts";
import { DEFAULT_OPTIONS, Store, type Task } from "../../../lib/store/mod.ts";
import { PartitionProxy } from "../../../scripts/chaos_proxy.ts";
import { HUMAN } from "../../_setup.ts";
import { dropDatabase, freshDatabase, pgTest } from "./_pg.ts";

/** timed runs `call` for at most 20 s: its error (or what else became of it) and how long. */
async function timed(call: () => Promise<unknown>): Promise<{ outcome: unknown; took: number }> {
  const started = Date.now();
  const outcome = await Promise.race([
    call().then(() => "answered", (err: unknown) => err),
    new Promise<string>((r) => setTimeout(() => r("still waiting after 20 s"), 20_000)),
  ]);
  return { outcome, took: Date.now() - started };
}

/** assertNoAnswer: the call failed as a board out of reach, saying the server did not answer. */
function assertNoAnswer(outcome: unknown): void {
  assert.ok(outcome instanceof Error, `the call: ${outcome}`);
  assert.equal((outcome as Error & { code?: string }).code, "board_unavailable", outcome.message);
  assert.match(outcome.message, /^No answer from the board's server at postgres:\/\/.* for 1 s/);
  assert.doesNotMatch(outcome.message, /password|secret/);
}

pgTest(
  "a write and a read the server never answers fail in about the answer timeout, and the next works once it is back",
  async () => {
    const db = await freshDatabase();
    const url = new URL(db.url);
    const proxy = new PartitionProxy({ host: url.hostname, port: Number(url.port) });
    const port = await proxy.listen();
    url.hostname = "127.0.0.1";
    url.port = String(port);
    const driver = new PostgresDriver(url.toString(), { answerTimeoutMs: 1_000 });
    const store = new Store(driver, { now: Date.now, options: DEFAULT_OPTIONS });
    try {
      const task = (await store.createTask({ title: "before" }, HUMAN)).task;
      await store.getTask(task.id); // the driver keeps this read's connection for the next
      proxy.partition("stall");
      // the read waits on its kept connection: cut after the answer timeout
      const read = await timed(() => store.getTask(task.id));
      assertNoAnswer(read.outcome);
      assert.ok(read.took >= 900 && read.took < 6_000, `the read failed after ${read.took} ms`);
      // the write needs a new connection, which the silent server does not answer either: it
      // fails by the client's connect timeout (10 s) at the latest
      const write = await timed(() => store.createTask({ title: "during" }, HUMAN));
      assertNoAnswer(write.outcome);
      assert.ok(write.took < 14_000, `the write failed after ${write.took} ms`);
      proxy.heal("reset");
      // back: a call works again, at the latest once an attempt to connect made during the
      // partition has timed out (as a dispatcher's next pass would find)
      let after: Task | null = null;
      const deadline = Date.now() + 15_000;
      while (after === null) {
        try {
          after = (await store.createTask({ title: "after" }, HUMAN)).task;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.equal((await store.getTask(after.id)).title, "after");
      const titles = (await store.listTasks({})).map((t) => t.title).sort();
      assert.ok(!titles.includes("during") || titles.length === 3, "nothing half-written");
    } finally {
      proxy.heal("reset");
      await driver.end().catch(() => {});
      await proxy.close();
      await dropDatabase(db.name);
    }
  },
);
