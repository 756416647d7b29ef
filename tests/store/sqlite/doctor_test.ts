/**
 * The SQLite driver's doctor on boards of awkward shape: a dependency chain 10,000 deep (every check linear, the
 * cycle check one pass over the links), a cycle forced in behind the store's back, and a
 * board file with a page of garbage in the middle.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FILE_CHECKS, openStore, type Store } from "../../../lib/store/mod.ts";
import { CYCLE_CHECK } from "../../../lib/store/invariants.ts";
import { HUMAN, setup } from "../../_setup.ts";
import { rawDb } from "./_raw.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * chain makes `n` tasks and links each to the one before it (t1 <- t2 <- ... <- tn), as one
 * SQL transaction behind the store's back: the store's own link checks walk the ancestors of
 * every new link, which would take minutes here. The children are set to todo, as the store
 * would leave them. Returns the ids in chain order.
 */
async function chain(store: Store, path: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
      title: `step ${i + j + 1}`,
    }));
    for (const r of await store.createTasks(batch, HUMAN)) ids.push(r.task.id);
  }
  using db = rawDb(path);
  db.exec("BEGIN IMMEDIATE");
  const link = db.prepare(
    "INSERT INTO task_links (parent_id, child_id, created_at) VALUES (?, ?, 0)",
  );
  for (let i = 1; i < n; i++) link.run(ids[i - 1]!, ids[i]!);
  db.prepare("UPDATE tasks SET status = 'todo' WHERE id <> ?").run(ids[0]!);
  db.exec("COMMIT");
  return ids;
}

/**
 * doctorProcess runs `kanban doctor --json` on the board as its own process, killed after
 * `timeoutMs`: a doctor that never finishes fails the test instead of hanging it.
 */
function doctorProcess(path: string, timeoutMs = 120_000) {
  const t0 = performance.now();
  const r = spawnSync(Deno.execPath(), ["run", "-A", "main.ts", "--db", path, "doctor", "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: timeoutMs,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/" },
  });
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(r.signal, null, `doctor did not finish within ${timeoutMs / 1000} s`);
  return {
    code: r.status,
    seconds,
    report: JSON.parse(r.stdout) as {
      ok: boolean;
      problems: { check: string; ids: string[] }[];
    },
  };
}

Deno.test("doctor finishes on a dependency chain 10,000 tasks deep and finds nothing wrong", async () => {
  await using b = setup();
  await chain(b.store, b.path, 10_000);
  b.store.close();
  const r = doctorProcess(b.path);
  assert.deepEqual(r.report.problems, []);
  assert.equal(r.report.ok, true);
  assert.equal(r.code, 0);
  console.log(`    doctor on a 10,000-task chain: ${r.seconds.toFixed(2)} s (process included)`);
});

Deno.test("doctor reports a cycle forced into a 10,000-deep chain, naming tasks on it and no others", async () => {
  await using b = setup();
  const ids = await chain(b.store, b.path, 10_000);
  {
    // the last task becomes a parent of the 5,001st: tasks 5,001..10,000 form a cycle
    using db = rawDb(b.path);
    db.prepare("INSERT INTO task_links (parent_id, child_id, created_at) VALUES (?, ?, 0)")
      .run(ids[9_999]!, ids[5_000]!);
  }
  b.store.close();
  const r = doctorProcess(b.path);
  assert.equal(r.code, 1);
  assert.equal(r.report.ok, false);
  const cycle = r.report.problems.find((p) => p.check === CYCLE_CHECK);
  assert.ok(cycle, JSON.stringify(r.report.problems));
  assert.equal(cycle.ids.length, 20); // at most 20 are listed
  const onCycle = new Set(ids.slice(5_000));
  for (const id of cycle.ids) assert.ok(onCycle.has(id), `${id} is not on the cycle`);
});

Deno.test("doctor() on a board with a page of garbage in the middle reports SQLite's findings, not an error", async () => {
  await using b = setup();
  await b.store.createTasks(
    Array.from(
      { length: 300 },
      (_, i) => ({ title: `task ${i}`, body: `${"words ".repeat(80)}${i}` }),
    ),
    HUMAN,
  );
  b.store.close();
  const pageSize = 4096;
  const pages = statSync(b.path).size / pageSize;
  assert.ok(pages > 20, `a board of ${pages} pages`);
  const fd = openSync(b.path, "r+");
  writeSync(fd, new Uint8Array(pageSize).fill(0x5a), 0, pageSize, Math.floor(pages / 2) * pageSize);
  closeSync(fd);

  using store = openStore(b.path);
  const r = await store.doctor();
  assert.equal(r.ok, false);
  const file = r.problems.filter((p) => FILE_CHECKS.includes(p.check));
  assert.ok(file.length > 0 && file.length <= 20, JSON.stringify(r.problems));
  for (const p of file) assert.ok(p.message && !p.message.includes("\n"), String(p.message));
  // the board's own checks would read the damaged pages: skipped, and said so
  assert.deepEqual(r.problems.at(-1), {
    check: "invariants",
    ids: [],
    message: "not checked: the board file is damaged",
  });
  assert.equal(r.problems.length, file.length + 1);
});
