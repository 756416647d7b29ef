/**
 * A racing first opener (run by open_test.ts): waits at the barrier, then opens (creating)
 * the board and prints `{"ok": true, "version"}` or `{"ok": false, "name", "message"}`.
 * Usage: deno run -A tests/store/sqlite/_opener.ts <go-file> <board>
 */
import { openStore } from "../../../lib/store/mod.ts";
import { barrier } from "../_spawn.ts";

const [goFile, board] = Deno.args;
if (!goFile || !board) throw new Error("usage: _opener.ts <go-file> <board>");

await barrier(goFile);
try {
  using store = openStore(board, { create: true });
  const { schema_version } = await store.info();
  console.log(JSON.stringify({ ok: true, version: schema_version }));
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  console.log(JSON.stringify({ ok: false, name: e.name, message: e.message }));
}
