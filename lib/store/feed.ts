/**
 * The board's change feed: one way for the dispatcher, the SSE stream and `kanban watch` to
 * learn that the board changed. A follower gets the events after its cursor in batches, in
 * id order, each exactly once, as they commit (from any connection or process), until its
 * signal aborts.
 *
 * It polls underneath, but cheaply: one timer per store (and poll interval) reads the
 * driver's change mark (lib/store/driver.ts), which moves on any commit, this connection's own
 * included, and only a follower whose mark moved reads the event log. With nobody following
 * the timer stops. The id is the cursor: SQLite has one writer at a time, so ids commit in
 * order and a follower that reads "id > cursor" never skips one.
 */
import type { TaskEvent } from "./types.ts";

/** The Store methods the feed uses (public ones only, so any driver can serve it). */
export interface FeedSource {
  eventsSince(cursor: number, limit?: number): Promise<TaskEvent[]>;
  /** Moves whenever anything commits to the board, this connection included. */
  changeMark(): Promise<number>;
}

export interface FollowOptions {
  /** Ends the feed: the iterator finishes cleanly (no error) at its next step. */
  signal: AbortSignal;
  /** How often to look for a commit while waiting (ms, default FEED_POLL_MS). */
  pollMs?: number;
  /** The most events in one batch (default FEED_BATCH); a backlog comes as several at once. */
  batch?: number;
}

/** The default wait between two looks at the data version: a write is seen this fast. */
export const FEED_POLL_MS = 25;
export const FEED_BATCH = 500;

interface Waiter {
  version: number;
  wake: () => void;
}

/**
 * Ticker polls one store's data version for every follower waiting on it, so a hundred open
 * event streams cost one cheap query per tick, not a hundred event reads.
 */
class Ticker {
  readonly #source: FeedSource;
  readonly #pollMs: number;
  readonly #waiters = new Set<Waiter>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #ticking = false;

  constructor(source: FeedSource, pollMs: number) {
    this.#source = source;
    this.#pollMs = pollMs;
  }

  /** wait resolves once the change mark is no longer `version`, or `signal` aborts. */
  async wait(version: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || await this.#moved(version)) return;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const waiter: Waiter = {
        version,
        wake: () => {
          this.#waiters.delete(waiter);
          signal.removeEventListener("abort", waiter.wake);
          if (this.#waiters.size === 0) this.#stop();
          resolve();
        },
      };
      signal.addEventListener("abort", waiter.wake, { once: true });
      this.#waiters.add(waiter);
      this.#timer ??= setInterval(() => this.#tick(), this.#pollMs);
    });
  }

  /** #moved: did something commit since `version` was read (or can the store not say)? */
  async #moved(version: number): Promise<boolean> {
    try {
      return (await this.#source.changeMark()) !== version;
    } catch {
      return true;
    }
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return; // the last look has not answered yet (a long transaction)
    this.#ticking = true;
    let version: number | null;
    try {
      version = await this.#source.changeMark();
    } catch {
      version = null; // a closed or broken store: the followers' next read says what is wrong
    } finally {
      this.#ticking = false;
    }
    for (const w of [...this.#waiters]) {
      if (version === null || version !== w.version) w.wake();
    }
  }

  #stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

const tickers = new WeakMap<FeedSource, Map<number, Ticker>>();

function tickerFor(source: FeedSource, pollMs: number): Ticker {
  let byPoll = tickers.get(source);
  if (!byPoll) tickers.set(source, byPoll = new Map());
  let ticker = byPoll.get(pollMs);
  if (!ticker) byPoll.set(pollMs, ticker = new Ticker(source, pollMs));
  return ticker;
}

/**
 * follow yields the events with id > `cursor` in batches, in order, never skipping or
 * repeating one, until `options.signal` aborts; then it ends without an error. A failed read
 * (the board was closed, say) ends it with that error.
 */
export async function* follow(
  source: FeedSource,
  cursor: number,
  options: FollowOptions,
): AsyncGenerator<TaskEvent[], void, undefined> {
  const { signal } = options;
  const batch = options.batch ?? FEED_BATCH;
  const ticker = tickerFor(source, options.pollMs ?? FEED_POLL_MS);
  while (!signal.aborted) {
    // read before the events: a commit after this read moves it, so the wait below cannot
    // sleep through an event the read missed
    const version = await source.changeMark();
    const events = await source.eventsSince(cursor, batch);
    if (signal.aborted) return;
    if (events.length > 0) {
      cursor = events[events.length - 1]!.id;
      yield events;
      if (events.length === batch) continue; // more may be waiting already
    }
    await ticker.wait(version, signal);
  }
}
