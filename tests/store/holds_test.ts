import assert from "node:assert/strict";
import { ConflictError, holdBackoffMs, NotFoundError } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const HOST = "build-1";

conformance(
  "a rate limit holds its profile until the reported reset, seen by why and listed",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "work", { assignee: "coder" });
    const reset = b.clock.now() + 20 * 60_000;
    const hold = await b.store.holdProfile({
      profile: "coder",
      kind: "rate_limit",
      reset_at: reset,
      reason: "429 Too Many Requests",
      task: t.id,
      host: HOST,
    }, DISPATCHER);
    assert.equal(hold.until, new Date(reset).toISOString());
    assert.equal(hold.active, true);
    assert.equal(hold.holds, 1);
    const why = await b.store.why(t.id);
    const quota = why.reasons.find((r) => r.code === "quota");
    assert.ok(quota, JSON.stringify(why.reasons));
    assert.match(
      quota.message,
      /profile "coder" is rate limited \(429 Too Many Requests\); held until/,
    );
    const events = await b.store.eventsSince(0, 1000);
    const held = events.filter((e) => e.kind === "profile_held" && e.task_id === t.id);
    assert.equal(held.length, 1);
    assert.equal(held[0]!.data["until"], new Date(reset).toISOString());

    // past the reset it no longer holds: why says nothing of it, the row stays for the backoff
    b.clock.advance(20 * 60_000 + 1);
    assert.equal((await b.store.why(t.id)).reasons.some((r) => r.code === "quota"), false);
    const [ended] = await b.store.profileHolds();
    assert.equal(ended!.active, false);
  },
);

conformance(
  "without a reported reset a hold backs off, doubling per hold in a row; a success clears the count",
  async (drv) => {
    await using b = await drv.fresh();
    const hold = (reason = "quota exceeded") =>
      b.store.holdProfile({ profile: "coder", kind: "quota", reason, host: HOST }, DISPATCHER);
    const t0 = b.clock.now();
    const first = await hold();
    assert.equal(Date.parse(first.until!), t0 + holdBackoffMs(1));
    // another worker meets the same limit while the hold lasts: the same hold, no new event
    const again = await hold("quota exceeded again");
    assert.equal(again.holds, 1);
    assert.equal(again.until, first.until);
    b.clock.advance(holdBackoffMs(1) + 1);
    const second = await hold();
    assert.equal(second.holds, 2);
    assert.equal(Date.parse(second.until!), b.clock.now() + holdBackoffMs(2));
    assert.equal(holdBackoffMs(2), 2 * holdBackoffMs(1));
    // an active hold is not cleared by a success elsewhere; an ended one is
    assert.equal(await b.store.clearHold("coder", DISPATCHER), false);
    b.clock.advance(holdBackoffMs(2) + 1);
    assert.equal(await b.store.clearHold("coder", DISPATCHER), true);
    assert.equal((await hold()).holds, 1, "the backoff starts over");
    const events = (await b.store.eventsSince(0, 1000)).filter((e) => e.kind === "profile_held");
    assert.equal(events.length, 3, "one event per hold, none for the same hold met again");
  },
);

conformance(
  "a later, nearer reset never shortens a hold; a far one is capped at 8 days",
  async (drv) => {
    await using b = await drv.fresh();
    const now = b.clock.now();
    const at = (ms: number) =>
      b.store.holdProfile({
        profile: "coder",
        kind: "rate_limit",
        reset_at: now + ms,
        reason: "429",
        host: HOST,
      }, DISPATCHER);
    await at(3_600_000);
    assert.equal(Date.parse((await at(60_000)).until!), now + 3_600_000);
    assert.equal(Date.parse((await at(90 * 86_400_000)).until!), now + 8 * 86_400_000);
  },
);

conformance(
  "a failed sign-in holds until released; the release unblocks the tasks it blocked",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "work", { assignee: "coder" });
    const other = await add(b.store, "blocked by a person", { assignee: "coder" });
    await b.store.block(other.id, "needs a decision", HUMAN);
    const auth = await b.store.holdProfile({
      profile: "coder",
      kind: "auth",
      reason: "401 Unauthorized: Incorrect API key provided",
      task: t.id,
      host: HOST,
    }, DISPATCHER);
    assert.equal(auth.until, null);
    // a rate limit met meanwhile does not replace it
    const kept = await b.store.holdProfile({
      profile: "coder",
      kind: "rate_limit",
      reset_at: b.clock.now() + 1000,
      reason: "429",
      host: HOST,
    }, DISPATCHER);
    assert.equal(kept.kind, "auth");
    b.clock.advance(30 * 86_400_000);
    assert.equal((await b.store.profileHolds())[0]!.active, true, "no time ends it");
    const { authBlockReason } = await import("../../lib/store/mod.ts");
    await b.store.block(t.id, authBlockReason("coder"), DISPATCHER);
    const why = await b.store.why(t.id);
    assert.ok(why.reasons.some((r) => r.code === "blocked"));

    const released = await b.store.releaseHold("coder", HUMAN);
    assert.deepEqual(released.unblocked, [t.id]);
    assert.equal((await b.store.getTask(t.id)).status, "ready");
    assert.equal((await b.store.getTask(other.id)).status, "blocked", "a person's block stays");
    assert.deepEqual(await b.store.profileHolds(), []);
    const events = (await b.store.eventsSince(0, 1000)).filter((e) =>
      e.kind === "profile_released"
    );
    assert.equal(events.length, 1);
    await assert.rejects(b.store.releaseHold("coder", HUMAN), NotFoundError);
  },
);

conformance(
  "a worker can neither hold nor release a profile; bad holds are refused by name",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "work", { assignee: "coder" });
    const c = await claimId(b.store, t.id, "coder");
    const input = { profile: "coder", kind: "quota" as const, reason: "x", host: HOST };
    await assert.rejects(b.store.holdProfile(input, worker(c)), ConflictError);
    await b.store.holdProfile(input, DISPATCHER);
    await assert.rejects(b.store.releaseHold("coder", worker(c)), ConflictError);
    await assert.rejects(
      b.store.holdProfile({ ...input, kind: "bogus" as "quota" }, DISPATCHER),
      /kind/,
    );
    await assert.rejects(b.store.holdProfile({ ...input, profile: "" }, DISPATCHER), /profile/);
    assert.equal((await b.store.profileHolds()).length, 1, "nothing else was stored");
  },
);
