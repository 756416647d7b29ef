import assert from "node:assert/strict";
import { HUMAN, setup } from "../_setup.ts";

Deno.test("createTask() makes a parentless task ready and its child waits", async () => {
  await using b = setup();
  const parent = (await b.store.createTask({ title: "schema" }, HUMAN)).task;
  const child = (await b.store.createTask({ title: "api", parents: [parent.id] }, HUMAN)).task;
  assert.deepEqual([parent.status, child.status], ["ready", "todo"]);
});
