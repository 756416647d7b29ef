/**
 * doctor's cycle search on shapes too awkward to build through a board (a pure function), and
 * doctor() on a healthy board. The SQLite driver's doctor on damaged and 10,000-deep boards is
 * in tests/store/sqlite/doctor_test.ts.
 */
import assert from "node:assert/strict";
import { tasksOnCycles } from "../../lib/store/invariants.ts";
import { HUMAN } from "../_setup.ts";
import { conformance } from "./_drivers.ts";

Deno.test("tasksOnCycles() lists the tasks on each cycle, not those that lead into or out of one", () => {
  const links: [string, string][] = [
    ["a", "b"],
    ["b", "c"],
    ["c", "a"], // cycle a -> b -> c -> a
    ["d", "a"], // d leads into it
    ["c", "e"], // e hangs off it
    ["f", "g"],
    ["g", "f"], // a second cycle
    ["h", "h"], // a self link (the schema refuses one; the check must not rely on that)
    ["x", "y"],
    ["y", "z"],
    ["x", "z"], // a diamond: no cycle
  ];
  assert.deepEqual(
    tasksOnCycles(links).sort(),
    ["a", "b", "c", "f", "g", "h"],
  );
  assert.deepEqual(tasksOnCycles([]), []);
  // a chain of 100,000 links: no recursion to overflow, and no cycle
  const long = Array.from(
    { length: 100_000 },
    (_, i) => [`t${i}`, `t${i + 1}`] as [string, string],
  );
  assert.deepEqual(tasksOnCycles(long), []);
  long.push(["t100000", "t0"]);
  assert.equal(tasksOnCycles(long).length, 100_001);
});

conformance(
  "doctor() on a healthy board reads it in one snapshot and leaves no transaction open",
  async (drv) => {
    await using b = await drv.fresh();
    await b.store.createTasks([{ title: "one" }, { title: "two" }], HUMAN);
    assert.equal((await b.store.doctor()).ok, true);
    // the connection is usable for writes afterwards (no read transaction left behind)
    await b.store.createTasks([{ title: "three" }], HUMAN);
    using other = await drv.open(b.location);
    assert.equal((await other.listTasks()).length, 3);
  },
);
