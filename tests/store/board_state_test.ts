/**
 * boardState() stands in for reading the board file in every "refused and changes nothing"
 * check of the conformance suite: it must see each kind of row a write can add or change.
 */
import assert from "node:assert/strict";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { conformance } from "./_drivers.ts";
import { add, boardState, claimId, worker } from "./_helpers.ts";

conformance(
  "boardState() sees every kind of write: tasks, links, runs, comments, events",
  async (drv) => {
    await using b = await drv.fresh();
    const s = b.store;
    const parent = await add(s, "parent");
    const child = await add(s, "child");
    const c = await claimId(s, parent.id);
    const writes: [string, () => Promise<unknown>][] = [
      ["a new task", () => add(s, "another")],
      ["an edited field", () => s.editTask(child.id, { priority: 5 }, HUMAN)],
      ["a link", () => s.link(parent.id, child.id, HUMAN)],
      ["a comment", () => s.comment(child.id, "hi", HUMAN)],
      ["a heartbeat (the run's lease)", () => {
        b.clock.advance(1_000);
        return s.heartbeat(parent.id, worker(c));
      }],
      ["an event of no task", () => s.requestDispatch(DISPATCHER)],
      ["an ended run", () => s.endRun(c.run.id, { outcome: "crashed" }, DISPATCHER)],
    ];
    for (const [what, write] of writes) {
      const before = await boardState(s);
      await write();
      assert.notDeepEqual(await boardState(s), before, `boardState() missed ${what}`);
    }
    // and a read changes nothing
    assert.deepEqual(await boardState(s), await boardState(s));
  },
);
