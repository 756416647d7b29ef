import assert from "node:assert/strict";
import { chmodSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { boardToken, tokenPath } from "../../lib/http/token.ts";
import { sessionCookie } from "../../lib/http/token.ts";
import { LoginCodes } from "../../lib/http/login.ts";
import { tempDir } from "../_setup.ts";

Deno.test("boardToken() makes a 0600 token file on first use and reads the same token after", () => {
  using tmp = tempDir();
  const board = join(tmp.dir, "board.db");
  const first = boardToken(board);
  assert.equal(first.created, true);
  assert.equal(first.path, tokenPath(board));
  assert.match(first.token, /^kb_[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(first.path).mode & 0o777, 0o600);
  const again = boardToken(board);
  assert.deepEqual(again, { ...first, created: false });
  const rotated = boardToken(board, { rotate: true });
  assert.notEqual(rotated.token, first.token);
  assert.equal(readFileSync(first.path, "utf8").trim(), rotated.token);
  assert.equal(statSync(first.path).mode & 0o777, 0o600);
});

Deno.test("boardToken() refuses a token file others may read, a symlink, or garbage", () => {
  using tmp = tempDir();
  const board = join(tmp.dir, "board.db");
  const { path } = boardToken(board);
  chmodSync(path, 0o644);
  assert.throws(() => boardToken(board), /other users may read it \(mode 644\)/);
  chmodSync(path, 0o600);
  assert.doesNotThrow(() => boardToken(board));

  const other = join(tmp.dir, "other.db");
  symlinkSync(path, tokenPath(other));
  assert.throws(() => boardToken(other), /not a regular file/);

  const junk = join(tmp.dir, "junk.db");
  writeFileSync(tokenPath(junk), "password\n", { mode: 0o600 });
  assert.throws(() => boardToken(junk), /does not hold a kanban token/);
});

Deno.test("boardToken() called at once by several servers gives every one the same token", async () => {
  using tmp = tempDir();
  const board = join(tmp.dir, "board.db");
  const tokens = await Promise.all(
    Array.from({ length: 8 }, () => Promise.resolve().then(() => boardToken(board).token)),
  );
  assert.equal(new Set(tokens).size, 1);
});

Deno.test("sessionCookie() is per token and does not reveal the token", () => {
  const a = sessionCookie(`kb_${"a".repeat(43)}`);
  const b = sessionCookie(`kb_${"b".repeat(43)}`);
  assert.notEqual(a.name, b.name);
  assert.notEqual(a.value, b.value);
  assert.match(a.name, /^kanban_[A-Za-z0-9]{10}$/);
  assert.ok(!a.value.includes("aaaa"));
});

Deno.test("LoginCodes: a code works once, an unknown code never, an expired one no more", () => {
  let now = 0;
  const codes = new LoginCodes(() => now);
  const a = codes.issue();
  const b = codes.issue(1000);
  assert.notEqual(a, b);
  assert.equal(codes.consume("nope"), false);
  assert.equal(codes.consume(a), true);
  assert.equal(codes.consume(a), false);
  now = 1000;
  assert.equal(codes.consume(b), false);
  assert.equal(codes.size, 0);
});
