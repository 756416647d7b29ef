/**
 * A busy writer (run by maintenance_test.ts): creates tasks titled `w-0`, `w-1`, ... in a
 * loop, one transaction each, until the stop file exists. Prints `{"ready":true}` once it has
 * written 20 tasks, and `{"written": N}` when it stops.
 * Usage: deno run -A tests/cli/_writer.ts <board> <stop-file>
 */
import { existsSync } from "node:fs";
import { openStore } from "../../lib/store/mod.ts";

const [board, stopFile] = Deno.args;
if (!board || !stopFile) throw new Error("usage: _writer.ts <board> <stop-file>");

using store = openStore(board);
const deadline = Date.now() + 60_000; // an orphaned writer must not run forever
let n = 0;
while (!existsSync(stopFile) && Date.now() < deadline) {
  await store.createTask({ title: `w-${n}`, body: "x".repeat(2000) }, { name: "writer" });
  n++;
  if (n === 20) console.log(JSON.stringify({ ready: true }));
}
console.log(JSON.stringify({ written: n }));
