/**
 * A board that this process may not write (a worker's sandbox, a read-only mount) is a clear
 * error naming the board and the likely cause, never "internal error". The test mounts the
 * board's folder read-only in a private mount namespace, which needs root (CI runs as root).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import process from "node:process";
import { BINARY, binaryHome } from "./_binary.ts";

const canMount = process.getuid?.() === 0 &&
  spawnSync("unshare", ["-m", "true"]).status === 0;

Deno.test({
  name: canMount
    ? "a write to a board in a read-only folder is a read_only error naming the board and the cause"
    : "a write to a board in a read-only folder is a read_only error (skipped: needs root for unshare -m)",
  ignore: !canMount,
  fn: () => {
    using h = binaryHome();
    h.json(["init"]);
    const before = h.json<{ id: string }[]>(["list"]);
    const board = h.json<{ board: string }>(["status"]).board;
    const folder = dirname(board);
    const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"`;
    const r = spawnSync(
      "unshare",
      ["-m", "sh", "-c", script, "sh", folder, BINARY, "create", "blocked write", "--json"],
      { env: { PATH: "/usr/bin:/bin", HOME: h.home, KANBAN_HOME: h.home }, encoding: "utf8" },
    );
    assert.equal(r.status, 1, r.stderr);
    const error = JSON.parse(r.stdout).error;
    assert.equal(error.code, "read_only");
    assert.ok(error.message.includes(board), error.message);
    assert.match(error.message, /sandbox/);
    assert.doesNotMatch(error.message, /internal error/);
    assert.deepEqual(h.json(["list"]), before, "nothing was written");
  },
});
