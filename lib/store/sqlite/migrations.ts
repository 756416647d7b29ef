/**
 * The numbered schema migrations, embedded in the binary as modules. Append only: the board's
 * `PRAGMA user_version` is the number of migrations applied.
 */
import { sql as m001 } from "./migrations/001_initial.ts";
import { sql as m002 } from "./migrations/002_dispatch.ts";
import { sql as m003 } from "./migrations/003_usage.ts";
import { sql as m004 } from "./migrations/004_board.ts";
import { sql as m005 } from "./migrations/005_lean_writes.ts";
import { sql as m006 } from "./migrations/006_needs.ts";
import { sql as m007 } from "./migrations/007_routines.ts";
import { sql as m008 } from "./migrations/008_block_kinds.ts";
import { sql as m009 } from "./migrations/009_attachments.ts";
import { sql as m010 } from "./migrations/010_reviewer.ts";
import { sql as m011 } from "./migrations/011_budgets.ts";
import { sql as m012 } from "./migrations/012_profile_holds.ts";
import { sql as m013 } from "./migrations/013_gates.ts";

export const MIGRATIONS: readonly string[] = [
  m001,
  m002,
  m003,
  m004,
  m005,
  m006,
  m007,
  m008,
  m009,
  m010,
  m011,
  m012,
  m013,
];

/** SCHEMA_VERSION is the user_version of a board with every migration applied. */
export const SCHEMA_VERSION = MIGRATIONS.length;
