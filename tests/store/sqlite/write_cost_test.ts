/**
 * What each write costs the disk: the pages a create, a claim and a completion add to the
 * write-ahead log, averaged over many of each on a board of a few thousand tasks. An index
 * added to a hot path, or a statement that touches one more table, shows up here long before
 * it shows in the benchmark (docs/performance.md explains the figures and their budget).
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { setup } from "../../_setup.ts";
import { rawDb } from "./_raw.ts";

/** A WAL frame is a 24-byte header and one page; the file starts with a 32-byte header. */
const FRAME = 24 + 4096;

/**
 * framesOf runs `op` `n` times, each time after emptying the WAL (a TRUNCATE checkpoint from
 * another connection), and returns the average number of frames one call wrote.
 */
async function framesOf(path: string, n: number, op: (i: number) => Promise<unknown>) {
  using db = rawDb(path);
  let frames = 0;
  for (let i = 0; i < n; i++) {
    const [r] = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").all() as { busy: number }[];
    assert.equal(r?.busy, 0, "the checkpoint must empty the WAL");
    await op(i);
    frames += Math.max(0, statSync(`${path}-wal`).size - 32) / FRAME;
  }
  return frames / n;
}

Deno.test("a create, a claim and a completion each write no more pages than their budget", async () => {
  await using b = setup();
  const actor = { name: "bench" };
  const inputs = Array.from({ length: 3_000 }, (_, i) => ({
    title: `task ${i}`,
    body: "Claim me, then complete me.",
    assignee: i % 2 === 0 ? "coder" : "writer",
  }));
  for (let i = 0; i < inputs.length; i += 1_000) {
    await b.store.createTasks(inputs.slice(i, i + 1_000), actor);
  }
  const N = 40;
  const create = await framesOf(
    b.path,
    N,
    (i) => b.store.createTask({ title: `new ${i}`, assignee: "coder" }, actor),
  );
  const claims: { id: string; token: string }[] = [];
  const claim = await framesOf(b.path, N, async () => {
    const c = await b.store.claim({}, { name: "w" });
    assert.ok(c);
    claims.push({ id: c.task.id, token: c.token });
  });
  const complete = await framesOf(
    b.path,
    N,
    (i) =>
      b.store.complete(claims[i]!.id, { summary: "ok" }, { name: "w", token: claims[i]!.token }),
  );
  const seen = `create ${create.toFixed(1)}, claim ${claim.toFixed(1)}, complete ${
    complete.toFixed(1)
  }`;
  // Measured 9.8-10.5, 11.6-12.4 and 10.3-10.4 (before migration 005: 11.9, 17.7, 14.5); the
  // claim 13.0-14.5 since migration 013 (the completion gates' columns): page splits, since the
  // clock stands still here and claims take full pages of tasks in random order, each growing
  // the row it moves (11.5 when claims follow creation order; docs/performance.md).
  assert.ok(create <= 11.5, `a create wrote too many pages: ${seen}`);
  assert.ok(claim <= 15, `a claim wrote too many pages: ${seen}`);
  assert.ok(complete <= 11.5, `a completion wrote too many pages: ${seen}`);
});
