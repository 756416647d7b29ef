/**
 * scripts/chaos_proxy.ts: the chaos harness's network partition (scripts/chaos_hosts.ts). Each
 * host of a multi-host chaos run reaches PostgreSQL through a PartitionProxy of its own, a TCP
 * proxy on 127.0.0.1 in the harness's process, so the harness can cut one host off:
 *
 * - partition() stops forwarding in both directions and keeps every connection open, as a
 *   partition leaves TCP connections half-open: nothing arrives, nothing fails, writes pile
 *   up. A connection that ends or breaks on one side meanwhile is not passed on either.
 *   New connections are accepted and stalled (`stall`: no answer, as when SYNs go unanswered
 *   behind a firewall that drops) or refused (`refuse`: closed at once, as a rejecting one).
 * - heal() forwards again: what was held goes through in order (`resume`: the connections
 *   outlived the partition, as TCP's retransmissions let them over a few seconds), or every
 *   connection is reset (`reset`: they did not, as after a long partition or a NAT that
 *   forgot them).
 *
 * This is a partition of the harness's own making, in user space. The partition of a real
 * network namespace is another test (tests/dispatch/partition_test.ts).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** How a partition treats a new connection: accept and stall it, or close it at once. */
export type PartitionMode = "stall" | "refuse";
/** How a partition ends: the held connections go on, or every one is reset. */
export type HealMode = "resume" | "reset";

interface Link {
  client: Socket;
  /** Null while a connection accepted during a partition waits for the heal. */
  upstream: Socket | null;
  /** What came while partitioned (data, an end, a close), passed on at the heal, in order. */
  held: (() => void)[];
}

/** reset ends a socket abruptly (RST where the runtime can, else close). */
function reset(s: Socket): void {
  const r = (s as Socket & { resetAndDestroy?: () => void }).resetAndDestroy;
  if (typeof r === "function") {
    try {
      r.call(s);
      return;
    } catch {
      // not connected yet: destroy below
    }
  }
  s.destroy();
}

/** PartitionProxy forwards 127.0.0.1:port to `target` until it is told to partition. */
export class PartitionProxy {
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  #server: Server | null = null;
  #partition: PartitionMode | null = null;
  /** The port it listens on (after listen()). */
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** listen binds a free port of 127.0.0.1 (or `port`) and returns it. */
  listen(port = 0): Promise<number> {
    const server = createServer((client) => this.#accept(client));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        this.#server = server;
        this.port = (server.address() as { port: number }).port;
        resolve(this.port);
      });
    });
  }

  /** Whether the proxy holds its traffic now. */
  get partitioned(): boolean {
    return this.#partition !== null;
  }

  /** How many connections it carries (or holds) now. */
  get connections(): number {
    return this.#links.size;
  }

  /** partition stops forwarding, both ways, on every connection; new ones per `mode`. */
  partition(mode: PartitionMode): void {
    this.#partition = mode;
    for (const l of this.#links) {
      l.client.pause();
      l.upstream?.pause();
    }
  }

  /** heal forwards again: held traffic in order (`resume`), or every connection reset. */
  heal(how: HealMode = "resume"): void {
    if (this.#partition === null) return;
    this.#partition = null;
    for (const l of [...this.#links]) {
      if (how === "reset") {
        this.#drop(l, true);
        continue;
      }
      for (const f of l.held.splice(0)) f();
      if (l.upstream === null) this.#connect(l);
      else if (!l.client.destroyed && !l.upstream.destroyed) {
        l.client.resume();
        l.upstream.resume();
      }
    }
  }

  /** close stops listening and ends every connection. */
  close(): Promise<void> {
    for (const l of [...this.#links]) this.#drop(l, false);
    const server = this.#server;
    this.#server = null;
    if (server === null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5_000); // bounded, whatever a connection does
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #accept(client: Socket): void {
    client.on("error", () => {});
    if (this.#partition === "refuse") {
      reset(client);
      return;
    }
    const link: Link = { client, upstream: null, held: [] };
    this.#links.add(link);
    client.once("close", () => {
      if (link.upstream === null) this.#links.delete(link);
    });
    // A socket reads nothing until it has a data listener: a stalled one just waits.
    if (this.#partition === null) this.#connect(link);
  }

  #connect(l: Link): void {
    if (l.client.destroyed) {
      this.#links.delete(l);
      return;
    }
    const upstream = createConnection(this.#target);
    upstream.on("error", () => {});
    l.upstream = upstream;
    this.#pipe(l, l.client, upstream);
    this.#pipe(l, upstream, l.client);
  }

  /** #pipe forwards `from` to `to` while not partitioned, holding what comes meanwhile. */
  #pipe(l: Link, from: Socket, to: Socket): void {
    const whenLinked = (f: () => void) => {
      if (this.#partition !== null) l.held.push(f);
      else f();
    };
    from.on("data", (chunk) => {
      if (this.#partition !== null) from.pause(); // read before the pause took: held
      whenLinked(() => {
        if (to.destroyed) return;
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => {
            if (this.#partition === null) from.resume();
          });
        }
      });
    });
    from.on("end", () => whenLinked(() => to.end()));
    from.on("close", () => whenLinked(() => this.#drop(l, false)));
  }

  #drop(l: Link, abrupt: boolean): void {
    this.#links.delete(l);
    l.held.length = 0;
    for (const s of [l.client, l.upstream]) {
      if (s === null || s.destroyed) continue;
      if (abrupt) reset(s);
      else s.destroy();
    }
  }
}
