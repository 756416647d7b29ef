/**
 * A racing claimer (run by race_test.ts): opens the board, waits at the barrier, then claims
 * until nothing is left, printing one `{"id", "run"}` JSON line per claimed task.
 * Usage: deno run -A tests/store/_claimer.ts <go-file> <board> <worker-name>
 */
import { openStore } from "../../lib/store/mod.ts";
import { barrier } from "./_spawn.ts";

const [goFile, board, name] = Deno.args;
if (!goFile || !board || !name) throw new Error("usage: _claimer.ts <go-file> <board> <name>");

using store = openStore(board);
await barrier(goFile);
for (;;) {
  const claim = await store.claim({}, { name });
  if (claim === null) break;
  console.log(JSON.stringify({ id: claim.task.id, run: claim.run.id }));
}
