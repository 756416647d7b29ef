import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deliverNotifications, type NotifyOptions, runCommand } from "../../lib/dispatch/notify.ts";
import type { Store, SubscriptionInput, TaskEvent, TaskSummary } from "../../lib/store/mod.ts";
import { HUMAN, setup, tempDir } from "../_setup.ts";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

interface Hook extends AsyncDisposable {
  url: string;
  /** Every request, answered or not, in arrival order. */
  received: Received[];
  /** The status the next requests get (a function of the request number, from 0). */
  status: (n: number) => number;
}

/** hook starts a real HTTP server on 127.0.0.1 that records webhook requests. */
async function hook(status: (n: number) => number = () => 204): Promise<Hook> {
  const received: Received[] = [];
  const h = { status } as Hook;
  const server = createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      const code = h.status(received.length);
      received.push({
        headers: req.headers,
        body: new TextDecoder().decode(Buffer.concat(chunks)),
        status: code,
      });
      if (code === 0) return; // never answer
      res.writeHead(code, { "content-type": "text/plain" });
      res.end(code >= 300 ? `server says ${code}` : "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(h, {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

type Payload = { event: TaskEvent; task: TaskSummary | null };
const parsed = (r: Received) => JSON.parse(r.body) as Payload;
const delivered = (h: Hook) => h.received.filter((r) => r.status >= 200 && r.status < 300);

async function webhook(store: Store, url: string, extra: Partial<SubscriptionInput> = {}) {
  return await store.addSubscription({ kind: "webhook", target: url, ...extra }, HUMAN);
}

Deno.test("deliverNotifications() POSTs each event with its task, headers and a valid HMAC", async () => {
  await using b = setup();
  await using h = await hook();
  const sub = await webhook(b.store, h.url, { secret: "topsecret" });
  const t = await b.store.createTask({ title: "ship it", tenant: "acme" }, HUMAN);
  await b.store.comment(t.task.id, "on it", HUMAN);
  await b.store.complete(t.task.id, { summary: "shipped" }, HUMAN);

  const report = await deliverNotifications(b.store, { now: b.clock.now });
  assert.deepEqual(report, { subscriptions: 1, delivered: 3, failed: 0, disabled: 0, ended: 0 });
  assert.equal(h.received.length, 3);
  const events = await b.store.eventsSince(0);
  h.received.forEach((r, i) => {
    const event = events[i]!;
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["x-kanban-event"], event.kind);
    assert.equal(r.headers["x-kanban-delivery"], `${sub.id}-${event.id}`);
    assert.match(String(r.headers["user-agent"]), /^kanban\//);
    // What a receiver does: HMAC the raw body and compare in constant time.
    const expected = `sha256=${createHmac("sha256", "topsecret").update(r.body).digest("hex")}`;
    const got = String(r.headers["x-kanban-signature"]);
    assert.equal(got.length, expected.length);
    assert.ok(timingSafeEqual(Buffer.from(got), Buffer.from(expected)));
    const body = parsed(r);
    assert.deepEqual(Object.keys(body), ["event", "task"]);
    assert.deepEqual(body.event, event);
  });
  const last = parsed(h.received[2]!);
  assert.equal(last.event.kind, "completed");
  assert.equal(last.task?.id, t.task.id);
  assert.equal(last.task?.status, "done");
  assert.equal(last.task?.tenant, "acme");
  const [s] = await b.store.listSubscriptions();
  assert.equal(s?.cursor, events.at(-1)!.id);
  assert.equal(s?.delivered, 3);
});

Deno.test("a webhook without a secret gets no signature header", async () => {
  await using b = setup();
  await using h = await hook();
  await webhook(b.store, h.url);
  await b.store.createTask({ title: "x" }, HUMAN);
  await deliverNotifications(b.store, { now: b.clock.now });
  assert.equal(h.received.length, 1);
  assert.equal(h.received[0]!.headers["x-kanban-signature"], undefined);
});

Deno.test("a round with nothing due sends nothing and reports zeros", async () => {
  await using b = setup();
  await using h = await hook();
  await b.store.createTask({ title: "before" }, HUMAN);
  await webhook(b.store, h.url);
  const report = await deliverNotifications(b.store, { now: b.clock.now });
  assert.deepEqual(report, { subscriptions: 0, delivered: 0, failed: 0, disabled: 0, ended: 0 });
  assert.equal(h.received.length, 0, "history before the subscription is not replayed");
});

Deno.test("a failing endpoint is retried with backoff and later gets every event in order", async () => {
  await using b = setup();
  // The first three requests fail, then the endpoint recovers.
  await using h = await hook((n) => (n < 3 ? 500 : 200));
  const sub = await webhook(b.store, h.url);
  const opts: NotifyOptions = { now: b.clock.now, baseMs: 1_000, maxMs: 3_000 };
  const t = await b.store.createTask({ title: "a" }, HUMAN);
  for (let i = 1; i <= 4; i++) await b.store.comment(t.task.id, `note ${i}`, HUMAN);
  const ids = (await b.store.eventsSince(0)).map((e) => e.id);

  const waits: number[] = [];
  let failedSoFar = 0;
  while (failedSoFar < 3) {
    const r = await deliverNotifications(b.store, opts);
    assert.deepEqual([r.delivered, r.failed], [0, 1]);
    failedSoFar++;
    const s = (await b.store.listSubscriptions())[0]!;
    assert.equal(s.state, "retrying");
    assert.equal(s.failures, failedSoFar);
    assert.match(s.last_error ?? "", /^HTTP 500: server says 500$/);
    assert.equal(s.cursor, sub.cursor, "nothing skipped while failing");
    const wait = Date.parse(s.next_attempt_at!) - b.clock.now();
    waits.push(wait);
    // Before its time nothing is sent.
    b.clock.advance(wait - 1);
    const early = await deliverNotifications(b.store, opts);
    assert.equal(early.subscriptions, 0);
    b.clock.advance(1);
  }
  assert.deepEqual(waits, [1_000, 2_000, 3_000], "doubling, capped at maxMs");
  assert.equal(h.received.length, 3, "a failure stops the round: later events wait");

  const r = await deliverNotifications(b.store, opts);
  assert.deepEqual([r.delivered, r.failed], [5, 0]);
  assert.deepEqual(delivered(h).map((x) => parsed(x).event.id), ids, "in order, no gaps");
  assert.deepEqual(h.received.slice(0, 3).map((x) => parsed(x).event.id), [ids[0], ids[0], ids[0]]);
  const s = (await b.store.listSubscriptions())[0]!;
  assert.equal(s.state, "active");
  assert.equal(s.failures, 0);
  assert.equal(s.last_error, null);
  assert.equal(s.delivered, 5);
});

Deno.test("a subscription is disabled after maxFailures consecutive failures", async () => {
  await using b = setup();
  await using h = await hook(() => 503);
  const sub = await webhook(b.store, h.url);
  await b.store.createTask({ title: "a" }, HUMAN);
  const opts: NotifyOptions = { now: b.clock.now, baseMs: 10, maxFailures: 3 };
  const reports = [];
  for (let i = 0; i < 3; i++) {
    reports.push(await deliverNotifications(b.store, opts));
    b.clock.advance(60_000);
  }
  assert.deepEqual(reports.map((r) => [r.failed, r.disabled]), [[1, 0], [1, 0], [1, 1]]);
  const s = (await b.store.listSubscriptions())[0]!;
  assert.equal(s.state, "disabled");
  assert.equal(s.failures, 3);
  assert.match(s.last_error ?? "", /HTTP 503/);
  const disabledEvent = (await b.store.eventsSince(0)).at(-1)!;
  assert.equal(disabledEvent.kind, "subscription_disabled");
  assert.equal(disabledEvent.data["subscription"], sub.id);

  b.clock.advance(3_600_000);
  const after = await deliverNotifications(b.store, opts);
  assert.equal(after.subscriptions, 0);
  assert.equal(h.received.length, 3, "a disabled subscription gets nothing");

  // Re-enabled once fixed: what it missed is delivered, in order.
  h.status = () => 200;
  await b.store.enableSubscription(sub.id);
  const r = await deliverNotifications(b.store, opts);
  assert.equal(r.delivered, 2);
  assert.deepEqual(delivered(h).map((x) => parsed(x).event.kind), [
    "created",
    "subscription_disabled",
  ]);
});

Deno.test("one subscription failing does not hold up another", async () => {
  await using b = setup();
  await using bad = await hook(() => 500);
  await using good = await hook();
  await webhook(b.store, bad.url);
  await webhook(b.store, good.url);
  await b.store.createTask({ title: "a" }, HUMAN);
  const r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.deepEqual([r.subscriptions, r.delivered, r.failed], [2, 1, 1]);
  assert.equal(good.received.length, 1);
});

Deno.test("a webhook that does not answer in time is a failure", async () => {
  await using b = setup();
  await using h = await hook(() => 0);
  await webhook(b.store, h.url);
  await b.store.createTask({ title: "a" }, HUMAN);
  const r = await deliverNotifications(b.store, { now: b.clock.now, webhookTimeoutMs: 150 });
  assert.equal(r.failed, 1);
  assert.equal((await b.store.listSubscriptions())[0]!.last_error, "no answer within 150 ms");
});

Deno.test("an unreachable webhook and a redirect are failures with the reason", async () => {
  await using b = setup();
  let port: number;
  {
    await using gone = await hook();
    port = Number(new URL(gone.url).port);
  }
  await using redirect = await hook(() => 302);
  await webhook(b.store, `http://127.0.0.1:${port}/closed`);
  await webhook(b.store, redirect.url);
  await b.store.createTask({ title: "a" }, HUMAN);
  const r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.equal(r.failed, 2);
  const [closed, moved] = await b.store.listSubscriptions();
  assert.match(closed?.last_error ?? "", /refused|connect/i);
  assert.match(moved?.last_error ?? "", /^HTTP 302/);
});

Deno.test("a command subscription gets each event's JSON on stdin, in order", async () => {
  await using b = setup();
  const out = join(b.dir, "events.jsonl");
  const env = join(b.dir, "env.txt");
  const sub = await b.store.addSubscription({
    kind: "command",
    target: `cat >> '${out}' && echo "$KANBAN_EVENT $KANBAN_DELIVERY" >> '${env}'`,
  }, HUMAN);
  const t = await b.store.createTask({ title: "cmd" }, HUMAN);
  await b.store.comment(t.task.id, "one", HUMAN);
  const r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.equal(r.delivered, 2);
  const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Payload);
  const events = await b.store.eventsSince(0);
  assert.deepEqual(lines.map((l) => l.event), events);
  assert.equal(lines[0]!.task?.id, t.task.id);
  assert.deepEqual(readFileSync(env, "utf8").trim().split("\n"), [
    `created ${sub.id}-${events[0]!.id}`,
    `commented ${sub.id}-${events[1]!.id}`,
  ]);
});

Deno.test("a failing command keeps the end of its stderr as the error", async () => {
  await using b = setup();
  await b.store.addSubscription({ kind: "command", target: "echo boom >&2; exit 3" }, HUMAN);
  await b.store.createTask({ title: "x" }, HUMAN);
  const r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.equal(r.failed, 1);
  const s = (await b.store.listSubscriptions())[0]!;
  assert.equal(s.last_error, "command exited with code 3: boom");
  assert.equal(s.cursor, 0);
});

/** gone tells whether process `pid` has exited (no longer listed, or a zombie). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true;
  } catch {
    return true;
  }
}

Deno.test("runCommand() kills a command and its children that run past the timeout", async () => {
  using tmp = tempDir();
  const pidFile = join(tmp.dir, "pid");
  const started = Date.now();
  const r = await runCommand(
    `sleep 30 & echo $! > '${pidFile}'; wait`,
    "{}",
    { PATH: "/usr/bin:/bin" },
    300,
  );
  assert.deepEqual(r, { ok: false, error: "command ran longer than 300 ms" });
  assert.ok(Date.now() - started < 5_000);
  const pid = Number(readFileSync(pidFile, "utf8"));
  // SIGKILL went to the whole process group; give the kernel a moment to finish it.
  for (let i = 0; i < 50 && !gone(pid); i++) await new Promise((ok) => setTimeout(ok, 20));
  assert.ok(gone(pid), `background child ${pid} survived the timeout`);
});

Deno.test("a task subscription ends after its task's completion is delivered", async () => {
  await using b = setup();
  await using h = await hook();
  const t = await b.store.createTask({ title: "watched" }, HUMAN);
  const other = await b.store.createTask({ title: "other" }, HUMAN);
  await webhook(b.store, h.url, { task: t.task.id });
  await b.store.block(t.task.id, "question", HUMAN);
  await b.store.comment(other.task.id, "not for us", HUMAN);
  let r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.deepEqual([r.delivered, r.ended], [1, 0], "blocked does not end it");
  await b.store.unblock(t.task.id, HUMAN);
  await b.store.complete(t.task.id, {}, HUMAN);
  r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.deepEqual([r.delivered, r.ended], [2, 1]);
  assert.deepEqual(h.received.map((x) => parsed(x).event.kind), [
    "blocked",
    "unblocked",
    "completed",
  ]);
  await b.store.reopen(t.task.id, HUMAN);
  r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.equal(r.subscriptions, 0, "an ended subscription gets nothing more");
});

Deno.test("overlapping rounds never deliver an event twice", async () => {
  await using b = setup();
  await using h = await hook();
  await webhook(b.store, h.url);
  const t = await b.store.createTask({ title: "x" }, HUMAN);
  for (let i = 0; i < 5; i++) await b.store.comment(t.task.id, `c${i}`, HUMAN);
  const rounds = await Promise.all([
    deliverNotifications(b.store, { now: b.clock.now }),
    deliverNotifications(b.store, { now: b.clock.now }),
    deliverNotifications(b.store, { now: b.clock.now }),
  ]);
  assert.equal(rounds.reduce((n, r) => n + r.delivered, 0), 6);
  const ids = h.received.map((x) => parsed(x).event.id);
  assert.deepEqual(ids, [...new Set(ids)].sort((a, z) => a - z));
  assert.equal(ids.length, 6);
});

Deno.test("a round sends at most maxPerRound events to a subscription; the next continues", async () => {
  await using b = setup();
  await using h = await hook();
  await webhook(b.store, h.url);
  const t = await b.store.createTask({ title: "x" }, HUMAN);
  for (let i = 0; i < 6; i++) await b.store.comment(t.task.id, `c${i}`, HUMAN);
  const opts = { now: b.clock.now, batchSize: 2, maxPerRound: 5 };
  assert.equal((await deliverNotifications(b.store, opts)).delivered, 5);
  assert.equal((await deliverNotifications(b.store, opts)).delivered, 2);
  assert.equal((await deliverNotifications(b.store, opts)).subscriptions, 0);
  const ids = h.received.map((x) => parsed(x).event.id);
  assert.deepEqual(ids, (await b.store.eventsSince(0)).map((e) => e.id));
});

Deno.test("events a filter skips move the cursor, so the next round has nothing to do", async () => {
  await using b = setup();
  await using h = await hook();
  const sub = await webhook(b.store, h.url, { kinds: ["completed"] });
  const t = await b.store.createTask({ title: "x" }, HUMAN);
  await b.store.comment(t.task.id, "noise", HUMAN);
  let r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.deepEqual([r.subscriptions, r.delivered], [1, 0]);
  assert.equal((await b.store.listSubscriptions())[0]!.cursor, await b.store.eventHead());
  r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.equal(r.subscriptions, 0);
  await b.store.complete(t.task.id, {}, HUMAN);
  r = await deliverNotifications(b.store, { now: b.clock.now });
  assert.equal(r.delivered, 1);
  assert.equal(
    h.received[0]!.headers["x-kanban-delivery"],
    `${sub.id}-${await b.store.eventHead()}`,
  );
});

Deno.test("a round aborted mid-delivery counts no failure; the event is sent again later", async () => {
  await using b = setup();
  await using h = await hook(() => 0);
  await webhook(b.store, h.url);
  await b.store.addSubscription({ kind: "command", target: "sleep 30" }, HUMAN);
  await b.store.createTask({ title: "x" }, HUMAN);
  const stop = new AbortController();
  const round = deliverNotifications(b.store, { now: b.clock.now, signal: stop.signal });
  // Abort once the webhook request has arrived (the command is running by then too).
  while (h.received.length === 0) await new Promise((ok) => setTimeout(ok, 10));
  const started = Date.now();
  stop.abort();
  const r = await round;
  assert.ok(Date.now() - started < 2_000, "the command was killed, not waited for");
  assert.deepEqual([r.delivered, r.failed], [0, 0]);
  for (const s of await b.store.listSubscriptions()) {
    assert.deepEqual([s.state, s.failures, s.cursor], ["active", 0, 0]);
  }
});
