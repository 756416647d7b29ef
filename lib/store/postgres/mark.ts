/**
 * ChangeMark: the PostgreSQL driver's change mark (Driver.changeMark), a local counter that
 * moves whenever anything commits to the board.
 *
 * Every write to a board's tables fires a trigger that does `pg_notify('kanban_board', '')`
 * (PostgreSQL folds a transaction's identical notifications into one, delivered at commit).
 * A dedicated connection LISTENs on that channel and bumps the counter on each notification;
 * the driver bumps it on its own commits too, so a follower sees them without a round trip.
 *
 * A listening connection can go away (the server restarts, someone terminates the backend) or
 * go half-open (the network drops and neither end knows): notifications sent meanwhile are
 * lost. So the listener asks its own connection for an answer every `pingMs` (besides TCP
 * keepalive) and takes an answer missing after `pingTimeoutMs`, or the connection closing, as
 * "not listening"; then it bumps the mark at
 * once (followers re-read the log: nothing is lost), reconnects with backoff, and bumps again
 * once it listens again. While it is not listening, `current()` falls back to polling
 * `pg_current_wal_lsn()`: every commit that wrote anything moves it, it costs no write (a
 * commit counter row would serialise every writer on one row), and a move from another
 * database's commits only costs a follower one read of the log that finds nothing new.
 */
import { clearTimeout, setTimeout } from "node:timers";
import postgres from "postgres";
import type { Pool } from "./_sql.ts";

/** The channel every board write notifies (per database, so per board). */
export const CHANNEL = "kanban_board";

export interface ListenOptions {
  /** How often the listener checks that it still receives notifications (ms). */
  pingMs?: number;
  /** How long a ping's notification may take before the connection counts as lost (ms). */
  pingTimeoutMs?: number;
}

const DEFAULT_PING_MS = 5_000;
const DEFAULT_PING_TIMEOUT_MS = 3_000;

/** The listener's application_name: tests find (and terminate) its backend by it. */
export const LISTEN_APP = "kanban-listen";

type Timer = ReturnType<typeof setTimeout>;

export class ChangeMark {
  readonly #url: string;
  readonly #pool: Pool;
  readonly #pingMs: number;
  readonly #pingTimeoutMs: number;
  #mark = 0;
  #listening = false;
  #started = false;
  #closed = false;
  #client: postgres.Sql | null = null;
  /** The connection that LISTENs, while it does. */
  #conn: postgres.ReservedSql | null = null;
  #lsn: string | null = null;
  #attempt = 0;
  #timer: Timer | null = null;
  #pongTimer: Timer | null = null;

  constructor(url: string, pool: Pool, options: ListenOptions = {}) {
    this.#url = url;
    this.#pool = pool;
    this.#pingMs = options.pingMs ?? DEFAULT_PING_MS;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  /** Whether notifications arrive now (else current() polls the WAL position). */
  get listening(): boolean {
    return this.#listening;
  }

  /** bump moves the mark: this process committed, or something else may have. */
  bump(): void {
    this.#mark++;
  }

  /**
   * current is the mark. The first call starts listening (a board nobody follows never holds
   * a listening connection); until the listener is up, and whenever it is down, the WAL
   * position stands in for the notifications.
   */
  async current(): Promise<number> {
    if (!this.#started && !this.#closed) {
      this.#started = true;
      this.#connect();
    }
    if (this.#listening) return this.#mark;
    const [row] = await this.#pool<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
    const lsn = row?.lsn ?? "";
    if (this.#lsn !== null && lsn !== this.#lsn) this.#mark++;
    this.#lsn = lsn;
    return this.#mark;
  }

  close(): void {
    this.#closed = true;
    this.#clearTimers();
    this.#drop();
  }

  #connect(): void {
    if (this.#closed) return;
    // A client of its own, with one connection reserved for LISTEN: its close is ours to see
    // (the client's listen() would reconnect behind our back, with no word of the gap).
    const client = postgres(this.#url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: 10,
      keep_alive: 5,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      connection: { application_name: LISTEN_APP },
      onnotify: (channel) => {
        if (this.#client === client && channel === CHANNEL) this.#mark++;
      },
      onclose: () => {
        if (this.#client === client) this.#lost();
      },
    });
    this.#client = client;
    client.reserve().then(async (c) => {
      await c`LISTEN ${c(CHANNEL)}`;
      if (this.#client !== client) return c.release();
      this.#conn = c;
      this.#attempt = 0;
      this.#setListening(true);
      this.#schedulePing();
    }).catch(() => {
      if (this.#client === client) this.#lost();
    });
  }

  #setListening(on: boolean): void {
    // Either way followers re-read: a commit may have gone unnotified in between.
    this.#mark++;
    this.#listening = on;
    this.#lsn = null;
  }

  /** #lost: the listening connection is gone or deaf: poll, and reconnect after a backoff. */
  #lost(): void {
    if (this.#closed) return;
    if (this.#listening) this.#setListening(false);
    this.#clearTimers();
    this.#drop();
    const delay = Math.min(50 * 2 ** this.#attempt, 5_000) * (0.5 + Math.random() / 2);
    this.#attempt++;
    this.#timer = unref(setTimeout(() => this.#connect(), delay));
  }

  #drop(): void {
    const client = this.#client;
    this.#client = null;
    this.#conn = null;
    if (client) client.end({ timeout: 0 }).catch(() => {});
  }

  #schedulePing(): void {
    this.#clearTimers();
    this.#timer = unref(setTimeout(() => this.#ping(), this.#pingMs));
  }

  /** #ping asks the listening connection itself for an answer: none in time means it is lost. */
  #ping(): void {
    const c = this.#conn;
    if (this.#closed || !this.#listening || c === null) return;
    this.#pongTimer = unref(setTimeout(() => this.#lost(), this.#pingTimeoutMs));
    c`SELECT 1`.then(() => {
      if (this.#conn !== c || this.#pongTimer === null) return;
      clearTimeout(this.#pongTimer);
      this.#pongTimer = null;
      this.#schedulePing();
    }, () => {
      if (this.#conn === c) this.#lost();
    });
  }

  #clearTimers(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#pongTimer !== null) clearTimeout(this.#pongTimer);
    this.#timer = null;
    this.#pongTimer = null;
  }
}

/** unref keeps a timer from holding the process open (the board's own sockets decide that). */
function unref(timer: Timer): Timer {
  timer.unref();
  return timer;
}
