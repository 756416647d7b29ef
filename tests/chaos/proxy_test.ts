/**
 * The chaos harness's partition proxy (scripts/chaos_proxy.ts) against an echo server: it
 * forwards; partitioned, it holds traffic both ways on open connections and stalls or refuses
 * new ones; healed, it passes on what it held in order, or resets every connection.
 */
import assert from "node:assert/strict";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { PartitionProxy } from "../../scripts/chaos_proxy.ts";

interface Echo extends AsyncDisposable {
  port: number;
  /** What the server received, in all. */
  received: () => string;
}

async function echo(): Promise<Echo> {
  let received = "";
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("data", (d) => {
      received += d;
      s.write(d);
    });
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    received: () => received,
    [Symbol.asyncDispose]: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A client of the proxy that collects what it reads and whether it was closed. */
function client(port: number) {
  const s = createConnection({ host: "127.0.0.1", port });
  let got = "";
  let closed = false;
  s.on("data", (d) => (got += d));
  s.on("error", () => {});
  s.on("close", () => (closed = true));
  return { s, got: () => got, closed: () => closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

Deno.test("a partition holds traffic both ways on open connections and stalls new ones; healed, it all goes through in order", async () => {
  await using e = await echo();
  const proxy = new PartitionProxy({ host: "127.0.0.1", port: e.port });
  await proxy.listen();
  try {
    const a = client(proxy.port);
    a.s.write("one ");
    await until("the echo", () => a.got() === "one ");
    proxy.partition("stall");
    a.s.write("two ");
    const b = client(proxy.port); // accepted, and stalled
    b.s.write("three ");
    await sleep(300);
    assert.equal(e.received(), "one ", "nothing reached the server");
    assert.equal(a.got(), "one ");
    assert.equal(a.closed() || b.closed(), false, "connections stay open");
    proxy.heal("resume");
    await until("the held traffic", () => a.got() === "one two " && b.got() === "three ");
    a.s.destroy();
    b.s.destroy();
  } finally {
    await proxy.close();
  }
});

Deno.test("a refusing partition closes new connections; a resetting heal ends the held ones", async () => {
  await using e = await echo();
  const proxy = new PartitionProxy({ host: "127.0.0.1", port: e.port });
  await proxy.listen();
  try {
    const a = client(proxy.port);
    a.s.write("x");
    await until("the echo", () => a.got() === "x");
    proxy.partition("refuse");
    const b = client(proxy.port);
    await until("the refusal", () => b.closed());
    a.s.write("y");
    await sleep(100);
    assert.equal(a.closed(), false);
    proxy.heal("reset");
    await until("the reset", () => a.closed());
    assert.equal(e.received(), "x", "the held write never reached the server");
    const c = client(proxy.port);
    c.s.write("z");
    await until("forwarding again", () => c.got() === "z");
    c.s.destroy();
  } finally {
    await proxy.close();
  }
});
