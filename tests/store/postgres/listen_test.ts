/**
 * The PostgreSQL driver's change mark: LISTEN/NOTIFY across connections, and what happens
 * when the listening connection is killed: the driver falls back to polling, reconnects, and
 * no commit is lost to a follower meanwhile.
 */
import assert from "node:assert/strict";
import process from "node:process";
import postgresClient from "postgres";
import { openStore, type Store, type TaskEvent } from "../../../lib/store/mod.ts";
import { PostgresDriver } from "../../../lib/store/postgres/driver.ts";
import { LISTEN_APP } from "../../../lib/store/postgres/mark.ts";
import { HUMAN } from "../../_setup.ts";
import { dropDatabase, endStore, freshDatabase, pgTest } from "./_pg.ts";

/** until polls `cond` every 10 ms, failing after `ms`. */
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function driverOf(store: Store): PostgresDriver {
  assert.ok(store.driver instanceof PostgresDriver);
  return store.driver;
}

/** Two stores on one fresh board, as two processes would have. */
async function twoStores() {
  const db = await freshDatabase();
  const a = openStore(db.url);
  const b = openStore(db.url);
  return {
    a,
    b,
    url: db.url,
    [Symbol.asyncDispose]: async () => {
      await endStore(a);
      await endStore(b);
      await dropDatabase(db.name);
    },
  };
}

/** killListeners terminates the backends of every listener of the board's database. */
async function killListeners(url: string): Promise<number> {
  const c = postgresClient(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await c`SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
      WHERE application_name = ${LISTEN_APP} AND datname = current_database()`;
    return rows.length;
  } finally {
    await c.end();
  }
}

pgTest("changeMark() moves when another connection commits (LISTEN/NOTIFY)", async () => {
  await using s = await twoStores();
  const a = driverOf(s.a);
  await a.changeMark();
  await until("the listener is up", () => a.listening);
  const before = await a.changeMark();
  assert.equal(await a.changeMark(), before, "nothing committed: the mark stays");
  await s.b.createTask({ title: "from b" }, HUMAN);
  await until("the notification arrives", async () => (await a.changeMark()) !== before);
});

pgTest(
  "a killed listening connection is reconnected, and commits made meanwhile and after reach follow()",
  async () => {
    await using s = await twoStores();
    const a = driverOf(s.a);
    const ac = new AbortController();
    const seen: TaskEvent[] = [];
    const following = (async () => {
      for await (const batch of s.a.follow(0, { signal: ac.signal })) seen.push(...batch);
    })();
    try {
      await until("the listener is up", () => a.listening);
      const first = await s.b.createTask({ title: "before" }, HUMAN);
      await until(
        "follow() sees the first task",
        () => seen.some((e) => e.task_id === first.task.id),
      );

      assert.equal(await killListeners(s.url), 1, "one listener to kill");
      await until("the driver notices", () => !a.listening);
      // committed while nobody listens: the fallback (or the reconnect's bump) must bring it
      const during = await s.b.createTask({ title: "during" }, HUMAN);
      await until(
        "follow() sees the task made while not listening",
        () => seen.some((e) => e.task_id === during.task.id),
      );

      await until("the listener is back", () => a.listening);
      const mark = await a.changeMark();
      const after = await s.b.createTask({ title: "after" }, HUMAN);
      await until(
        "follow() sees the task made after the reconnect",
        () => seen.some((e) => e.task_id === after.task.id),
      );
      assert.notEqual(await a.changeMark(), mark);

      const ids = seen.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y), "in id order");
      assert.equal(new Set(ids).size, ids.length, "each event once");
    } finally {
      ac.abort();
      await following;
    }
  },
);

pgTest(
  "a listening connection that stops answering (half-open) is given up after the ping timeout and replaced",
  async () => {
    await using s = await twoStores();
    const a = new PostgresDriver(s.url, { listen: { pingMs: 50, pingTimeoutMs: 300 } });
    let stopped: number | null = null;
    try {
      await a.changeMark();
      await until("the listener is up", () => a.listening);
      const c = postgresClient(s.url, { max: 1, onnotice: () => {} });
      const [row] = await c<{ pid: number }[]>`SELECT pid FROM pg_stat_activity
        WHERE application_name = ${LISTEN_APP} AND datname = current_database()
          AND pid <> pg_backend_pid() ORDER BY backend_start DESC LIMIT 1`;
      await c.end();
      // SIGSTOP freezes the server process behind the connection: the socket stays open and
      // nothing answers, as when a network drops without a word
      stopped = Number(row!.pid);
      process.kill(stopped, "SIGSTOP");
      await until("the ping times out", () => !a.listening);
      const before = await a.changeMark();
      await s.b.createTask({ title: "while deaf" }, HUMAN);
      await until("the fallback sees the commit", async () => (await a.changeMark()) !== before);
      await until("a new listener is up", () => a.listening);
    } finally {
      if (stopped !== null) process.kill(stopped, "SIGCONT");
      await a.end();
    }
  },
);
