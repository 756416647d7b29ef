/**
 * A racing creator (run by race_test.ts): opens the board, waits at the barrier, then creates
 * one task with the given idempotency key and prints `{"id", "created"}`; with `graph`, a
 * graph of three tasks with that key, and prints `{"ids", "created"}`.
 * Usage: deno run -A tests/store/_creator.ts <go-file> <board> <worker-name> <key> [graph]
 */
import { openStore } from "../../lib/store/mod.ts";
import { barrier } from "./_spawn.ts";

const [goFile, board, name, key, mode] = Deno.args;
if (!goFile || !board || !name || !key) {
  throw new Error("usage: _creator.ts <go-file> <board> <name> <key>");
}

using store = openStore(board);
await barrier(goFile);
if (mode === "graph") {
  const { tasks, created } = await store.createGraph({
    key,
    nodes: [
      { ref: "a", task: { title: "a" } },
      { ref: "b", task: { title: "b" }, after: ["a"] },
      { ref: "c", task: { title: "c" }, after: ["a", "b"] },
    ],
  }, { name });
  console.log(JSON.stringify({ ids: tasks.map((t) => t.task.id), created }));
} else {
  const { task, created } = await store.createTask(
    { title: `made by ${name}`, idempotency_key: key },
    { name },
  );
  console.log(JSON.stringify({ id: task.id, created }));
}
