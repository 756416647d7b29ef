/**
 * The PostgreSQL driver: a connection pool (Postgres.js), one reserved connection per
 * transaction, and the named operations of lib/store/driver/ written in PostgreSQL's SQL.
 *
 * - `tx` is one `SERIALIZABLE` transaction, retried from the start when the server reports a
 *   serialization failure, a deadlock or a row lock it would not wait for (40001, 40P01,
 *   55P03): the domain functions a transaction runs touch nothing but the database (and the
 *   clock and random ids, which are simply read again), so running one again is safe. It gives
 *   up with BusyError, as SQLite's writer does, once the busy timeout has passed. `retries`
 *   counts the transactions run again.
 * - `tx` with `lockedReads` is one `READ COMMITTED` transaction, retried the same way: only
 *   claims and a worker's complete or block ask for it, and they lock what they decide on
 *   instead of relying on the serialisable snapshot (docs/architecture.md, "Isolation on
 *   PostgreSQL", has the whole argument):
 *   - a claim locks the task it takes as it chooses it (`FOR NO KEY UPDATE SKIP LOCKED`: claims
 *     skip each other's rows, never wait for them, never fail each other) and a due scheduled
 *     task as it finds it; it counts a capped profile's open runs under that profile's advisory
 *     lock (capLock), taken first, so a cap holds across every host;
 *   - a worker's report locks its run, then its task, then each child it re-derives (in id
 *     order) before reading the child's parents; each statement sees what has committed before
 *     it, so of two workers finishing two parents of one child, the second sees the first's;
 *   - every write is a compare-and-set on a row the transaction holds;
 *   - a serialisable transaction cannot see these writers in its checks, so where it derives a
 *     child from its parents it share-locks them without waiting (unfinishedParents' guard):
 *     a parent a report is moving fails it with 55P03, and it runs again after that commit.
 *   Every other write (leases and leadership, links and their cycle check, idempotent creates,
 *   renewals, reaping, edits, a person's moves) stays SERIALIZABLE.
 * - Events are written as a write transaction's last statement (lib/store/_kernel.ts
 *   flushEvents) under the event lock, held to commit so that ids commit in id order: the last
 *   lock any transaction takes, held while it waits for nothing else.
 * - Queries a transaction sends together (Promise.all) go out in one round trip; when one
 *   fails, the server fails the rest with 25P02, and the transaction reports the first error,
 *   the one that says what happened (a serialization failure to retry, a taken key).
 * - A write transaction sits idle for at most IDLE_IN_TRANSACTION_MS (below).
 * - `read` is one `REPEATABLE READ READ ONLY` snapshot.
 * - The board opens lazily: `openStore` is synchronous, so the first call connects and
 *   applies pending migrations (lib/store/postgres/migrations.ts), and every later call waits
 *   for that.
 */
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import type { Driver, DriverInfo, Queries, TxOptions } from "../driver.ts";
import { BusyError, KanbanError, NotFoundError } from "../errors.ts";
import { adminQueries } from "./admin.ts";
import { coreQueries } from "./core.ts";
import { readQueries } from "./reads.ts";
import { transferQueries } from "./transfer.ts";
import { routineQueries } from "./routines.ts";
import { budgetQueries } from "./budgets.ts";
import { holdQueries } from "./holds.ts";
import { attachmentQueries } from "./attachments.ts";
import { ChangeMark, type ListenOptions } from "./mark.ts";
import { migrate } from "./migrations.ts";
import { type Pool, sqlState, type Tx as ReservedSql } from "./_sql.ts";
import { shownLocation } from "../shown.ts";
import { ANSWER_TIMEOUT_MS, AnswerWatchdog } from "./watchdog.ts";

export interface PostgresOptions {
  /** Make the board's tables in an empty database (`kanban init`). */
  create?: boolean;
  /** How long a writer keeps retrying serialization failures before it gives up, in ms. */
  busyTimeoutMs?: number;
  /**
   * Refuse writes outside `tx` (a confined worker's connection): `read` and `exclusive` are
   * read-only transactions here anyway, so nothing else can write.
   */
  writesOnlyInTx?: boolean;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** The change mark's listener (tests shorten its ping). */
  listen?: ListenOptions;
  /** How long the server keeps a write transaction that waits for us (IDLE_IN_TRANSACTION_MS). */
  idleInTransactionMs?: number;
  /** How long a statement may go unanswered before the connections are closed (watchdog.ts). */
  answerTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

/** The client's `socket` option, as its types say it. */
type SocketOption = NonNullable<Parameters<typeof postgres>[1]>["socket"];

/**
 * IDLE_IN_TRANSACTION_MS: how long the server lets one of our write transactions wait for our
 * next statement before it ends the session (`idle_in_transaction_session_timeout`, set for
 * each write transaction). A transaction here runs nothing but its own statements,
 * milliseconds apart: one idle for this long has lost its client, as when a host is cut off
 * from the network in the middle of it and its connection stays half-open. Every write appends
 * an event under one lock (core.ts), so such a transaction would otherwise hold up every writer
 * of the board, on every host, until the server noticed the dead connection (TCP keepalive:
 * two hours by default). Short, because that is how long every other host's passes (their
 * claims, the ends of lost runs) may wait, and their renewals with them; long against what
 * keeps a live client between two statements (a round trip, a busy event loop). Reads hold no
 * lock anyone waits for, and an import that waits on its input says so
 * (TxOptions.waitsOnInput): neither is bounded.
 */
export const IDLE_IN_TRANSACTION_MS = 3_000;

const WRITE = "ISOLATION LEVEL SERIALIZABLE";
/** A write transaction that guards its reads with locks (TxOptions.lockedReads). */
const LOCKED = "ISOLATION LEVEL READ COMMITTED";
const READ = "ISOLATION LEVEL REPEATABLE READ READ ONLY";

/** The driver's reading connection, and the queries bound to it. */
interface Reader {
  c: ReservedSql;
  q: Queries;
  busy: boolean;
}

/**
 * The server's answers that mean "run the transaction again": a serialization failure, a
 * deadlock, and a row lock not granted at once (55P03: a serialisable transaction's guarded
 * read of a row that another transaction is writing, lib/store/readiness.ts).
 */
const RETRYABLE = new Set(["40001", "40P01", "55P03"]);
/** The server's answer to a statement sent after the transaction failed. */
const ABORTED = "25P02";

/** redact hides a URL's password, for messages and logs. */
export const redact = shownLocation;

/** cannotOpen says why the server could not be reached or refused us, naming the board. */
function cannotOpen(where: string, err: unknown): KanbanError {
  const state = sqlState(err);
  const message = err instanceof Error ? err.message : String(err);
  if (state === "3D000") {
    return new NotFoundError(`No database for the board at "${where}": ${message}`);
  }
  return new KanbanError("cannot_open", `Cannot open the board at "${where}": ${message}`);
}

/** Errors of the connection itself (not of a query): the board cannot be reached. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const state = sqlState(err);
  return (typeof code === "string" && /^(E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_\w+)$/.test(code)) ||
    (state !== undefined && /^(08|28|3D|57P)/.test(state));
}

export class PostgresDriver implements Driver {
  readonly kind = "postgres";
  readonly location: string;
  /** The location without its password, for messages. */
  readonly where: string;
  readonly #pool: Pool;
  readonly #create: boolean;
  readonly #busyTimeoutMs: number;
  readonly #idleInTransactionMs: number;
  readonly #mark: ChangeMark;
  readonly #watchdog: AnswerWatchdog;
  #ready: Promise<number> | null = null;
  #reader: Reader | null = null;
  #closed = false;
  #retries = 0;

  constructor(url: string, options: PostgresOptions = {}) {
    this.location = url;
    this.where = redact(url);
    this.#create = options.create ?? false;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.#idleInTransactionMs = Math.round(options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS);
    this.#watchdog = new AnswerWatchdog(options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS, this.where);
    // sockets the watchdog can close (an URL that asks for TLS at once keeps the client's own)
    const direct = /[?&]sslnegotiation=direct\b/.test(url);
    this.#pool = postgres(url, {
      // a node:net Socket is what the client's own connect makes; its types say less
      ...(direct ? {} : { socket: this.#watchdog.connect as unknown as SocketOption }),
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      // idle connections go after a while, so many open boards do not hold many connections
      idle_timeout: 30,
      connect_timeout: 10,
      types: {
        // BIGINT (20) and numeric (1700, sums) as numbers, as node:sqlite returns them
        bigint: {
          to: 20,
          from: [20, 1700],
          serialize: (x: number) => String(x),
          parse: (x: string) => Number(x),
        },
      },
      connection: { application_name: "kanban" },
    });
    this.#mark = new ChangeMark(url, this.#pool, options.listen);
  }

  /** #open connects and migrates once; every operation waits for it. */
  #open(): Promise<number> {
    if (this.#closed) return Promise.reject(new KanbanError("closed", "The board is closed"));
    this.#ready ??= migrate(this.#pool, this.where, this.#create).catch((err) => {
      this.#ready = null; // the next call tries again (the server may be back)
      throw err instanceof KanbanError ? err : cannotOpen(this.where, err);
    });
    return this.#ready;
  }

  #queries(t: ReservedSql, failed?: (err: unknown) => void): Queries {
    return plain(
      {
        ...coreQueries(t),
        ...readQueries(t),
        ...adminQueries(t),
        ...transferQueries(t),
        ...routineQueries(t),
        ...budgetQueries(t),
        ...holdQueries(t),
        ...attachmentQueries(t),
      },
      (p) => this.#watchdog.watch(p),
      failed,
    );
  }

  /** #send sends a statement of the transaction's own (BEGIN, COMMIT, ...), watched. */
  #send(c: ReservedSql, statement: string): Promise<{ command: string }> {
    return this.#watchdog.watch(c.unsafe(statement) as unknown as Promise<{ command: string }>);
  }

  async tx<T>(fn: (q: Queries) => Promise<T>, options: TxOptions = {}): Promise<T> {
    await this.#open();
    const start = Date.now();
    const idleMs = options.waitsOnInput ? null : this.#idleInTransactionMs;
    const mode = options.lockedReads ? LOCKED : WRITE;
    for (let attempt = 1;; attempt++) {
      try {
        const result = await this.#transaction(mode, fn, idleMs, options.last);
        this.#mark.bump();
        return result;
      } catch (err) {
        if (!RETRYABLE.has(sqlState(err) ?? "")) throw this.#failed(err, start);
        this.#retries++;
        const waited = Date.now() - start;
        if (waited >= this.#busyTimeoutMs) throw new BusyError(this.where, waited);
        // a little jitter, growing: racing writers spread out instead of colliding again
        await sleep(Math.random() * Math.min(2 ** attempt, 100));
      }
    }
  }

  async read<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    await this.#open();
    const start = Date.now();
    try {
      if (this.#reader !== null && !this.#reader.busy) {
        try {
          return await this.#readOn(this.#reader, fn);
        } catch (err) {
          // the kept connection broke (a server restart, say): a read is safe to run again,
          // unless the server went silent (the watchdog closed it): trying again would wait
          // for a connection the silent server does not answer either
          if (!isConnectionError(err) || this.#watchdog.lastCut >= start) throw err;
          return await this.#transaction(READ, fn);
        }
      }
      if (this.#reader === null && !this.#closed) {
        // the first read keeps its connection for the reads after it (see #readOn)
        const c = await this.#watchdog.watch(this.#pool.reserve());
        if (this.#reader === null && !this.#closed) {
          this.#reader = { c, q: this.#queries(c), busy: false };
          return await this.#readOn(this.#reader, fn);
        }
        c.release();
      }
      return await this.#transaction(READ, fn);
    } catch (err) {
      throw this.#failed(err, start);
    }
  }

  /**
   * #readOn runs a read on the driver's reading connection, one read at a time (a read that
   * finds it busy takes a pooled connection instead). A read's snapshot ends with COMMIT, and
   * nothing can fail there that the read's answer depends on: so it is sent and not waited
   * for, and the next read's BEGIN follows it on the same connection. A read of one query
   * costs one round trip, not three. A broken connection is given up, and the next read
   * reserves another.
   */
  async #readOn<T>(r: Reader, fn: (q: Queries) => Promise<T>): Promise<T> {
    r.busy = true;
    let end = "ROLLBACK";
    try {
      this.#send(r.c, `BEGIN ${READ}`).catch(() => {}); // the queries after it report a failure
      const result = await fn(r.q);
      end = "COMMIT";
      return result;
    } catch (err) {
      if (isConnectionError(err) && this.#reader === r) {
        this.#reader = null;
        r.c.release();
      }
      throw err;
    } finally {
      this.#send(r.c, end).catch(() => {});
      r.busy = false;
    }
  }

  /**
   * #transaction runs `fn` in one transaction on a connection reserved for it. BEGIN is not
   * awaited: it goes out in one round trip with the first query (the connection runs them in
   * order, and a failed BEGIN fails what follows). A transaction the server aborted answers
   * COMMIT with ROLLBACK: that is an error here, never a silent loss. With `idleMs`, the
   * server ends the transaction (and the session) once it waits that long for a statement.
   */
  async #transaction<T>(
    mode: string,
    fn: (q: Queries) => Promise<T>,
    idleMs: number | null = null,
    last?: (q: Queries) => Promise<unknown>,
  ): Promise<T> {
    const c = await this.#watchdog.watch(this.#pool.reserve());
    let open = true;
    // The error that aborted the transaction. Queries sent together (Promise.all) fail
    // together: after the first one fails, the server answers every later one with 25P02
    // ("current transaction is aborted"), and the caller may see one of those first; the first
    // error is the one that says what happened (a serialization failure to retry, say).
    let cause: unknown = undefined;
    const failed = (err: unknown) => {
      if (cause === undefined && sqlState(err) !== ABORTED) cause = err;
    };
    try {
      const begin = this.#send(c, `BEGIN ${mode}`);
      begin.catch(() => {}); // reported by the queries after it, or by the await below
      // in the same round trip as BEGIN and the first query
      const bound = idleMs === null
        ? null
        : this.#send(c, `SET LOCAL idle_in_transaction_session_timeout = ${idleMs}`);
      bound?.catch(() => {});
      const q = this.#queries(c, failed);
      const result = await fn(q);
      await begin;
      await bound;
      // the last statements and COMMIT go out together (TxOptions.last)
      const tail = last?.(q);
      tail?.catch(() => {}); // awaited below, after the commit's answer
      const done = await this.#send(c, "COMMIT");
      open = false;
      await tail; // a failure here failed the commit too, and says why
      if (done.command !== "COMMIT") {
        throw new KanbanError("rolled_back", "The server rolled the transaction back");
      }
      return result;
    } catch (err) {
      if (open) await this.#send(c, "ROLLBACK").catch(() => {});
      throw sqlState(err) === ABORTED && cause !== undefined ? cause : err;
    } finally {
      c.release();
    }
  }

  /**
   * exclusive runs `fn` in a read-only transaction of its own: what SQLite must run outside any
   * transaction (backups, file checks) is refused or a no-op here, and nothing in it writes.
   */
  exclusive<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    return this.read(fn);
  }

  changeMark(): Promise<number> {
    return this.#open().then(() => this.#mark.current());
  }

  /**
   * How many times a write transaction of this driver was rolled back by the server (a
   * serialization failure or a deadlock) and run again: tests and the bench read it.
   */
  get retries(): number {
    return this.#retries;
  }

  /** Whether the change mark's listener is up (tests wait for it). */
  get listening(): boolean {
    return this.#mark.listening;
  }

  async info(): Promise<DriverInfo> {
    const schema = await this.#open();
    const [row] = await this.#pool<{ server_version: string }[]>`SHOW server_version`.catch(
      (err) => {
        throw this.#failed(err);
      },
    );
    return { schema_version: schema, version: row?.server_version ?? "" };
  }

  /**
   * close ends the listener and the pool: connections close once their queries are done, so
   * a process whose work is over can exit.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mark.close();
    this.#watchdog.close();
    this.#dropReader();
    this.#pool.end({ timeout: 5 }).catch(() => {});
  }

  /** end is close, awaited: every connection is gone when it resolves. */
  async end(): Promise<void> {
    this.#closed = true;
    this.#mark.close();
    this.#watchdog.close();
    this.#dropReader();
    await this.#pool.end({ timeout: 5 });
  }

  #dropReader(): void {
    const r = this.#reader;
    this.#reader = null;
    r?.c.release();
  }

  /**
   * #failed turns a client error into kanban's: a connection the answer watchdog closed during
   * the call (started at `since`) is a board out of reach, saying so; other connection
   * failures are a board that cannot be opened.
   */
  #failed(err: unknown, since?: number): unknown {
    if (err instanceof KanbanError) return err;
    if (!isConnectionError(err)) return err;
    if (since !== undefined && this.#watchdog.lastCut >= since) {
      return new KanbanError("board_unavailable", this.#watchdog.message());
    }
    return cannotOpen(this.where, err);
  }
}

/**
 * plain makes every array a query answers a plain Array (the client's result lists carry
 * extra fields and another prototype), so rows compare and serialise as SQLite's do; it times
 * each query with `watch` (the answer watchdog), and tells `failed` of every query that fails.
 */
function plain(
  q: Queries,
  watch: <T>(p: Promise<T>) => Promise<T>,
  failed?: (err: unknown) => void,
): Queries {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(q as unknown as Record<string, unknown>)) {
    const fn = f as (...args: unknown[]) => Promise<unknown>;
    out[name] = async (...args: unknown[]) => {
      try {
        const r = await watch(fn(...args));
        return Array.isArray(r) ? Array.from(r) : r;
      } catch (err) {
        failed?.(err);
        throw err;
      }
    };
  }
  return out as unknown as Queries;
}
