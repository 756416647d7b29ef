/**
 * Where boards live. The home is `$KANBAN_HOME` or `~/.kanban`; board NAME is the file
 * `<home>/boards/NAME/board.db`, or the server database whose URL is in
 * `<home>/boards/NAME/board.url`. A board is resolved once (flag, then environment, then the
 * default) and handed to workers as an explicit path, so every process opens the same file.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { ValidationError } from "../errors.ts";
import { boardLocation } from "../store/location.ts";
import { WORKER_VARS } from "../worker_env.ts";

export type Env = Record<string, string | undefined>;

export const DEFAULT_BOARD = "default";
const BOARD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function kanbanHome(env: Env): string {
  const home = env["KANBAN_HOME"];
  if (home !== undefined && home !== "") return resolve(home);
  return join(env["HOME"] || homedir(), ".kanban");
}

/** expandHome turns a leading `~` (alone or before a slash) into $HOME. */
export function expandHome(path: string, env: Env): string {
  return path.replace(/^~(?=$|\/)/, env["HOME"] ?? "~");
}

export interface BoardRef {
  /** The board's name, or null when it was given as a path. */
  name: string | null;
  path: string;
}

export interface BoardFlags {
  board?: string | undefined;
  db?: string | undefined;
}

/**
 * resolveBoard picks the board: `--db PATH` (or a `sqlite:` URL), then `--board NAME`, then
 * `$KANBAN_DB`, then `$KANBAN_BOARD`, then "default".
 */
export function resolveBoard(flags: BoardFlags, env: Env, cwd: string): BoardRef {
  if (flags.db !== undefined) return { name: null, path: dbPath(flags.db, cwd) };
  if (flags.board !== undefined) return named(flags.board, env);
  const db = env[WORKER_VARS.db];
  if (db !== undefined && db !== "") return { name: null, path: dbPath(db, cwd) };
  const board = env[WORKER_VARS.board];
  return named(board !== undefined && board !== "" ? board : DEFAULT_BOARD, env);
}

/**
 * dbPath is the file a `--db` location names, absolute, or a server database's URL as given
 * (lib/store/location.ts reads URLs).
 */
function dbPath(location: string, cwd: string): string {
  const where = boardLocation(location);
  if (where.driver !== "sqlite") return where.url;
  return isAbsolute(where.path) ? where.path : resolve(cwd, where.path);
}

function named(name: string, env: Env): BoardRef {
  if (!BOARD_NAME.test(name)) {
    throw new ValidationError(
      `Board name "${name}" is not valid (letters, digits, ".", "_" and "-"; up to 64)`,
    );
  }
  const dir = join(kanbanHome(env), "boards", name);
  const file = join(dir, "board.db");
  const urlFile = join(dir, BOARD_URL_FILE);
  if (!existsSync(urlFile)) return { name, path: file };
  // a board kept in a server database: its folder holds the URL (kanban init --board --db)
  if (existsSync(file)) {
    throw new ValidationError(
      `Board "${name}" has both a board file (${file}) and a database URL (${urlFile}): ` +
        `remove the one that is not the board`,
    );
  }
  const url = readFileSync(urlFile, "utf8").trim();
  const where = boardLocation(url);
  if (where.driver === "sqlite") {
    throw new ValidationError(
      `${urlFile} holds "${url}", which is not a server database's URL (e.g. postgres://...)`,
    );
  }
  return { name, path: where.url };
}

/** The file in a board's folder that holds its server database's URL (mode 0600). */
export const BOARD_URL_FILE = "board.url";

/**
 * boardUrlFile is where board `name` keeps its server database's URL, so that `--board NAME`
 * (and $KANBAN_BOARD) open it as they open a board file.
 */
export function boardUrlFile(name: string, env: Env): string {
  return join(kanbanHome(env), "boards", name, BOARD_URL_FILE);
}

/**
 * boardKey names a board's folders (workspaces, logs): its name, or for a board given by
 * path a stable key derived from that path.
 */
export function boardKey(board: BoardRef): string {
  if (board.name !== null) return board.name;
  return `db-${createHash("sha256").update(board.path).digest("hex").slice(0, 12)}`;
}
