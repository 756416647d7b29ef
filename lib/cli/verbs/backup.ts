/**
 * `kanban backup FILE`: a consistent copy of the live board (SQLite `VACUUM INTO`), safe while
 * dispatchers and workers write. Never overwrites: an existing FILE is refused.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { type Env, kanbanHome } from "../../config/paths.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";

/** size prints a byte count for people: `812 B`, `64.0 KB`, `3.2 MB`. */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let n = bytes / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(1)} ${units[i]}`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command("backup")
    .description("write a consistent copy of the live board to FILE (never overwrites)")
    .argument("<file>", "the backup to create (missing folders are made)")
    .action(async (file, _opts, cmd) => {
      using s = session(ctx, cmd);
      const r = await s.store.backup(resolve(ctx.cwd, file));
      emit(ctx, s.json, r, () => `${r.path} (${size(r.bytes)})`);
    });
}

/**
 * backupFolders are where `kanban doctor` looks for backups of the board at `board`:
 * `$KANBAN_HOME/backups` (where the cron line of docs/operations.md writes them) and a
 * `backups` folder beside the board file.
 */
export function backupFolders(board: string, env: Env): string[] {
  return [...new Set([join(kanbanHome(env), "backups"), join(dirname(board), "backups")])];
}

export interface FoundBackup {
  path: string;
  /** When the file was last written (ISO time). */
  modified: string;
  bytes: number;
}

const SQLITE_HEADER = "SQLite format 3\0";

/** isSqliteFile tells whether `path` starts with SQLite's file header (reads 16 bytes). */
function isSqliteFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = new Uint8Array(16);
    const n = readSync(fd, head, 0, 16, 0);
    return n === 16 && new TextDecoder("latin1").decode(head) === SQLITE_HEADER;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * newestBackup finds the most recently written SQLite file in `folders` (not recursive;
 * never `board` itself, its `-wal`/`-shm`, nor a backup still being written), or null. It
 * does not open the files: a backup is checked by running `kanban --db FILE doctor` on it.
 */
export function newestBackup(board: string, folders: string[]): FoundBackup | null {
  let best: FoundBackup & { ms: number } | null = null;
  for (const folder of folders) {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue; // no such folder: nothing there
    }
    for (const name of names) {
      const path = join(folder, name);
      if (path === resolve(board) || /-(wal|shm)$|\.tmp-[0-9a-f]+$/.test(name)) continue;
      let st;
      try {
        st = statSync(path);
      } catch {
        continue;
      }
      if (!st.isFile() || (best !== null && st.mtimeMs <= best.ms) || !isSqliteFile(path)) continue;
      best = { path, modified: st.mtime.toISOString(), bytes: st.size, ms: st.mtimeMs };
    }
  }
  if (best === null) return null;
  const { ms: _ms, ...found } = best;
  return found;
}
