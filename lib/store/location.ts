/**
 * Where a board lives, and which driver opens it: a file path or a `sqlite:` URL
 * (`sqlite:/var/lib/kanban/board.db`, `sqlite:///var/lib/kanban/board.db`, or
 * `sqlite:relative/board.db`) for SQLite, a `postgres://` or `postgresql://` URL
 * (`postgres://user:password@host:5432/dbname`) for PostgreSQL. A URL of another scheme is
 * refused, naming the schemes known.
 */
import { fileURLToPath } from "node:url";
import type { Driver } from "./driver.ts";
import { ValidationError } from "./errors.ts";
import { SqliteDriver, type SqliteOptions } from "./sqlite/driver.ts";
import { PostgresDriver, type PostgresOptions } from "./postgres/driver.ts";

/** What every driver takes when it opens a board (drivers may take more). */
export type DriverOptions = SqliteOptions & PostgresOptions;

/** A URL with an authority part (`scheme://...`): what a server database's location looks like. */
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;
const POSTGRES = /^postgres(ql)?:\/\//i;

export type BoardLocation =
  | { driver: "sqlite"; path: string }
  | { driver: "postgres"; url: string };

/**
 * boardLocation splits a location into its driver and what that driver opens. A name with a
 * colon that is neither `sqlite:` nor `scheme://` stays a file name, as it always was.
 */
export function boardLocation(location: string): BoardLocation {
  if (/^sqlite:/i.test(location)) {
    const rest = location.slice("sqlite:".length);
    if (rest.startsWith("//")) {
      // sqlite:///abs/path is a file URL's shape: decode it as one
      return { driver: "sqlite", path: fileURLToPath(`file:${rest}`) };
    }
    if (rest === "") throw new ValidationError(`"${location}" names no board file`);
    return { driver: "sqlite", path: rest };
  }
  if (POSTGRES.test(location)) return { driver: "postgres", url: location };
  if (!URL_LIKE.test(location)) return { driver: "sqlite", path: location };
  throw new ValidationError(
    `"${location}" is not a board location this kanban opens: give a file path, a sqlite: URL ` +
      `or a postgres:// URL`,
  );
}

/** openDriver opens the driver for a board location (see boardLocation). */
export function openDriver(location: string, options: DriverOptions = {}): Driver {
  const where = boardLocation(location);
  if (where.driver === "postgres") return new PostgresDriver(where.url, options);
  return new SqliteDriver(where.path, options);
}
