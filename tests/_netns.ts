/**
 * A Linux network namespace of the test's own, to cut a process off from the network for real:
 * `netns()` makes a namespace and a veth pair into it, addressed in a private /30
 * (10.231.x.y/30: the host side .1, the namespace side .2), with the namespace's `lo` up. A
 * process started in it with `spawn()` reaches the root namespace only through that pair, and
 * `forward(port)` gives it a way to 127.0.0.1:port: a TCP forwarder in the test process,
 * listening on the host-side address. `cut()` takes the host-side link down: packets in both
 * directions are dropped, nobody is told, and open connections go half-open (a partition, not
 * a clean close); `heal()` brings it up again, and the connections carry on where they were.
 *
 * Disposing kills every process left in the namespace (whatever spawned it), closes the
 * forwarder and deletes the pair and the namespace, whether the test passed or not. Leftovers
 * of a test process that died without disposing (names carry its pid) go at the next `netns()`.
 * Needs root and `ip` (iproute2): `netnsAvailable()` says why not, for a test to register as
 * ignored. Not a test (the leading underscore keeps `deno test` away).
 */
import { type ChildProcess, spawn, type SpawnOptions, spawnSync } from "node:child_process";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import process from "node:process";

export interface Netns extends AsyncDisposable {
  /** The namespace's name (`ip netns exec NAME ...`). */
  name: string;
  /** The root namespace's end of the pair: what a process in the namespace connects to. */
  hostAddress: string;
  /** The namespace's end of the pair. */
  nsAddress: string;
  /**
   * forward listens on hostAddress and pipes every connection to 127.0.0.1:`port`; returns the
   * port it listens on.
   */
  forward(port: number): Promise<number>;
  /** cut takes the host-side link down: the namespace is cut off, its connections half-open. */
  cut(): void;
  /** heal brings the host-side link up again. */
  heal(): void;
  /** spawn starts `command` inside the namespace (`ip netns exec`; its pid is the command's). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
}

/** The names this module gives: `kbt<pid>n<n>`, and `kbh…`/`kbn…` for the veth ends. */
const NAME = /^kbt(\d+)n(\d+)$/;

let made = 0;
let available: string | null | undefined;

/** ip runs `ip ARGS...` and returns its stdout; it throws with ip's stderr when ip fails. */
function ip(...args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim() || r.status}`);
  return r.stdout;
}

/**
 * netnsAvailable returns why this machine cannot give a test its own network namespace, or
 * null when it can (root, and `ip netns add` works). Checked once per process.
 */
export function netnsAvailable(): string | null {
  if (available !== undefined) return available;
  if (process.platform !== "linux") return (available = "not Linux");
  if (process.getuid?.() !== 0) return (available = "not root");
  const probe = `kbt${process.pid}n0`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    available = null;
  } catch (err) {
    available = `ip netns add failed: ${(err as Error).message}`;
  }
  return available;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** sweep deletes the namespaces of test processes that died without disposing theirs. */
function sweep(): void {
  for (const line of ip("netns", "list").split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = NAME.exec(name);
    if (m === null || pidAlive(Number(m[1]))) continue;
    killAll(name);
    try {
      ip("netns", "del", name); // the veth pair goes with its namespace end
    } catch {
      // another test process swept it first
    }
  }
}

/** killAll SIGKILLs every process in namespace `name` (`ip netns pids`). */
function killAll(name: string): number[] {
  let pids: number[] = [];
  try {
    pids = ip("netns", "pids", name).split("\n").filter((p) => p !== "").map(Number);
  } catch {
    return [];
  }
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  return pids;
}

/**
 * subnet picks a /30 in 10.231.0.0/16 from this process's pid and a counter (16,384 of them)
 * and skips one an interface on this machine already has (another test's); returns the
 * addresses of its two ends.
 */
function subnet(n: number): { host: string; ns: string } {
  const used = ip("-4", "-o", "addr", "show");
  for (let i = 0; i < 64; i++) {
    const index = (process.pid * 8 + n + i * 997) % 16_384;
    const net = `10.231.${index >> 6}.`;
    const last = (index & 63) * 4;
    const host = `${net}${last + 1}`;
    const ns = `${net}${last + 2}`;
    if (!used.includes(` ${host}/`) && !used.includes(` ${ns}/`)) return { host, ns };
  }
  throw new Error("no free /30 in 10.231.0.0/16");
}

/** netns makes a namespace, its veth pair and addresses (see the module's comment). */
export function netns(): Promise<Netns> {
  const reason = netnsAvailable();
  if (reason !== null) throw new Error(`no network namespaces here: ${reason}`);
  sweep();
  const n = ++made;
  const name = `kbt${process.pid}n${n}`;
  const hostIf = `kbh${process.pid}n${n}`;
  const nsIf = `kbn${process.pid}n${n}`;
  const children: ChildProcess[] = [];
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const { host, ns } = subnet(n);

  const dispose = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    // anything else still in the namespace (workers of a dispatcher started there), bounded
    for (let i = 0; i < 50 && killAll(name).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const args of [["link", "del", hostIf], ["netns", "del", name]]) {
      try {
        ip(...args);
      } catch {
        // not made (setup failed half-way), or gone with the namespace
      }
    }
  };

  try {
    ip("netns", "add", name);
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", name);
    ip("addr", "add", `${host}/30`, "dev", hostIf);
    ip("link", "set", hostIf, "up");
    ip("-n", name, "addr", "add", `${ns}/30`, "dev", nsIf);
    ip("-n", name, "link", "set", nsIf, "up");
    ip("-n", name, "link", "set", "lo", "up");
  } catch (err) {
    return dispose().then(() => Promise.reject(err));
  }

  return Promise.resolve({
    name,
    hostAddress: host,
    nsAddress: ns,
    forward: (port) => {
      const server = createServer((inbound) => {
        const outbound = createConnection({ host: "127.0.0.1", port });
        sockets.add(inbound).add(outbound);
        const end = () => {
          inbound.destroy();
          outbound.destroy();
          sockets.delete(inbound);
          sockets.delete(outbound);
        };
        for (const s of [inbound, outbound]) s.on("error", end).on("close", end);
        inbound.pipe(outbound);
        outbound.pipe(inbound);
      });
      servers.push(server);
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => {
          const address = server.address();
          resolve(typeof address === "object" && address !== null ? address.port : 0);
        });
      });
    },
    cut: () => void ip("link", "set", hostIf, "down"),
    heal: () => void ip("link", "set", hostIf, "up"),
    spawn: (command, args, options = {}) => {
      const child = spawn("ip", ["netns", "exec", name, command, ...args], options);
      children.push(child);
      return child;
    },
    [Symbol.asyncDispose]: dispose,
  });
}
