/**
 * A racing creator (run by race_test.ts): opens the board, waits at the barrier, then creates
 * one task with the given idempotency key and prints `{"id", "created"}`.
 * Usage: deno run -A tests/store/_creator.ts <go-file> <board> <worker-name> <key>
 */
import { openStore } from "../../lib/store/mod.ts";
import { barrier } from "./_spawn.ts";

const [goFile, board, name, key] = Deno.args;
if (!goFile || !board || !name || !key) {
  throw new Error("usage: _creator.ts <go-file> <board> <name> <key>");
}

using store = openStore(board);
await barrier(goFile);
const { task, created } = await store.createTask(
  { title: `made by ${name}`, idempotency_key: key },
  { name },
);
console.log(JSON.stringify({ id: task.id, created }));
