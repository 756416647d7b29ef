/**
 * The answer watchdog: a board whose server stops answering must fail its calls, not hang them.
 * A host cut off from the database in the middle of a query keeps a half-open connection: the
 * query was sent, nothing comes back, and nothing fails until TCP gives up on its
 * retransmissions (about 15 minutes on Linux) or its keepalive probes (longer). Meanwhile the
 * dispatcher's pass waits on that query, and the host does nothing, even after the network is
 * back. So the driver's connections are sockets of its own making (the client's `socket`
 * option), and every query and transaction statement is watched: when one has waited for an
 * answer for `ms`, every connection of the pool is closed. What waited fails with a connection
 * error, which the callers treat as a board out of reach (a pass fails and the next one tries
 * again), and the next call connects afresh. Connections that were fine are closed too: this
 * happens only when the server has been silent for far longer than any statement takes.
 */
import { connect as netConnect, type Socket } from "node:net";

/** How long a statement may go unanswered before the pool's connections are closed (ms). */
export const ANSWER_TIMEOUT_MS = 60_000;

/** The cause given to the connections the watchdog closes (the error's `cause`). */
export class NoAnswerError extends Error {}

export class AnswerWatchdog {
  readonly #ms: number;
  readonly #where: string;
  readonly #sockets = new Set<Socket>();
  /** When each statement now waiting for an answer was sent. */
  readonly #waiting = new Map<number, number>();
  #seq = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** When it last closed the pool's connections (ms since the epoch; 0: never). */
  lastCut = 0;

  constructor(ms: number, where: string) {
    this.#ms = ms;
    this.#where = where;
  }

  /**
   * connect is the client's `socket` option: a plain TCP (or unix) socket, which the client
   * upgrades to TLS itself when the URL asks for it, and which the watchdog can close.
   */
  connect = (o: { path: string | false }, host: string, port: number): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = o.path ? netConnect({ path: o.path }) : netConnect({ host, port });
      this.#sockets.add(s);
      s.once("close", () => this.#sockets.delete(s));
      // The client listens on the socket it uses (after a TLS upgrade, the TLS socket, not
      // this one): an error of ours on this one must not go unheard.
      s.on("error", () => {});
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        s.setNoDelay(true);
        resolve(s);
      });
    });

  /**
   * watch awaits `p` (a statement sent), timing it until it is answered or fails. It awaits
   * exactly as the caller would have (an `await` asks a client's query for its answer one
   * microtask later, and the client sends statements in the order they are asked): a query
   * asked for sooner would go out before statements made before it.
   */
  async watch<T>(p: PromiseLike<T>): Promise<T> {
    const id = ++this.#seq;
    this.#waiting.set(id, Date.now());
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#check(), Math.max(50, this.#ms / 4));
      (this.#timer as { unref?: () => void }).unref?.();
    }
    try {
      return await p;
    } finally {
      this.#waiting.delete(id);
      if (this.#waiting.size === 0) this.#stop();
    }
  }

  #check(): void {
    let oldest = Infinity;
    for (const since of this.#waiting.values()) oldest = Math.min(oldest, since);
    if (Date.now() - oldest >= this.#ms) this.cut();
  }

  /** cut closes every connection of the pool: what waits on one fails at once. */
  cut(): void {
    this.lastCut = Date.now();
    for (const s of this.#sockets) s.destroy(new NoAnswerError(this.message()));
    this.#waiting.clear();
    this.#stop();
  }

  /** message says what the watchdog did, for the error a cut call fails with. */
  message(): string {
    return `No answer from the board's server at ${this.#where} for ${
      Math.round(this.#ms / 1000)
    } s (a connection half-open after a network failure?): its connections were closed, and ` +
      "the next call connects afresh";
  }

  #stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** close stops the timer (the pool closes its own connections). */
  close(): void {
    this.#waiting.clear();
    this.#stop();
  }
}
