/**
 * The SQLite driver opening a board file: concurrent first opens, boards from a newer kanban, missing boards, and the
 * connection settings (WAL, synchronous=NORMAL, foreign keys, busy timeout).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { SqliteDriver } from "../../../lib/store/sqlite/driver.ts";
import {
  BoardTooNewError,
  KanbanError,
  NotFoundError,
  openStore,
  SCHEMA_VERSION,
} from "../../../lib/store/mod.ts";
import { HUMAN, tempDir } from "../../_setup.ts";
import { race } from "../_spawn.ts";
import { exitCodeOf } from "../../../lib/cli/exit_codes.ts";

/** schemaOf lists a board's schema objects and its user_version through a raw connection. */
function schemaOf(path: string): { version: number; objects: unknown[] } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const version = Number(db.prepare("PRAGMA user_version").get()?.["user_version"]);
    const objects = db.prepare(
      "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
    ).all();
    return { version, objects };
  } finally {
    db.close();
  }
}

const ROUNDS = 5;

Deno.test("8 processes opening the same new board at once all succeed and migrate it once", async () => {
  using tmp = tempDir();
  // Several rounds: one opener's switch to WAL can meet another's at the wrong moment, where
  // SQLite answers BUSY at once instead of waiting (seen in about one round in fifteen).
  for (let round = 1; round <= ROUNDS; round++) {
    // The folder does not exist either: creating it is part of the race.
    const path = join(tmp.dir, `boards-${round}`, "new.db");
    const results = await race(
      "./sqlite/_opener.ts",
      Array.from({ length: 8 }, () => [path]),
      join(tmp.dir, `go-${round}`),
    );
    results.forEach((r, i) => {
      assert.equal(r.code, 0, `round ${round}, opener ${i} crashed:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /duplicate column|already exists/i);
      assert.deepEqual(
        r.lines,
        [{ ok: true, version: SCHEMA_VERSION }],
        `round ${round}, opener ${i}`,
      );
    });
  }
  const path = join(tmp.dir, `boards-${ROUNDS}`, "new.db");

  const raced = schemaOf(path);
  assert.equal(raced.version, SCHEMA_VERSION);
  // The raced board has exactly the schema of a board made by a single open.
  const single = join(tmp.dir, "single.db");
  openStore(single, { create: true }).close();
  assert.deepEqual(raced.objects, schemaOf(single).objects);

  using store = openStore(path);
  assert.deepEqual(await store.integrityCheck(), []);
  assert.deepEqual(await store.checkInvariants(), []);
  const { task } = await store.createTask({ title: "works" }, HUMAN);
  assert.equal(task.status, "ready");
});

Deno.test("openStore() refuses a board from a newer kanban with board_too_new and leaves it untouched", () => {
  using tmp = tempDir();
  // Two boards claiming version 999: a bare SQLite file in the default rollback-journal mode,
  // and a real WAL board whose version a newer kanban bumped.
  const bare = join(tmp.dir, "bare.db");
  const raw = new DatabaseSync(bare);
  raw.exec("CREATE TABLE future (x INTEGER); INSERT INTO future VALUES (1)");
  raw.exec("PRAGMA user_version = 999");
  raw.close();
  const real = join(tmp.dir, "real.db");
  openStore(real, { create: true }).close();
  const bump = new DatabaseSync(real);
  bump.exec("PRAGMA user_version = 999");
  bump.close();

  for (const path of [bare, real]) {
    const before = readFileSync(path);
    assert.throws(
      () => openStore(path),
      (err: unknown) => {
        assert.ok(err instanceof BoardTooNewError, `got ${String(err)}`);
        assert.ok(err instanceof KanbanError);
        assert.equal(err.code, "board_too_new");
        assert.equal(exitCodeOf(err.code), 1);
        assert.ok(err.message.includes(path), `names the path: ${err.message}`);
        assert.match(err.message, /\b999\b/, "names the version found");
        assert.match(
          err.message,
          new RegExp(`supports up to ${SCHEMA_VERSION}\\b`),
          "names the version supported",
        );
        return true;
      },
    );
    // Also with `create`: an existing newer board is never migrated or recreated.
    assert.throws(() => openStore(path, { create: true }), BoardTooNewError);
    assert.deepEqual(readFileSync(path), before, `${path} is byte for byte unchanged`);
    assert.equal(existsSync(`${path}-wal`), false, "no WAL file left behind");
    assert.equal(existsSync(`${path}-shm`), false, "no shared-memory file left behind");
    assert.equal(schemaOf(path).version, 999);
  }
});

Deno.test("openStore() on a missing board without create throws NotFoundError and creates nothing", () => {
  using tmp = tempDir();
  const inExisting = join(tmp.dir, "missing.db");
  const inMissing = join(tmp.dir, "no-such-folder", "missing.db");
  for (const path of [inExisting, inMissing]) {
    assert.throws(
      () => openStore(path),
      (err: unknown) => {
        assert.ok(err instanceof NotFoundError, `got ${String(err)}`);
        assert.equal(err.code, "not_found");
        assert.ok(err.message.includes(path), `names the path: ${err.message}`);
        return true;
      },
    );
    assert.throws(() => openStore(path, { create: false }), NotFoundError);
    assert.equal(existsSync(path), false, `${path} was not created`);
  }
  assert.equal(existsSync(join(tmp.dir, "no-such-folder")), false, "no folder was created");
});

Deno.test("a board connection uses WAL, synchronous=NORMAL (FULL when asked), foreign keys and a busy timeout", async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, "board.db");
  openStore(path, { create: true }).close();
  for (const options of [{}, { busyTimeoutMs: 2_500 }, { synchronous: "full" as const }]) {
    // Reopen an existing board: the settings are per connection, not only set at creation.
    using store = openStore(path, options);
    const p = await (store.driver as SqliteDriver).pragmas();
    assert.equal(p.journal_mode, "wal");
    assert.equal(p.synchronous, "synchronous" in options ? 2 : 1, "synchronous = NORMAL or FULL");
    assert.equal(p.foreign_keys, 1);
    assert.ok(p.busy_timeout > 0, `busy_timeout is ${p.busy_timeout}`);
    if ("busyTimeoutMs" in options) assert.equal(p.busy_timeout, options.busyTimeoutMs);
  }
});
