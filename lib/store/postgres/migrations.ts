/**
 * The PostgreSQL driver's numbered schema migrations, embedded in the binary as modules, and
 * the code that applies them. Append only.
 *
 * A board's schema version is one number for every driver: the version of the board's data
 * model, which the SQLite driver counts in `PRAGMA user_version` and this driver keeps in its
 * `schema_version` table. This driver started at the model of SQLite's migration 004, so its
 * migration 001 brings a database to version 4; each later migration names the version it
 * brings the board to (the SQLite migration of the same number says what changed).
 */
import { BoardTooNewError, NotABoardError, NotFoundError } from "../errors.ts";
import { sql as m001 } from "./migrations/001_initial.ts";
import { sql as m002 } from "./migrations/002_lean_writes.ts";
import { sql as m003 } from "./migrations/003_needs.ts";
import { sql as m004 } from "./migrations/004_routines.ts";
import { sql as m005 } from "./migrations/005_block_kinds.ts";
import { sql as m006 } from "./migrations/006_attachments.ts";
import { sql as m007 } from "./migrations/007_reviewer.ts";
import { sql as m008 } from "./migrations/008_budgets.ts";
import { sql as m009 } from "./migrations/009_profile_holds.ts";
import { sql as m010 } from "./migrations/010_gates.ts";
import type postgres from "postgres";
import type { Pool, Types } from "./_sql.ts";

export interface Migration {
  /** The schema version a board has once this migration is applied. */
  to: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { to: 4, sql: m001 },
  { to: 5, sql: m002 },
  { to: 6, sql: m003 },
  { to: 7, sql: m004 },
  { to: 8, sql: m005 },
  { to: 9, sql: m006 },
  { to: 10, sql: m007 },
  { to: 11, sql: m008 },
  { to: 12, sql: m009 },
  { to: 13, sql: m010 },
];

/** SCHEMA_VERSION is the schema_version of a board with every migration applied. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.to;

/**
 * The advisory lock every migration of a board takes (per database): two processes opening a
 * new board at once serialise on it, and the second finds the work done. The number is
 * arbitrary but fixed ("kanban" in ASCII).
 */
const MIGRATION_LOCK = 0x6b616e62616e;

/** schemaVersion reads the board's version: null when the database holds no board yet. */
export async function schemaVersion(
  t: Pool | postgres.TransactionSql<Types>,
): Promise<number | null> {
  // pg_tables, not to_regclass(): a backend that waited on the migration lock may still have
  // the catalog cached as it was before another process's migration committed.
  const [has] = await t<{ has: boolean }[]>`SELECT EXISTS (SELECT 1 FROM pg_tables
    WHERE schemaname = current_schema() AND tablename = 'schema_version') AS has`;
  if (!has?.has) return null;
  const [row] = await t<{ v: number | null }[]>`SELECT max(version) AS v FROM schema_version`;
  return row?.v ?? 0;
}

/**
 * migrate brings the board at `where` (a URL without its password, for messages) up to
 * SCHEMA_VERSION. A board newer than this binary is refused before anything is written; an
 * empty database becomes a board only with `create` (a typo'd database name must not silently
 * become a new, empty board); a database holding another program's tables is refused.
 */
export async function migrate(pool: Pool, where: string, create: boolean): Promise<number> {
  const seen = await schemaVersion(pool);
  if (seen !== null && seen > SCHEMA_VERSION) {
    throw new BoardTooNewError(where, seen, SCHEMA_VERSION);
  }
  if (seen === SCHEMA_VERSION) return seen;
  // READ COMMITTED (the default): once the lock is ours, each statement sees what another
  // migrator committed before it let go.
  return await pool.begin(async (t) => {
    await t`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    const current = await schemaVersion(t);
    if (current !== null && current > SCHEMA_VERSION) {
      throw new BoardTooNewError(where, current, SCHEMA_VERSION);
    }
    if (current === SCHEMA_VERSION) return current;
    if (current === null) {
      const [other] = await t<{ n: number }[]>`
        SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema()`;
      if ((other?.n ?? 0) > 0) {
        // Migrating another program's database would write kanban's tables into it.
        throw new NotABoardError(where, "it is a PostgreSQL database of another program");
      }
      if (!create) throw new NotFoundError(`No board at "${where}"; run "kanban init"`);
      await t`CREATE TABLE schema_version (version INTEGER NOT NULL)`;
      await t`INSERT INTO schema_version (version) VALUES (0)`;
    }
    for (const m of MIGRATIONS) if (m.to > (current ?? 0)) await t.unsafe(m.sql);
    await t`UPDATE schema_version SET version = ${SCHEMA_VERSION}`;
    return SCHEMA_VERSION;
  });
}
