/**
 * The SQLite driver: one connection (lib/store/sqlite/db.ts) serialised for async
 * transactions, and the named operations of lib/store/driver/ written in SQLite's SQL.
 */
import type { Driver, DriverInfo, Queries, TxOptions } from "../driver.ts";
import { Db, type DbOptions } from "./db.ts";
import { coreQueries } from "./core.ts";
import { readQueries } from "./reads.ts";
import { adminQueries } from "./admin.ts";
import { transferQueries } from "./transfer.ts";
import { routineQueries } from "./routines.ts";
import { budgetQueries } from "./budgets.ts";
import { holdQueries } from "./holds.ts";
import { attachmentQueries } from "./attachments.ts";

export interface SqliteOptions extends DbOptions {
  /**
   * Refuse writes outside `tx` (PRAGMA query_only): a confined worker's connection, whose
   * every write must go through the audited transaction.
   */
  writesOnlyInTx?: boolean;
}

export class SqliteDriver implements Driver {
  readonly kind = "sqlite";
  readonly #db: Db;
  readonly #q: Queries;
  readonly #guarded: boolean;
  #seen = -1;
  #commits = 0;
  #mark = 0;

  constructor(path: string, options: SqliteOptions = {}) {
    this.#db = new Db(path, options);
    this.#q = {
      ...coreQueries(this.#db),
      ...readQueries(this.#db),
      ...adminQueries(this.#db),
      ...transferQueries(this.#db),
      ...routineQueries(this.#db),
      ...budgetQueries(this.#db),
      ...holdQueries(this.#db),
      ...attachmentQueries(this.#db),
    };
    this.#guarded = options.writesOnlyInTx ?? false;
    if (this.#guarded) this.#db.exec("PRAGMA query_only = ON");
  }

  get location(): string {
    return this.#db.path;
  }

  get where(): string {
    return this.#db.path;
  }

  /** The connection, for the SQLite driver's own maintenance code. */
  get db(): Db {
    return this.#db;
  }

  tx<T>(fn: (q: Queries) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const last = options.last;
    const run = last === undefined ? () => fn(this.#q) : async () => {
      const result = await fn(this.#q);
      await last(this.#q);
      return result;
    };
    if (!this.#guarded) return this.#db.tx(run);
    return this.#db.tx(run, {
      before: () => this.#db.exec("PRAGMA query_only = OFF"),
      after: () => this.#db.exec("PRAGMA query_only = ON"),
    });
  }

  read<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    return this.#db.read(() => fn(this.#q));
  }

  exclusive<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    return this.#db.exclusive(() => fn(this.#q));
  }

  /**
   * SQLite's data_version moves when another connection commits; this connection's own
   * commits are counted beside it.
   */
  changeMark(): Promise<number> {
    return this.#db.exclusive(() => {
      const seen = this.#db.dataVersion();
      const commits = this.#db.commits;
      if (seen !== this.#seen || commits !== this.#commits) {
        this.#seen = seen;
        this.#commits = commits;
        this.#mark++;
      }
      return this.#mark;
    });
  }

  /** The connection's journal mode, synchronous, foreign keys and busy timeout. */
  pragmas(): Promise<ReturnType<Db["pragmas"]>> {
    return this.#db.exclusive(() => this.#db.pragmas());
  }

  info(): Promise<DriverInfo> {
    return this.#db.exclusive(() => ({
      schema_version: this.#db.schemaVersion(),
      version: this.#db.sqliteVersion(),
    }));
  }

  close(): void {
    this.#db.close();
  }
}
