/**
 * Routines fired by real OS processes racing on one board: each occurrence makes its tasks
 * exactly once, whatever the interleaving (children are tests/store/_firer.ts, which open the
 * board by its location with the real clock, released together through a go-file barrier).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HUMAN, tempDir } from "../_setup.ts";
import { conformance } from "./_drivers.ts";
import { race } from "./_spawn.ts";

const PROCESSES = 6;
const ROUTINES = 12;

conformance(
  `${PROCESSES} racing processes firing ${ROUTINES} overdue routines make each occurrence once`,
  async (drv) => {
    // the board's clock is 2026-01-01; the children's real clock is later, so every routine
    // is overdue when they fire it: "once" fires one occurrence, "all" its ten oldest
    await using b = await drv.fresh();
    using tmp = tempDir();
    for (let i = 0; i < ROUTINES; i++) {
      await b.store.addRoutine({
        name: `r${i}`,
        cron: "* * * * *",
        tz: "UTC",
        task: { title: `routine ${i}` },
        catch_up: i % 2 === 0 ? "once" : "all",
      }, HUMAN);
    }
    const results = await race(
      "./_firer.ts",
      Array.from({ length: PROCESSES }, () => [b.location, "3"]),
      join(tmp.dir, "go"),
    );
    const seen = new Map<string, number>();
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `firer ${i} failed:\n${r.stderr}`);
      for (const line of r.lines) {
        assert.equal(line["created"], true);
        const key = `${line["routine"]}@${line["occurrence"]}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    const twice = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], "occurrences fired more than once");
    const expected = (ROUTINES / 2) * 1 + (ROUTINES / 2) * 10;
    assert.equal(seen.size, expected);
    const tasks = await b.store.listTasks({ archived: true });
    assert.equal(tasks.length, expected, "one task per occurrence");
    assert.equal(new Set(tasks.map((t) => t.idempotency_key)).size, expected);
    assert.deepEqual(await b.store.checkInvariants(), []);
  },
);
