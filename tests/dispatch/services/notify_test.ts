/**
 * The notify service alone, on a real board with an injected clock: a round runs beside the
 * pass and its report comes with the next pass; a command subscription gets its events; a
 * failing one backs off on the injected wall clock and is tried again once the backoff passed.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NotifyService } from "../../../lib/dispatch/services/notify.ts";
import { HUMAN } from "../../_setup.ts";
import { type Bundle, bundle } from "./_bundle.ts";

function service(b: Bundle): NotifyService {
  return new NotifyService({
    store: b.store,
    clock: b.clock,
    log: (l) => b.logs.push(l),
    options: { baseMs: 5_000 },
  });
}

Deno.test("notify delivers a command subscription's events and reports the round on the next pass", async () => {
  await using b = bundle();
  const out = join(b.home, "delivered.jsonl");
  await b.store.addSubscription(
    { kind: "command", target: `cat >> '${out}'; echo >> '${out}'` },
    HUMAN,
  );
  await b.store.createTask({ title: "one" }, HUMAN);
  await b.store.createTask({ title: "two" }, HUMAN);
  const s = service(b);
  assert.deepEqual(await s.runOnce(b.clock.read()), { notifications: null }, "none finished yet");
  await s.settle();
  const r = await s.runOnce(b.clock.read());
  assert.deepEqual(r.notifications, {
    subscriptions: 1,
    delivered: 2,
    failed: 0,
    disabled: 0,
    ended: 0,
  });
  await s.settle();
  const lines = readFileSync(out, "utf8").split("\n").filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.task.title), ["one", "two"]);
});

Deno.test("notify backs a failing subscription off on the injected clock, then tries again", async () => {
  await using b = bundle();
  await b.store.addSubscription({ kind: "command", target: "exit 3" }, HUMAN);
  await b.store.createTask({ title: "one" }, HUMAN);
  const s = service(b);
  await s.runOnce(b.clock.read());
  await s.settle();
  assert.deepEqual(s.last, { subscriptions: 1, delivered: 0, failed: 1, disabled: 0, ended: 0 });
  b.clock.advance(4_000); // the backoff (5 s) has not passed
  await s.runOnce(b.clock.read());
  await s.settle();
  assert.equal(s.last?.subscriptions, 0, "not tried during its backoff");
  b.clock.advance(1_500);
  await s.runOnce(b.clock.read());
  await s.settle();
  assert.deepEqual(s.last, { subscriptions: 1, delivered: 0, failed: 1, disabled: 0, ended: 0 });
  const [sub] = await b.store.listSubscriptions();
  assert.equal(sub!.failures, 2);
});
