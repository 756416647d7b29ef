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
  "8 dispatchers claiming and completing with a cap of 3 on a profile never hold more than 3 of its runs at any commit, and nothing is rolled back",
  async () => {
    const CAPPED = 40;
    const FREE = 40;
    const CAP = 3;
    await using b = await board([
      ...Array.from({ length: CAPPED }, (_, i) => ({ title: `review ${i}`, assignee: "reviewer" })),
      ...Array.from({ length: FREE }, (_, i) => ({ title: `code ${i}`, assignee: "coder" })),
    ]);
    const before = await xacts(b.url);
    let done = 0;
    let claims = 0;
    let empty = 0;
    await Promise.all(b.claimers.map(async (s, i) => {
      while (done < CAPPED + FREE) {
        const c = await s.claim(
          { assignees: ["reviewer", "coder"], caps: { reviewer: CAP }, host: `host-${i}` },
          { name: `d${i}` },
        );
        if (c === null) {
          // every reviewer place is taken and no coder task is left: wait for a completion
          empty++;
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        claims++;
        await new Promise((r) => setTimeout(r, 15)); // the worker works a little
        await s.complete(c.task.id, { summary: "ok" }, { name: `w${i}`, token: c.token });
        done++;
      }
    }));
    const retries = b.claimers.map((s) => driverOf(s).retries);
    await b.endClaimers();
    assert.equal(claims, CAPPED + FREE, "each task was claimed once");

    // Event ids commit in commit order (the event lock): replaying `claimed` and `completed`
    // gives the number of open runs of each profile after every commit.
    const events = await b.seed.eventsSince(0, 100_000);
    const profileOf = new Map(
      (await b.seed.listTasks({ archived: true })).map((t) => [t.id, t.assignee]),
    );
    const open = new Map<string, number>([["reviewer", 0], ["coder", 0]]);
    let most = 0;
    let besideFullCap = false;
    for (const e of events) {
      const p = profileOf.get(e.task_id ?? "") ?? "?";
      if (e.kind === "claimed") open.set(p, open.get(p)! + 1);
      else if (e.kind === "completed") open.set(p, open.get(p)! - 1);
      else continue;
      most = Math.max(most, open.get("reviewer")!);
      besideFullCap ||= open.get("reviewer") === CAP && open.get("coder")! > 0;
    }
    assert.equal(most, CAP, `reviewer runs at once: at most ${CAP}, and it got there`);
    assert.ok(besideFullCap, "coder tasks ran while the reviewer cap was full");
    assert.deepEqual([...open.values()], [0, 0], "every run ended");
    assert.equal((await b.seed.listTasks({ statuses: ["done"] })).length, CAPPED + FREE);
    assert.deepEqual(await b.seed.checkInvariants(), []);

    // Claimers that find the cap's places taken wait for its lock; completes lock their run
    // and task: none of them fails another.
    const counted = await settledXacts(b.url, before, 2 * claims + empty);
    assert.deepEqual(
      { retries: retries.reduce((a, n) => a + n, 0), rollbacks: counted.rollbacks },
      { retries: 0, rollbacks: 0 },
      "no transaction was rolled back or run again",
    );
  },
);

/** until polls `cond` every 10 ms, failing after `ms`. */
async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

pgTest(
  "a child promoted while a worker completes its parent ends ready, not waiting for a parent that is done",
  async () => {
    // The worker's complete runs at READ COMMITTED, where the serialisable checks of the
    // promote cannot see it. Held in the middle (it waits for a sibling's lock after it has
    // looked at the child and moved the parent), it must still not let the promote commit
    // `todo` from the parent as it was before: the promote's guarded read of the parent fails
    // while the complete holds it, and the promote runs again once the complete has committed.
    await using b = await board([]);
    const [worker, person] = [b.claimers[0]!, b.claimers[1]!];
    const parent = (await b.seed.createTask({ title: "parent", assignee: "coder" }, HUMAN)).task;
    const claim = (await b.seed.claim({ taskId: parent.id }, HUMAN))!;
    const kids = [];
    for (const title of ["child", "sibling"]) {
      kids.push(
        (await b.seed.createTask({ title, parents: [parent.id], triage: true }, HUMAN))
          .task.id,
      );
    }
    // the complete re-derives children in id order: it looks at `child` first, then waits
    const [child, sibling] = kids.sort();
    const raw = postgresClient(b.url, { max: 2, onnotice: () => {} });
    const held = await raw.reserve();
    try {
      await held`BEGIN`;
      await held`SELECT 1 FROM tasks WHERE id = ${sibling!} FOR UPDATE`;
      const completing = worker.complete(parent.id, { summary: "done" }, {
        name: "w",
        token: claim.token,
      });
      completing.catch(() => {});
      await until("the complete waits for the sibling's lock", async () => {
        const [row] = await raw`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        return row!.n > 0;
      });
      const promoting = person.promote(child!, HUMAN);
      promoting.catch(() => {});
      await new Promise((r) => setTimeout(r, 200)); // the promote tries meanwhile
      await held`COMMIT`;
      await completing;
      const promoted = await promoting;
      assert.equal(promoted.status, "ready", "the child was promoted with its parent done");
      assert.ok(driverOf(person).retries > 0, "the promote ran again once the parent was written");
    } finally {
      held.release();
      await raw.end({ timeout: 5 });
    }
    assert.equal((await b.seed.getTask(child!)).status, "ready");
    assert.equal((await b.seed.getTask(parent.id)).status, "done");
    assert.deepEqual(await b.seed.checkInvariants(), []);
  },
);

pgTest(
  "two workers completing the two parents of one child at once leave the child ready",
  async () => {
    // Both completes run at READ COMMITTED: each re-derives the child after moving its own
    // parent, and neither may read the other's parent as it was before and leave the child
    // waiting. The first is held after it has looked at the child (it waits for a sibling's
    // lock); the second must wait for the child's lock and then see the first's parent done.
    await using b = await board([]);
    const [w1, w2] = [b.claimers[0]!, b.claimers[1]!];
    const p1 = (await b.seed.createTask({ title: "p1", assignee: "coder" }, HUMAN)).task;
    const p2 = (await b.seed.createTask({ title: "p2", assignee: "coder" }, HUMAN)).task;
    const c1 = (await b.seed.claim({ taskId: p1.id }, HUMAN))!;
    const c2 = (await b.seed.claim({ taskId: p2.id }, HUMAN))!;
    const kids = [];
    for (const title of ["a", "b"]) {
      kids.push((await b.seed.createTask({ title, parents: [p1.id] }, HUMAN)).task.id);
    }
    // p1's complete re-derives its children in id order: the child first, then the sibling
    const [child, sibling] = kids.sort();
    await b.seed.link(p2.id, child!, HUMAN);
    const raw = postgresClient(b.url, { max: 2, onnotice: () => {} });
    const held = await raw.reserve();
    const waiting = async (n: number) => {
      const [row] = await raw`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      return row!.n >= n;
    };
    try {
      await held`BEGIN`;
      await held`SELECT 1 FROM tasks WHERE id = ${sibling!} FOR UPDATE`;
      const first = w1.complete(p1.id, { summary: "one" }, { name: "w1", token: c1.token });
      first.catch(() => {});
      await until("the first complete waits for the sibling's lock", () => waiting(1));
      let secondDone = false;
      const second = w2.complete(p2.id, { summary: "two" }, { name: "w2", token: c2.token })
        .finally(() => (secondDone = true));
      second.catch(() => {});
      await until(
        "the second complete waits for the child, or is done",
        async () => secondDone || await waiting(2),
      );
      await held`COMMIT`;
      await Promise.all([first, second]);
    } finally {
      held.release();
      await raw.end({ timeout: 5 });
    }
    assert.equal((await b.seed.getTask(child!)).status, "ready", "both its parents are done");
    assert.equal((await b.seed.getTask(sibling!)).status, "ready");
    assert.deepEqual(
      [w1, w2].map((s) => driverOf(s).retries),
      [0, 0],
      "the workers took turns on the child's lock: nothing ran again",
    );
    assert.deepEqual(await b.seed.checkInvariants(), []);
  },
);
