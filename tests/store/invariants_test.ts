import assert from "node:assert/strict";
import { HUMAN } from "../_setup.ts";
import { busyBoard } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

conformance(
  "checkInvariants() and integrityCheck() find nothing wrong on a healthy, busy board",
  async (drv) => {
    await using b = await drv.fresh();
    const { parent } = await busyBoard(b);
    await b.store.complete(parent.id, {}, HUMAN);
    const s = await b.store.stats();
    assert.ok(Object.values(s.by_status).filter((n) => n > 0).length >= 7);
    assert.deepEqual(await b.store.checkInvariants(), []);
    assert.deepEqual(await b.store.integrityCheck(), []);
  },
);
