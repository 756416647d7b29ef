/**
 * A racing routine firer (run by routines_race_test.ts): opens the board, waits at the
 * barrier, then fires the board's due routines `rounds` times and prints one line per
 * occurrence it fired: `{"routine", "occurrence", "created", "ids"}`.
 * Usage: deno run -A tests/store/_firer.ts <go-file> <board> <rounds>
 */
import { openStore } from "../../lib/store/mod.ts";
import { barrier } from "./_spawn.ts";

const [goFile, board, rounds] = Deno.args;
if (!goFile || !board || !rounds) throw new Error("usage: _firer.ts <go-file> <board> <rounds>");

using store = openStore(board);
await barrier(goFile);
for (let i = 0; i < Number(rounds); i++) {
  const { fired, failed } = await store.fireDueRoutines();
  if (failed.length > 0) throw failed[0]!.error;
  for (const f of fired) {
    console.log(JSON.stringify({
      routine: f.routine,
      occurrence: f.occurrence,
      created: f.created,
      ids: f.tasks.map((t) => t.id),
    }));
  }
}
