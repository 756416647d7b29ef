/**
 * The driver seam. Domain logic (lib/store/*.ts) exists once and reaches the database only
 * through a `Driver`: transactions, and `Queries`, the named, typed, async operations a board
 * needs (claim the next ready task, move a task if it is still in state X, close a run if it is
 * still open, append an event, ...). Each driver (lib/store/sqlite/, later postgres/) holds
 * its own SQL and migrations and returns rows in the shapes of lib/store/_rows.ts.
 *
 * Rules every driver keeps:
 * - `tx` runs its function in one serialisable write transaction (or, asked for with
 *   `TxOptions.lockedReads`, one that relies on its locks instead) and commits only when the
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
import type { RoutineQueries } from "./driver/routines.ts";
import type { AttachmentQueries } from "./driver/attachments.ts";
import type { BudgetQueries } from "./driver/budgets.ts";
import type { HoldQueries } from "./driver/holds.ts";

/** Queries is every named operation of a board, grouped by area in lib/store/driver/. */
export interface Queries
  extends
    CoreQueries,
    ReadQueries,
    AdminQueries,
    TransferQueries,
    RoutineQueries,
    AttachmentQueries,
    BudgetQueries,
    HoldQueries {}

export interface DriverInfo {
  /** The board's schema version (its migrations applied). */
  schema_version: number;
  /** The database engine's version, e.g. "3.53.2" (the engine is the driver's `kind`). */
  version: string;
}

/** How a write transaction runs (Driver.tx). */
export interface TxOptions {
  /**
   * Between its queries the transaction waits on more than the board (an import reading its
   * input): a server's driver lets it sit idle as long as that takes, where it otherwise has
   * the server end a transaction idle past the busy timeout (lib/store/postgres/driver.ts).
   */
  waitsOnInput?: boolean;
  /**
   * The transaction guards every read that its writes depend on with a lock, and writes only
   * by compare-and-set: the rows it decides on are read locked (`taskLocked`,
   * `runWithTokenLocked`, a claim's `taskClaimable` and `scheduledDue`), and so are the counts
   * it checks (`capLock`). Such a transaction needs no serialisable snapshot: a server's driver
   * may run it at a weaker isolation (PostgreSQL: READ COMMITTED), where two of them wait for
   * or skip each other's rows instead of failing each other's serialisability checks. Only
   * `claim` and a worker's `complete` and `block` are written this way (lib/store/runs.ts,
   * lifecycle.ts and docs/architecture.md say why that is safe); SQLite's single writer
   * ignores it.
   */
  lockedReads?: boolean;
  /**
   * The transaction's last statements, sent once `fn` has resolved: a server's driver sends
   * the commit right behind them, in the same round trip, so a lock they take (the event lock)
   * is held for the commit alone, not for a round trip more. A failure among them fails the
   * commit and is the error the transaction reports (retried as any other). The store writes
   * a transaction's events this way.
   */
  last?: (q: Queries) => Promise<unknown>;
}

export interface Driver {
  /** Which driver this is ("sqlite"). */
  readonly kind: string;
  /** Where the board lives: a file path for SQLite, a URL for a server. */
  readonly location: string;
  /** The location as it may be shown: a server URL without its password. */
  readonly where: string;
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
