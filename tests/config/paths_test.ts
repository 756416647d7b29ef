/** Where a board lives: a named board's file, or the server database its folder names. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveBoard } from "../../lib/config/paths.ts";
import { tempDir } from "../_setup.ts";

Deno.test("a named board is its board.db, or the database its board.url names", () => {
  using tmp = tempDir("kanban-paths-");
  const env = { KANBAN_HOME: tmp.dir };
  const dir = join(tmp.dir, "boards", "team");
  assert.deepEqual(resolveBoard({ board: "team" }, env, "/"), {
    name: "team",
    path: join(dir, "board.db"),
  });
  mkdirSync(dir, { recursive: true });
  const url = "postgres://kanban:secret@db.internal:5432/team";
  writeFileSync(join(dir, "board.url"), `${url}\n`);
  assert.deepEqual(resolveBoard({ board: "team" }, env, "/"), { name: "team", path: url });
  assert.deepEqual(resolveBoard({}, { ...env, KANBAN_BOARD: "team" }, "/"), {
    name: "team",
    path: url,
  });
  assert.equal(resolveBoard({ db: "/x/b.db", board: "team" }, env, "/").path, "/x/b.db");

  writeFileSync(join(dir, "board.db"), "");
  assert.throws(() => resolveBoard({ board: "team" }, env, "/"), /both a board file .* remove/);

  using other = tempDir("kanban-paths-");
  const odir = join(other.dir, "boards", "x");
  mkdirSync(odir, { recursive: true });
  writeFileSync(join(odir, "board.url"), "/srv/board.db\n");
  assert.throws(
    () => resolveBoard({ board: "x" }, { KANBAN_HOME: other.dir }, "/"),
    /board\.url holds "\/srv\/board\.db", which is not a server database's URL/,
  );
});
