/**
 * The PostgreSQL driver: a connection pool (Postgres.js), one reserved connection per
 * transaction, and the named operations of lib/store/driver/ written in PostgreSQL's SQL.
 *
 * - `tx` is one `SERIALIZABLE` transaction, retried from the start when the server reports a
 *   serialization failure or a deadlock (40001, 40P01): the domain functions a transaction runs
 *   touch nothing but the database (and the clock and random ids, which are simply read
 *   again), so running one again is safe. It gives up with BusyError, as SQLite's writer does,
 *   once the busy timeout has passed.
 * - `read` is one `REPEATABLE READ READ ONLY` snapshot.
 * - The board opens lazily: `openStore` is synchronous, so the first call connects and
 *   applies pending migrations (lib/store/postgres/migrations.ts), and every later call waits
 *   for that.
 */
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import type { Driver, DriverInfo, Queries } from "../driver.ts";
import { BusyError, KanbanError, NotFoundError } from "../errors.ts";
import { adminQueries } from "./admin.ts";
import { coreQueries } from "./core.ts";
import { readQueries } from "./reads.ts";
import { ChangeMark, type ListenOptions } from "./mark.ts";
import { migrate } from "./migrations.ts";
import { type Pool, sqlState, type Tx } from "./_sql.ts";

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
}

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

/** The server's answers that mean "run the transaction again". */
const RETRYABLE = new Set(["40001", "40P01"]);

/** redact hides a URL's password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
  }
}

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
  readonly #mark: ChangeMark;
  #ready: Promise<number> | null = null;
  #closed = false;

  constructor(url: string, options: PostgresOptions = {}) {
    this.location = url;
    this.where = redact(url);
    this.#create = options.create ?? false;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.#pool = postgres(url, {
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

  #queries(t: Tx): Queries {
    return plain({ ...coreQueries(t), ...readQueries(t), ...adminQueries(t) });
  }

  async tx<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    await this.#open();
    const start = Date.now();
    for (let attempt = 1;; attempt++) {
      try {
        const result = await this.#pool.begin(
          "ISOLATION LEVEL SERIALIZABLE",
          (t) => fn(this.#queries(t)),
        ) as T;
        this.#mark.bump();
        return result;
      } catch (err) {
        if (!RETRYABLE.has(sqlState(err) ?? "")) throw this.#failed(err);
        const waited = Date.now() - start;
        if (waited >= this.#busyTimeoutMs) throw new BusyError(this.where, waited);
        // a little jitter, growing: racing writers spread out instead of colliding again
        await sleep(Math.random() * Math.min(2 ** attempt, 100));
      }
    }
  }

  async read<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    await this.#open();
    try {
      return await this.#pool.begin(
        "ISOLATION LEVEL REPEATABLE READ READ ONLY",
        (t) => fn(this.#queries(t)),
      ) as T;
    } catch (err) {
      throw this.#failed(err);
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
    this.#pool.end({ timeout: 5 }).catch(() => {});
  }

  /** end is close, awaited: every connection is gone when it resolves. */
  async end(): Promise<void> {
    this.#closed = true;
    this.#mark.close();
    await this.#pool.end({ timeout: 5 });
  }

  #failed(err: unknown): unknown {
    if (err instanceof KanbanError) return err;
    if (isConnectionError(err)) return cannotOpen(this.where, err);
    return err;
  }
}

/**
 * plain makes every array a query answers a plain Array (the client's result lists carry
 * extra fields and another prototype), so rows compare and serialise as SQLite's do.
 */
function plain(q: Queries): Queries {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(q as unknown as Record<string, unknown>)) {
    const fn = f as (...args: unknown[]) => Promise<unknown>;
    out[name] = async (...args: unknown[]) => {
      const r = await fn(...args);
      return Array.isArray(r) ? Array.from(r) : r;
    };
  }
  return out as unknown as Queries;
}
