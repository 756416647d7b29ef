/**
 * Driver.tx's last statements (TxOptions.last: how the store writes a transaction's events,
 * sent with the commit on a server): they run after the function and before the commit, and a
 * failure among them fails the transaction with its own error, with nothing of it landing.
 */
import assert from "node:assert/strict";
import { HUMAN } from "../_setup.ts";
import { conformance } from "./_drivers.ts";

const event = (taskId: string | null, kind: string) => ({
  task_id: taskId,
  run_id: null,
  kind,
  actor: HUMAN.name,
  data: "{}",
  at: 1,
});

conformance("a transaction's last statements land with it, after its function", async (drv) => {
  await using b = await drv.fresh();
  const d = b.store.driver;
  const order: string[] = [];
  const result = await d.tx(async (q) => {
    await q.eventAppend(event(null, "first"));
    order.push("fn");
    return 42;
  }, {
    last: async (q) => {
      order.push("last");
      await q.eventsAppend([event(null, "second"), event(null, "third")]);
    },
  });
  assert.equal(result, 42);
  assert.deepEqual(order, ["fn", "last"]);
  const kinds = (await b.store.eventsSince(0)).map((e) => e.kind);
  assert.deepEqual(kinds, ["first", "second", "third"], "in the order written, ids in order");
});

conformance(
  "a failure among a transaction's last statements fails it with that error, and nothing of it lands",
  async (drv) => {
    await using b = await drv.fresh();
    const d = b.store.driver;
    await assert.rejects(
      d.tx(async (q) => {
        await q.eventAppend(event(null, "kept only with the commit"));
      }, {
        // a task that does not exist: a foreign key refuses the event
        last: (q) => q.eventsAppend([event("t_00000000", "refused")]),
      }),
      (err: Error) => /foreign key|FOREIGN KEY/.test(err.message),
    );
    assert.deepEqual(await b.store.eventsSince(0), [], "nothing landed");
  },
);
