/**
 * Another process writing to a board (run by feed_test.ts): opens the board, creates `count`
 * tasks one transaction each, and prints `{"done": count}`.
 * Usage: deno run -A tests/store/_writer.ts <board> <count>
 */
import { openStore } from "../../lib/store/mod.ts";

const [board, count] = Deno.args;
if (!board || !count) throw new Error("usage: _writer.ts <board> <count>");

using store = openStore(board);
for (let i = 0; i < Number(count); i++) {
  await store.createTask({ title: `from another process ${i}` }, { name: "writer" });
}
console.log(JSON.stringify({ done: Number(count) }));
