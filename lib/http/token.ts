/**
 * The board's API token: a random secret kept in a file next to the board
 * (`board.db.http-token`, mode 0600), made on first serve. It lives outside the database on
 * purpose: workers hold the board file's path and open it, but have no business with the
 * token, and a backup of the board does not carry it. `kanban serve --rotate-token` replaces
 * it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { linkSync, lstatSync, renameSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { diskFullError, KanbanError } from "../store/mod.ts";
import { readCapped } from "../readcap.ts";

const TOKEN = /^kb_[A-Za-z0-9_-]{43}$/;

/** newSecret makes `bytes` random bytes as base64url text. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** tokenPath is where the token of the board at `boardPath` lives. */
export function tokenPath(boardPath: string): string {
  return `${boardPath}.http-token`;
}

export interface BoardToken {
  token: string;
  path: string;
  /** true when this call made the token (first serve, or a rotation). */
  created: boolean;
}

/**
 * boardToken reads the board's token, making it on first use. With `rotate` a new token
 * replaces the old one (every browser must log in again). A token file that is a symlink,
 * belongs to another user, or is readable by others is refused, as ssh refuses such a key:
 * in a shared directory someone else could have planted or read it.
 */
export function boardToken(boardPath: string, options: { rotate?: boolean } = {}): BoardToken {
  const path = tokenPath(boardPath);
  if (options.rotate) {
    const token = `kb_${newSecret()}`;
    withTempFile(path, token, (tmp) => renameSync(tmp, path));
    return { token, path, created: true };
  }
  for (let attempt = 0;; attempt++) {
    const existing = readToken(path);
    if (existing !== null) return { token: existing, path, created: false };
    // Write a private temporary file, then link it into place: the link fails if another
    // process made the token first, and nobody ever sees a half-written file.
    const token = `kb_${newSecret()}`;
    try {
      withTempFile(path, token, (tmp) => linkSync(tmp, path));
      return { token, path, created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 2) throw err;
    }
  }
}

/**
 * withTempFile writes `token` to a private temporary file beside `path` and hands it to
 * `place` (a rename or a link). The temporary file is gone afterwards, whether the write, the
 * placing or neither failed: a full disk leaves no stray `.tmp` file, and says so as
 * `disk_full` (any other failure is `cannot_write`, naming the file).
 */
function withTempFile(path: string, token: string, place: (tmp: string) => void): void {
  const tmp = `${path}.${process.pid}.${newSecret(6)}.tmp`;
  try {
    writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: "wx" });
    place(tmp);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw err; // another made it first
    throw diskFullError(path, err) ??
      new KanbanError(
        "cannot_write",
        `Cannot write the token file "${path}": ${(err as Error).message}`,
      );
  } finally {
    try {
      rmSync(tmp, { force: true });
    } catch { /* a folder that vanished: nothing is left to remove */ }
  }
}

/**
 * readToken reads the token file at `path` with boardToken's checks, or null when there is
 * none yet; it never makes one.
 */
export function readToken(path: string): string | null {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    // A name too long, a folder that is a file, no permission: say which file, not a stack.
    throw new KanbanError(
      "cannot_open",
      `Cannot read the token file "${path}": ${(err as Error).message}`,
    );
  }
  const refuse = (why: string) =>
    new KanbanError("insecure_token_file", `Refusing the token file "${path}": ${why}`);
  if (!st.isFile()) throw refuse("it is not a regular file");
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw refuse(`it belongs to user ${st.uid}, not you`);
  if ((st.mode & 0o077) !== 0) {
    throw refuse(
      `other users may read it (mode ${(st.mode & 0o777).toString(8)}); ` +
        `"chmod 600" it, or delete it to make a new token`,
    );
  }
  // a token is 46 bytes: read no more than 4 KiB of whatever is there
  const token = readCapped(path, 4096, `The token file "${path}"`).trim();
  if (!TOKEN.test(token)) throw refuse("it does not hold a kanban token (kb_...)");
  return token;
}

/** sameSecret compares two secrets in constant time (for their common length). */
export function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

/**
 * sessionCookie is the name and value of the browser's login cookie for this token. The
 * name is per token: cookies ignore ports, so two boards served on one host would otherwise
 * overwrite each other's. The value is derived from the token, not the token itself.
 */
export function sessionCookie(token: string): { name: string; value: string } {
  const hash = (what: string) =>
    createHash("sha256").update(`kanban-${what}:${token}`).digest("base64url");
  return {
    name: `kanban_${hash("cookie").slice(0, 10).replace(/[-_]/g, "x")}`,
    value: hash("session"),
  };
}
