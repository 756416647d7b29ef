/**
 * Claims on PostgreSQL at READ COMMITTED (TxOptions.lockedReads): claimers on separate
 * connections skip each other's rows instead of failing each other's serializable checks, so
 * eight of them drain a queue with no task claimed twice and no transaction rolled back; and a
 * profile's cap, counted under its lock in the claim's own transaction, holds at every commit.
 */
import assert from "node:assert/strict";
import postgresClient from "postgres";
import { type CreateTaskInput, openStore, type Store } from "../../../lib/store/mod.ts";
import { PostgresDriver } from "../../../lib/store/postgres/driver.ts";
import { HUMAN } from "../../_setup.ts";
import { dropDatabase, endStore, freshDatabase, pgTest } from "./_pg.ts";

const CLAIMERS = 8;

function driverOf(store: Store): PostgresDriver {
  assert.ok(store.driver instanceof PostgresDriver);
  return store.driver;
}

/** The server's transaction counts for one database (pg_stat_database). */
async function xacts(url: string): Promise<{ commits: number; rollbacks: number }> {
  const c = postgresClient(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await c<{ commits: number; rollbacks: number }[]>`SELECT
        xact_commit::int AS commits, xact_rollback::int AS rollbacks
      FROM pg_stat_database WHERE datname = current_database()`;
    return row!;
  } finally {
    await c.end({ timeout: 5 });
  }
}

/**
 * settledXacts waits until the server counts at least `commits` more commits than `before`
 * (a backend reports its counts when its connection ends, a little later), then returns them.
 */
async function settledXacts(
  url: string,
  before: { commits: number; rollbacks: number },
  commits: number,
): Promise<{ commits: number; rollbacks: number }> {
  const end = Date.now() + 10_000;
  for (;;) {
    const now = await xacts(url);
    if (now.commits - before.commits >= commits || Date.now() > end) {
      return { commits: now.commits - before.commits, rollbacks: now.rollbacks - before.rollbacks };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh board with `tasks` made by one store, and `CLAIMERS` more stores connected to it. */
async function board(tasks: CreateTaskInput[]) {
  const db = await freshDatabase();
  const seed = openStore(db.url);
  const claimers: Store[] = [];
  try {
    for (let i = 0; i < tasks.length; i += 500) {
      await seed.createTasks(tasks.slice(i, i + 500), HUMAN);
    }
    for (let i = 0; i < CLAIMERS; i++) claimers.push(openStore(db.url));
    await Promise.all(claimers.map((s) => s.info())); // connected before the race
  } catch (err) {
    await Promise.all([seed, ...claimers].map(endStore));
    await dropDatabase(db.name);
    throw err;
  }
  return {
    url: db.url,
    seed,
    claimers,
    /** ends the claimers' connections (their backends then report their counts) */
    endClaimers: () => Promise.all(claimers.map(endStore)),
    [Symbol.asyncDispose]: async () => {
      await Promise.all([seed, ...claimers].map(endStore));
      await dropDatabase(db.name);
    },
  };
}

pgTest(
  "8 claimers on their own connections drain 400 ready tasks: each claimed once, no transaction rolled back or retried",
  async () => {
    const TASKS = 400;
    await using b = await board(
      Array.from({ length: TASKS }, (_, i) => ({ title: `task ${i}`, assignee: "coder" })),
    );
    const before = await xacts(b.url);
    const claimed = await Promise.all(b.claimers.map(async (s, i) => {
      const ids: string[] = [];
      for (;;) {
        const c = await s.claim({ assignees: ["coder"], host: `host-${i}` }, { name: `d${i}` });
        if (c === null) return ids;
        ids.push(c.task.id);
      }
    }));
    const retries = b.claimers.map((s) => driverOf(s).retries);
    await b.endClaimers();

    const all = claimed.flat();
    assert.equal(all.length, TASKS, "every task was claimed");
    assert.equal(new Set(all).size, TASKS, "no task was claimed twice");
    for (const [i, ids] of claimed.entries()) {
      assert.ok(ids.length > 0, `claimer ${i} claimed nothing: the claims did not run at once`);
    }
    assert.deepEqual(retries, Array(CLAIMERS).fill(0), "no claim was run again");
    // every claim committed (and each claimer's last, empty one); the server rolled none back
    const counted = await settledXacts(b.url, before, TASKS + CLAIMERS);
    assert.equal(counted.rollbacks, 0, "the server rolled no transaction back");

    const open = await b.seed.openRuns();
    assert.equal(open.length, TASKS, "one open run per task");
    assert.equal(new Set(open.map((r) => r.task_id)).size, TASKS);
    assert.equal((await b.seed.listTasks({ statuses: ["running"] })).length, TASKS);
    assert.deepEqual(await b.seed.checkInvariants(), []);
  },
);

pgTest(
  "8 claimers with a cap of 3 on a profile never hold more than 3 of its runs at any commit, while another profile runs uncapped",
  async () => {
    const CAPPED = 40;
    const FREE = 40;
    const CAP = 3;
    await using b = await board([
      ...Array.from({ length: CAPPED }, (_, i) => ({ title: `review ${i}`, assignee: "reviewer" })),
      ...Array.from({ length: FREE }, (_, i) => ({ title: `code ${i}`, assignee: "coder" })),
    ]);
    // The workers complete on connections of their own: the claimers' count only claims.
    const workers = await Promise.all(b.claimers.map(async () => {
      const s = openStore(b.url);
      await s.info();
      return s;
    }));
    try {
      let done = 0;
      let claims = 0;
      await Promise.all(b.claimers.map(async (s, i) => {
        while (done < CAPPED + FREE) {
          const c = await s.claim(
            { assignees: ["reviewer", "coder"], caps: { reviewer: CAP }, host: `host-${i}` },
            { name: `d${i}` },
          );
          if (c === null) {
            // every reviewer place is taken and no coder task is left: wait for a completion
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          claims++;
          await new Promise((r) => setTimeout(r, 2)); // the worker works a little
          await workers[i]!.complete(c.task.id, { summary: "ok" }, {
            name: `w${i}`,
            token: c.token,
          });
          done++;
        }
      }));
      assert.equal(claims, CAPPED + FREE, "each task was claimed once");
      assert.deepEqual(
        b.claimers.map((s) => driverOf(s).retries),
        Array(CLAIMERS).fill(0),
        "no claim was run again: claimers that find the cap's places taken wait for its lock",
      );
    } finally {
      await Promise.all(workers.map(endStore));
    }

    // Event ids commit in commit order (the event lock): replaying `claimed` and `completed`
    // gives the number of open runs of each profile after every commit.
    const events = await b.seed.eventsSince(0, 100_000);
    const profileOf = new Map(
      (await b.seed.listTasks({ archived: true })).map((t) => [t.id, t.assignee]),
    );
    const open = new Map<string, number>();
    const most = new Map<string, number>();
    for (const e of events) {
      const p = profileOf.get(e.task_id ?? "") ?? "?";
      if (e.kind === "claimed") open.set(p, (open.get(p) ?? 0) + 1);
      else if (e.kind === "completed") open.set(p, (open.get(p) ?? 0) - 1);
      else continue;
      most.set(p, Math.max(most.get(p) ?? 0, open.get(p)!));
    }
    assert.equal(
      most.get("reviewer"),
      CAP,
      `reviewer runs at once: at most ${CAP}, and it got there`,
    );
    assert.ok(most.get("coder")! > CAP, `coder ran uncapped (${most.get("coder")} at once)`);
    assert.deepEqual([...open.values()], [0, 0], "every run ended");
    assert.equal((await b.seed.listTasks({ statuses: ["done"] })).length, CAPPED + FREE);
    assert.deepEqual(await b.seed.checkInvariants(), []);
  },
);
