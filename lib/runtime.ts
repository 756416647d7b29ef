/**
 * The one runtime-specific module: which JavaScript runtime runs us, and the SQLite library
 * it carries. Everything else uses node: modules only, so one source tree runs under Deno
 * (development, tests) and Bun (the compiled binary).
 */
import { DatabaseSync } from "node:sqlite";
import process from "node:process";

export function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** sqliteVersion asks the linked SQLite library for its version. */
export function sqliteVersion(): string {
  const db = new DatabaseSync(":memory:");
  try {
    return String((db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v);
  } finally {
    db.close();
  }
}

/**
 * selfBinary is the path of the compiled kanban binary running this code, or null when the
 * sources run under a development runtime (deno run / bun run).
 */
export function selfBinary(): string | null {
  const g = globalThis as { Bun?: { main: string } };
  if (g.Bun && g.Bun.main.startsWith("/$bunfs/")) return process.execPath;
  return null;
}
