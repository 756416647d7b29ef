/**
 * Db wraps one node:sqlite connection: pragmas, migrations, a statement cache and
 * `BEGIN IMMEDIATE` transactions. Module-private to lib/store.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { accessSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import {
  boardError,
  BoardTooNewError,
  BusyError,
  KanbanError,
  NotABoardError,
  NotFoundError,
  ReadOnlyBoardError,
} from "../errors.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.ts";

export type Param = SQLInputValue;
export type Row = Record<string, unknown>;

export interface DbOptions {
  /** Create the file (and its folder) when missing; otherwise a missing board is an error. */
  create?: boolean;
  /** How long a writer waits for the lock before failing, in ms. */
  busyTimeoutMs?: number;
  /**
   * `full` syncs the WAL to disk at every commit (survives a power cut, costs an fsync per
   * write); the default `normal` survives a crash of the process or the OS's programs.
   */
  synchronous?: "normal" | "full";
}

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

function isBusy(err: unknown): boolean {
  // Deno's BUSY error from exec("BEGIN IMMEDIATE") carries no errcode: match the message.
  return err instanceof Error && /database is locked|SQLITE_BUSY/i.test(err.message);
}

/** sleepSync blocks this thread for `ms` (node:sqlite is synchronous, and so is the store). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** cannotOpen is the error for a board path that names no readable board file. */
function cannotOpen(path: string, err: unknown): KanbanError {
  // SQLite in WAL mode cannot even read a board whose folder it cannot write (-shm, -wal):
  // say so, rather than "unable to open database file"
  const message = err instanceof Error ? err.message : String(err);
  if (/unable to open database file|readonly/i.test(message)) {
    try {
      accessSync(dirname(path), constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      if (["EROFS", "EACCES", "EPERM"].includes(code)) {
        return new ReadOnlyBoardError(path, `${message}; its folder is not writable: ${code}`);
      }
    }
  }
  const specific = boardError(path, err);
  if (specific !== null) return specific; // not a database, disk full, ...
  return new KanbanError(
    "cannot_open",
    `Cannot open the board at "${path}": ${err instanceof Error ? err.message : String(err)}`,
  );
}

/**
 * notABoard refuses a path that exists but cannot hold a board: a directory, or a device
 * such as /dev/null or /dev/full (SQLite would answer "disk I/O error" or "disk is full").
 */
function notABoard(path: string): NotABoardError | null {
  if (path === ":memory:" || path === "") return null;
  let st;
  try {
    st = statSync(path);
  } catch {
    return null; // missing: made or refused below; unreadable: SQLite says why
  }
  if (st.isFile()) return null;
  const kind = st.isDirectory()
    ? "it is a directory"
    : st.isCharacterDevice() || st.isBlockDevice()
    ? "it is a device, not a file"
    : "it is not a regular file";
  return new NotABoardError(path, kind);
}

export class Db {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #busyTimeoutMs: number;
  readonly #waiters: (() => void)[] = [];
  #busy = false;
  #commits = 0;

  constructor(path: string, options: DbOptions = {}) {
    this.path = path;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    const refused = notABoard(path);
    if (refused !== null) throw refused;
    if (path !== ":memory:" && !existsSync(path)) {
      // A typo'd board name must not silently become a new, empty board.
      if (!options.create) throw new NotFoundError(`No board at "${path}"; run "kanban init"`);
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (err) {
        throw cannotOpen(path, err);
      }
    }
    try {
      this.#db = new DatabaseSync(path);
    } catch (err) {
      throw cannotOpen(path, err); // a folder, say
    }
    try {
      // Deno defaults busy_timeout to 5000 ms and Bun to 0: always set it ourselves.
      this.#db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      // Refuse a newer board before anything writes to it (switching to WAL rewrites the header).
      let seen: number;
      let foreign: boolean;
      try {
        // The first read of the file: the version and whether it holds tables, in one
        // statement (one snapshot: another process may be migrating the new board right now).
        const first = this.#withBusyRetry(() =>
          this.get<{ v: number; t: number }>(
            `SELECT (SELECT user_version FROM pragma_user_version) AS v,
              EXISTS (SELECT 1 FROM sqlite_master) AS t`,
          )
        );
        seen = Number(first?.v ?? 0);
        // Migrating another program's SQLite file would write kanban's tables into it.
        foreign = seen === 0 && Number(first?.t) === 1;
      } catch (err) {
        throw err instanceof KanbanError ? err : cannotOpen(path, err); // not a database, say
      }
      if (seen > SCHEMA_VERSION) throw new BoardTooNewError(this.path, seen, SCHEMA_VERSION);
      if (foreign) throw new NotABoardError(path, "it is an SQLite database of another program");
      this.#withBusyRetry(() => this.#db.exec("PRAGMA journal_mode = WAL"));
      // WAL + NORMAL: a commit survives a process crash; only an OS crash can lose the last
      // transactions, never corrupt the file. FULL would cost ~5x on claims (fsync per commit).
      this.#db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
      this.#db.exec("PRAGMA foreign_keys = ON");
      this.#migrate();
    } catch (err) {
      // A refused or failed open must not leave a connection (and its -wal/-shm files) behind.
      this.close();
      throw boardError(path, err) ?? err;
    }
  }

  /** pragmas reports this connection's durability and locking settings (read-only). */
  pragmas(): {
    journal_mode: string;
    synchronous: number;
    foreign_keys: number;
    busy_timeout: number;
  } {
    const one = (name: string) => Object.values(this.get(`PRAGMA ${name}`) ?? {})[0];
    return {
      journal_mode: String(one("journal_mode")),
      synchronous: Number(one("synchronous")),
      foreign_keys: Number(one("foreign_keys")),
      busy_timeout: Number(one("busy_timeout")),
    };
  }

  /**
   * dataVersion is SQLite's `PRAGMA data_version`: it changes when another connection commits
   * (not for this connection's own commits: see `commits`). Cheap enough to poll.
   */
  dataVersion(): number {
    return Number(this.get("PRAGMA data_version")?.["data_version"]);
  }

  /** sqliteVersion is the version of the SQLite library this process runs. */
  sqliteVersion(): string {
    return String(this.get("SELECT sqlite_version() AS v")?.["v"]);
  }

  #prepare(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  all<T = Row>(sql: string, ...params: Param[]): T[] {
    return this.#prepare(sql).all(...params) as T[];
  }

  get<T = Row>(sql: string, ...params: Param[]): T | undefined {
    return this.#prepare(sql).get(...params) as T | undefined;
  }

  run(sql: string, ...params: Param[]): { changes: number; lastInsertRowid: number } {
    const r = this.#prepare(sql).run(...params);
    return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /**
   * tx runs `fn` in one `BEGIN IMMEDIATE` transaction: it takes the write lock up front, so
   * nothing read inside can change before the commit, and SQLite never has to upgrade a read
   * lock (which fails at once under contention). Rolls back when `fn` throws. `fn` may await:
   * the connection is held for it alone until the transaction ends (see #exclusive).
   */
  tx<T>(
    fn: () => T | Promise<T>,
    hooks?: { before: () => void; after: () => void },
  ): Promise<T> {
    return this.#exclusive(async () => {
      hooks?.before();
      try {
        try {
          this.#withBusyRetry(() => this.#db.exec("BEGIN IMMEDIATE"));
        } catch (err) {
          throw boardError(this.path, err) ?? err;
        }
        try {
          const result = await fn();
          this.#db.exec("COMMIT");
          this.#commits++;
          return result;
        } catch (err) {
          if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
          throw boardError(this.path, err) ?? err;
        }
      } finally {
        hooks?.after();
      }
    });
  }

  /**
   * exclusive runs `fn` outside any transaction with the connection to itself (work that may
   * not run inside a transaction, such as VACUUM INTO). `fn` must not call tx() or read().
   */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.#exclusive(async () => await fn());
  }

  /** read runs `fn` in a read transaction: one consistent snapshot across several queries. */
  read<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      this.#db.exec("BEGIN");
      try {
        const result = await fn();
        this.#db.exec("COMMIT");
        return result;
      } catch (err) {
        // A damaged page fails the read and then the COMMIT too (SQLite keeps the error): end
        // the transaction with ROLLBACK, which is the same for a read, and say what happened.
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw boardError(this.path, err) ?? err;
      }
    });
  }

  /**
   * The number of write transactions this connection has committed. SQLite's data_version
   * does not move for a connection's own commits; this does, so a change feed can count both.
   */
  get commits(): number {
    return this.#commits;
  }

  /**
   * #exclusive runs `fn` with the connection to itself: one transaction at a time, in the
   * order they were asked for. An `await` inside a transaction lets other calls start, and
   * on one connection they would otherwise run inside it. Without a waiter this starts `fn`
   * at once (no extra turn of the event loop on the claim path).
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#busy) return this.#hold(fn);
    return new Promise<T>((resolve, reject) => {
      this.#waiters.push(() => this.#hold(fn).then(resolve, reject));
    });
  }

  #hold<T>(fn: () => Promise<T>): Promise<T> {
    this.#busy = true;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => {
      const next = this.#waiters.shift();
      if (next) next();
      else this.#busy = false;
    });
  }

  /**
   * Runs `fn`, retrying on SQLITE_BUSY. SQLite's busy handler waits up to busy_timeout inside
   * most calls, but some answer BUSY at once (switching to WAL while another process opens the
   * new board, for one), so between tries this waits too, with backoff. It gives up once it has
   * tried three times and the busy timeout has passed, naming how long it waited.
   */
  #withBusyRetry<T>(fn: () => T): T {
    const start = Date.now();
    for (let attempt = 1, pause = 5;; attempt++, pause = Math.min(2 * pause, 200)) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw err;
        const waited = Date.now() - start;
        if (attempt >= 3 && waited >= this.#busyTimeoutMs) throw new BusyError(this.path, waited);
        sleepSync(pause);
      }
    }
  }

  #userVersion(): number {
    return Number(this.get("PRAGMA user_version")?.["user_version"] ?? 0);
  }

  /**
   * Applies pending migrations in one IMMEDIATE transaction. Two processes opening a new
   * board at once serialise on the write lock; the second finds the work done.
   */
  #migrate(): void {
    const seen = this.#userVersion();
    if (seen > SCHEMA_VERSION) throw new BoardTooNewError(this.path, seen, SCHEMA_VERSION);
    if (seen === SCHEMA_VERSION) return;
    this.#withBusyRetry(() => this.#db.exec("BEGIN IMMEDIATE"));
    try {
      const current = this.#userVersion();
      if (current > SCHEMA_VERSION) {
        throw new BoardTooNewError(this.path, current, SCHEMA_VERSION);
      }
      for (let v = current; v < SCHEMA_VERSION; v++) this.#db.exec(MIGRATIONS[v]!);
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      this.#db.exec("COMMIT");
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** schemaVersion is the board's `PRAGMA user_version`. */
  schemaVersion(): number {
    return this.#userVersion();
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}
