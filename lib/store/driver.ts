/**
 * The driver seam. Domain logic (lib/store/*.ts) exists once and reaches the database only
 * through a `Driver`: transactions, and `Queries`, the named, typed, async operations a board
 * needs (claim the next ready task, move a task if it is still in state X, close a run if it is
 * still open, append an event, ...). Each driver (lib/store/sqlite/, later postgres/) holds
 * its own SQL and migrations and returns rows in the shapes of lib/store/_rows.ts.
 *
 * Rules every driver keeps:
 * - `tx` runs its function in one serialisable write transaction and commits only when the
 *   function's promise resolves; the function may await (each driver keeps other work off the
 *   transaction meanwhile). `read` is one consistent snapshot.
 * - Inside `tx`/`read`, call only the `Queries` given to the function, never `tx`/`read` again.
 * - `changeMark()` moves whenever anything commits to the board, from any process: the change
 *   feed polls or listens on it.
 */
import type { CoreQueries } from "./driver/core.ts";
import type { ReadQueries } from "./driver/reads.ts";
import type { AdminQueries } from "./driver/admin.ts";
import type { TransferQueries } from "./driver/transfer.ts";

/** Queries is every named operation of a board, grouped by area in lib/store/driver/. */
export interface Queries extends CoreQueries, ReadQueries, AdminQueries, TransferQueries {}

export interface DriverInfo {
  /** The board's schema version (its migrations applied). */
  schema_version: number;
  /** The database engine's version, e.g. "3.53.2" (the engine is the driver's `kind`). */
  version: string;
}

/** How a write transaction runs. */
export interface TxOptions {
  /**
   * Between its statements it waits for more than the database (an import reading its input):
   * a server driver does not end it for keeping the server waiting (the PostgreSQL driver's
   * IDLE_IN_TRANSACTION_MS).
   */
  waitsOnInput?: boolean;
}

export interface Driver {
  /** Which driver this is ("sqlite"). */
  readonly kind: string;
  /** Where the board lives: a file path for SQLite, a URL for a server. */
  readonly location: string;
  /** Runs `fn` in one write transaction; rolls back when it throws. */
  tx<T>(fn: (q: Queries) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Runs `fn` in one read snapshot. */
  read<T>(fn: (q: Queries) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` outside any transaction, with the connection to itself: for work that may not
   * run inside one (a backup, an integrity check of the file).
   */
  exclusive<T>(fn: (q: Queries) => Promise<T>): Promise<T>;
  /** A number that changes whenever anything commits to the board (see the rules above). */
  changeMark(): Promise<number>;
  info(): Promise<DriverInfo>;
  close(): void;
}
