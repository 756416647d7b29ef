/**
 * `kanban backup FILE`: a consistent copy of the live board (SQLite `VACUUM INTO`), safe while
 * dispatchers and workers write. Never overwrites: an existing FILE is refused.
 */
import { resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
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
