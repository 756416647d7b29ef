/**
 * The why read model (lib/store/why.ts): for a waiting task, every reason it is not running,
 * judged against what live dispatchers published with their passes; and the `held` events a
 * dispatcher records.
 */
import assert from "node:assert/strict";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";
import type { Store } from "../../lib/store/mod.ts";

const LEASE = 15_000;

/** A dispatcher of `host` that runs and publishes `report` (what its pass would record). */
async function host(store: Store, id: string, name: string, report: Record<string, unknown>) {
  const lease = await store.acquireDispatchLease({ id, host: name, pid: 100 }, LEASE);
  assert.ok(lease.active);
  await store.recordDispatcherTick(id, {
    profiles: { coder: { max_concurrent: 1 } },
    labels: [],
    max_workers: 4,
    workers: 0,
    draining: false,
    pressure: { held: false, reason: null, detail: null },
    ...report,
  });
}

const codes = async (store: Store, id: string) => (await store.why(id)).reasons.map((r) => r.code);

conformance(
  "why: a task with no live dispatcher says so, and a fitting idle host leaves nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "job", { assignee: "coder" });
    const w = await b.store.why(t.id.slice(0, 6));
    assert.equal(w.task, t.id);
    assert.deepEqual([w.status, w.waiting], ["ready", true]);
    assert.deepEqual(w.reasons.map((r) => r.code), ["no_dispatcher"]);
    assert.match(w.summary, /no dispatcher is running for this board/);
    await host(b.store, "d1", "mac", {});
    const ok = await b.store.why(t.id);
    assert.deepEqual(ok.reasons, []);
    assert.match(ok.summary, /nothing holds it/);
    assert.deepEqual(ok.hosts.map((h) => h.host), ["mac"]);
    // the dispatcher's lease runs out: it is no longer live
    b.clock.advance(LEASE + 1);
    assert.deepEqual(await codes(b.store, t.id), ["no_dispatcher"]);
  },
);

conformance("why: parents with their status, a start time to come, and a backoff", async (drv) => {
  await using b = await drv.fresh();
  await host(b.store, "d1", "mac", {});
  const p = await add(b.store, "parent", { assignee: "coder" });
  const child = await add(b.store, "child", {
    assignee: "coder",
    parents: [p.id],
    not_before: b.clock.now() + 3_600_000,
  });
  const w = await b.store.why(child.id);
  assert.equal(w.status, "todo");
  assert.deepEqual(w.reasons.map((r) => r.code), ["parents", "not_before"]);
  assert.deepEqual(w.reasons[0]!.detail["parents"], [{
    id: p.id,
    title: "parent",
    status: "ready",
  }]);
  assert.match(w.reasons[0]!.message, new RegExp(`waits on 1 parent\\(s\\): ${p.id} \\(ready\\)`));
  assert.equal(w.reasons[1]!.detail["until"], new Date(b.clock.now() + 3_600_000).toISOString());

  const c = await claimId(b.store, p.id);
  await b.store.endRun(c.run.id, { outcome: "crashed", error: "exit 1", exit_code: 1 }, DISPATCHER);
  const back = await b.store.why(p.id);
  assert.deepEqual(back.reasons.map((r) => r.code), ["backoff"]);
  assert.equal(back.reasons[0]!.detail["failures"], 1);
});

conformance("why: no live host defining the profile, labels no host offers", async (drv) => {
  await using b = await drv.fresh();
  await host(b.store, "d1", "mac", { labels: ["macos"] });
  const other = await add(b.store, "x", { assignee: "writer" });
  assert.deepEqual(await codes(b.store, other.id), ["no_profile"]);
  const gpu = await add(b.store, "train", { assignee: "coder", needs: ["gpu"] });
  const w = await b.store.why(gpu.id);
  assert.deepEqual(w.reasons.map((r) => r.code), ["labels"]);
  assert.deepEqual(w.reasons[0]!.detail["offered"], [{ host: "mac", labels: ["macos"] }]);
  const mac = await add(b.store, "build", { assignee: "coder", needs: ["macos"] });
  assert.deepEqual(await codes(b.store, mac.id), []);
});

conformance(
  "why: the profile's cap counts every host's runs; full, draining and pressed hosts hold it",
  async (drv) => {
    await using b = await drv.fresh();
    await host(b.store, "d1", "mac", {});
    const first = await add(b.store, "one", { assignee: "coder" });
    const second = await add(b.store, "two", { assignee: "coder" });
    await claimId(b.store, first.id);
    const w = await b.store.why(second.id);
    assert.deepEqual(w.reasons.map((r) => r.code), ["profile_cap"]);
    assert.deepEqual(w.reasons[0]!.detail, { profile: "coder", running: 1, max: 1 });
    assert.match(
      w.reasons[0]!.message,
      /profile "coder" is at its cap: 1 running of max_concurrent 1/,
    );

    await host(b.store, "d1", "mac", {
      profiles: { coder: { max_concurrent: 5 } },
      workers: 4,
      max_workers: 4,
    });
    assert.deepEqual(await codes(b.store, second.id), ["host_full"]);
    await host(b.store, "d2", "gpu", {
      profiles: { coder: { max_concurrent: 5 } },
      pressure: { held: true, reason: "memory", detail: "free memory 100MB is under 10%" },
    });
    const both = await b.store.why(second.id);
    assert.deepEqual(both.reasons.map((r) => r.code), ["pressure", "host_full"]);
    assert.match(both.reasons[0]!.message, /gpu \(free memory 100MB is under 10%\)/);
    await host(b.store, "d3", "big", {
      profiles: { coder: { max_concurrent: 5 } },
      draining: true,
    });
    assert.deepEqual(await codes(b.store, second.id), ["pressure", "host_full", "draining"]);
    await host(b.store, "d4", "spare", { profiles: { coder: { max_concurrent: 5 } } });
    assert.deepEqual(await codes(b.store, second.id), [], "one host has room");
  },
);

conformance("why: triage, blocked and running tasks say what they wait for or do", async (drv) => {
  await using b = await drv.fresh();
  const tri = await add(b.store, "idea", { triage: true });
  assert.deepEqual(await codes(b.store, tri.id), ["triage"]);
  const blk = await add(b.store, "stuck", { assignee: "coder" });
  await b.store.block(blk.id, "which database?", HUMAN);
  const w = await b.store.why(blk.id);
  assert.deepEqual(w.reasons.map((r) => r.code), ["blocked"]);
  assert.match(w.summary, /blocked: which database\?/);
  const run = await add(b.store, "go", { assignee: "coder" });
  await claimId(b.store, run.id);
  const r = await b.store.why(run.id);
  assert.deepEqual([r.waiting, r.reasons, r.summary], [false, [], "running now"]);
  await assert.rejects(b.store.why("t_ffffffff"), /No task matches "t_ffffffff"/);
});

conformance(
  "recordHeld appends a held event to a ready task only; why shows the last one",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "job", { assignee: "coder" });
    const input = { reason: "profile_cap", host: "mac", detail: "1 of 1" };
    assert.equal(await b.store.recordHeld(t.id, input, DISPATCHER), true);
    assert.deepEqual(await b.store.lastHeld(t.id), input);
    const w = await b.store.why(t.id);
    assert.deepEqual(w.last_held?.data, input);
    await claimId(b.store, t.id);
    assert.equal(await b.store.recordHeld(t.id, input, DISPATCHER), false, "running: none");
    const events = (await b.store.showTask(t.id)).events.filter((e) => e.kind === "held");
    assert.equal(events.length, 1);
  },
);
