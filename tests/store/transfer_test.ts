/**
 * Board export and import (lib/store/transfer.ts), through the Store API only: a board with
 * every kind of row survives export, import into a fresh board and export again byte for byte
 * (the header's time and source aside), bad streams are refused with the line and the reason
 * and leave the target as it was, and the imported board goes on working.
 */
import assert from "node:assert/strict";
import { FORMAT_VERSION, KanbanError, type Store } from "../../lib/store/mod.ts";
import { lines } from "../../lib/lines.ts";
import { emptyUsage } from "../../lib/store/usage.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { conformance } from "./_drivers.ts";
import { add, claimId, finishedParent, worker } from "./_helpers.ts";
import { boardState } from "./_helpers.ts";

/** exported writes the board's export into a string. */
async function exported(store: Store): Promise<string> {
  let out = "";
  await store.exportBoard((chunk) => {
    out += chunk;
  });
  return out;
}

/** imported reads `text` into `store` as an import would read a file. */
function imported(store: Store, text: string) {
  async function* one() {
    yield text;
  }
  return store.importBoard(lines(one(), "test.jsonl"), { name: "test.jsonl" });
}

/** body is the stream without its header (whose time and source differ by design). */
function body(text: string): string {
  return text.slice(text.indexOf("\n") + 1);
}

/** richBoard makes a board with a row of every kind and every status, on a moving clock. */
async function richBoard(b: { store: Store; clock: { advance(ms: number): void } }) {
  const s = b.store;
  const tick = () => b.clock.advance(1_000);
  const { parent, child } = await finishedParent(s);
  tick();
  await add(s, "idea", { triage: true, body: "# markdown\n\nwith `code` and ünïcode ✓" });
  await add(s, "later", { not_before: Date.parse("2030-01-01T00:00:00Z"), tenant: "acme" });
  tick();
  const running = await add(s, "running", {
    assignee: "coder",
    skills: ["ts", "sql"],
    priority: 5,
    idempotency_key: "k-1",
  });
  const c = await claimId(s, running.id);
  await s.recordSpawn(c.run.id, {
    pid: 4242,
    pid_start_time: 99,
    host: "h1",
    log_path: "/logs/run.log",
    workspace: "/ws/x",
  }, DISPATCHER);
  await s.heartbeat(running.id, worker(c), "half");
  await s.comment(running.id, "on it", worker(c));
  await s.attach(running.id, {
    name: "every byte.bin",
    content: new Uint8Array(300).map((_, i) => i % 256),
  }, worker(c));
  await s.attach(
    running.id,
    { name: "spec.md", content: new TextEncoder().encode("# spec ✓\n") },
    HUMAN,
  );
  await s.attach(child.id, { name: "empty", content: new Uint8Array(0) }, HUMAN);
  tick();
  const flaky = await add(s, "flaky", { max_runtime_seconds: 60 });
  const f = await claimId(s, flaky.id);
  await s.endRun(f.run.id, {
    outcome: "crashed",
    exit_code: 3,
    error: "segfault",
    usage: { ...emptyUsage("output"), input_tokens: 7, output_tokens: 1, models: ["m-1"] },
  }, DISPATCHER);
  tick();
  const used = await add(s, "used", { review_required: true });
  const u = await claimId(s, used.id);
  await s.complete(used.id, {
    summary: "did it",
    metadata: { files: 2 },
    result: "ok",
    usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.25 },
  }, worker(u));
  tick();
  const held = await add(s, "held");
  await s.block(held.id, "question?", HUMAN);
  const gone = await add(s, "gone");
  await s.cancel(gone.id, "no longer", HUMAN);
  const old = await add(s, "old");
  await s.complete(old.id, { summary: "x" }, HUMAN);
  await s.archive(old.id, HUMAN);
  await s.link(running.id, held.id, HUMAN);
  await s.requestDispatch(HUMAN); // an event of no task
  const sub = await s.addSubscription({ kind: "command", target: "/bin/true" }, HUMAN);
  await s.addSubscription({
    kind: "webhook",
    target: "https://example.com/hook",
    secret: "s3cret",
    kinds: ["completed"],
  }, HUMAN);
  tick();
  await s.comment(child.id, "after the subscription", HUMAN);
  await s.markFailed(sub.id, "exit 1", 123, false);
  await s.addRoutine({
    name: "nightly",
    cron: "30 2 * * *",
    tz: "Europe/Paris",
    task: { title: "Nightly check", assignee: "coder", needs: ["gpu"] },
    catch_up: "all",
    max_catch_up: 3,
  }, HUMAN);
  await s.addRoutine({
    name: "weekly",
    cron: "0 9 * * 1",
    tz: "UTC",
    template: { name: "release", nodes: [{ ref: "a", task: { title: "A" } }] },
  }, HUMAN);
  await s.pauseRoutine("weekly");
  await s.runRoutineNow("nightly", "first");
  await s.addBudget({
    name: "daily-tokens",
    scope: "profile",
    target: "coder",
    metric: "cost_usd",
    cap: 12.5,
    period: "hours",
    hours: 5,
    hard: false,
  }, HUMAN);
  return { parent, child, running, held, run: c.run.id };
}

conformance("export, import into a fresh board, export again: the same bytes", async (d) => {
  await using src = await d.fresh();
  const rich = await richBoard(src);
  const richIds = { running: rich.running.id, run: rich.run };
  const first = await exported(src.store);
  await using dst = await d.fresh();
  const report = await imported(dst.store, first);
  const second = await exported(dst.store);
  assert.equal(body(second), body(first));
  assert.deepEqual(await boardState(dst.store), await boardState(src.store));
  const header = JSON.parse(first.slice(0, first.indexOf("\n")));
  assert.equal(header.kanban, "board-export");
  assert.equal(header.version, FORMAT_VERSION);
  assert.equal(header.source.driver, d.name);
  const kinds = first.trim().split("\n").slice(1, -1).map((l) => JSON.parse(l).type);
  assert.deepEqual([...new Set(kinds)], [
    "task",
    "link",
    "run",
    "comment",
    "attachment",
    "event",
    "subscription",
    "routine",
    "budget",
  ]);
  assert.equal(report.counts.routine, 2);
  assert.equal(report.counts.budget, 1);
  // the definitions (what a window spent depends on each board's clock)
  const defs = async (s: Store) =>
    (await s.budgets()).map(({ spent: _s, window_start: _w, in_flight: _i, state: _t, ...b }) => b);
  assert.deepEqual(await defs(dst.store), await defs(src.store));
  assert.deepEqual(await dst.store.listRoutines(), await src.store.listRoutines());
  assert.equal(report.counts.attachment, 3);
  for (const t of [src, dst]) {
    const got = await t.store.attachment(richIds.running, "every byte.bin");
    assert.deepEqual(got.content, new Uint8Array(300).map((_, i) => i % 256));
    assert.equal(got.attachment.run_id, richIds.run);
  }
  assert.deepEqual(
    await dst.store.attachments(richIds.running),
    await src.store.attachments(richIds.running),
  );
  assert.equal(report.counts.task, kinds.filter((k) => k === "task").length);
  assert.ok(report.counts.subscription === 2 && report.counts.run === 4);
  assert.deepEqual(await dst.store.checkInvariants(), []);
});

conformance("a version 1 export (before routines and typed blocks) still imports", async (d) => {
  await using src = await d.fresh();
  await add(src.store, "one");
  const text = await exported(src.store);
  const recs = text.trim().split("\n").map((l) => JSON.parse(l));
  recs[0].version = 1;
  const end = recs.at(-1);
  delete end.counts.routine;
  delete end.counts.budget;
  // a version 1 task has none of the fields version 2 added (typed blocks)
  for (const r of recs.filter((x) => x.type === "task")) {
    delete r.block_kind;
    delete r.blocked_on;
    delete r.block_counts;
  }
  const v1 = recs.map((l) => JSON.stringify(l)).join("\n") + "\n";
  await using dst = await d.fresh();
  const r = await imported(dst.store, v1);
  assert.equal(r.counts.task, 1);
  assert.equal(r.counts.routine, 0);
  const [task] = await dst.store.listTasks({});
  assert.equal((await dst.store.getTask(task!.id)).block_kind, null);
  // a version 2 task must carry them
  await refusedWith(
    d,
    text.replace(/,"block_counts":"\{\}"/, ""),
    "invalid_export",
    /a task record lacks the field "block_counts"/,
  );
  // a version 2 trailer must count its routines
  await refusedWith(
    d,
    text.replace(',"routine":0,', ","),
    "invalid_export",
    /the trailer counts undefined routine records/,
  );
});

conformance("an empty board exports a header and a trailer, and imports", async (d) => {
  await using src = await d.fresh();
  const text = await exported(src.store);
  assert.equal(text.trim().split("\n").length, 2);
  await using dst = await d.fresh();
  const r = await imported(dst.store, text);
  assert.equal(r.counts.task, 0);
  assert.equal(body(await exported(dst.store)), body(text));
});

conformance(
  "an imported board goes on: fresh ids past the imported ones, claims, completes",
  async (d) => {
    await using src = await d.fresh();
    const rich = await richBoard(src);
    const text = await exported(src.store);
    await using dst = await d.fresh();
    await imported(dst.store, text);
    const s = dst.store;
    const head = await src.store.eventHead();
    assert.equal(await s.eventHead(), head);
    const t = await add(s, "new work", { assignee: "coder" });
    const events = await s.eventsSince(head);
    assert.ok(events.length > 0 && events.every((e) => e.id > head));
    const c = await claimId(s, t.id);
    assert.ok(c.run.id > rich.run);
    await s.comment(t.id, "fresh", worker(c));
    const done = await s.complete(t.id, { summary: "done" }, worker(c));
    assert.equal(done.status, "done");
    // the imported running task's worker token still fences its task
    await s.heartbeat(rich.running.id, { name: "coder-1", token: runTokenOf(text, rich.run) });
    assert.deepEqual(await s.checkInvariants(), []);
  },
);

/** runTokenOf reads a run's lease token from an export (what the run's worker holds). */
function runTokenOf(text: string, runId: number): string {
  const line = text.split("\n").find((l) => l.startsWith('{"type":"run","id":' + runId + ","));
  return JSON.parse(line!).lease_token;
}

/** refusedWith imports `text` into a fresh board and checks the error and the board after. */
async function refusedWith(
  d: Parameters<Parameters<typeof conformance>[1]>[0],
  text: string,
  code: string,
  message: RegExp,
) {
  await using dst = await d.fresh();
  const before = await boardState(dst.store);
  const beforeExport = body(await exported(dst.store));
  await assert.rejects(imported(dst.store, text), (err: Error) => {
    assert.ok(err instanceof KanbanError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
  assert.deepEqual(await boardState(dst.store), before);
  assert.equal(body(await exported(dst.store)), beforeExport);
  // and the refused import left nothing that keeps a good one out
  await add(dst.store, "still works");
}

conformance("a truncated export is refused, and the target stays empty", async (d) => {
  await using src = await d.fresh();
  await richBoard(src);
  const all = (await exported(src.store)).trim().split("\n");
  // cut before the trailer
  await refusedWith(d, all.slice(0, -1).join("\n") + "\n", "invalid_export", /cut short/);
  // cut in the middle of a line
  const cut = all.slice(0, 6).join("\n") + "\n" + all[6]!.slice(0, 20);
  await refusedWith(d, cut, "invalid_export", /line 7: not valid JSON/);
  // a record dropped from the middle: the trailer's counts say so
  const dropped = [...all.slice(0, -2), all.at(-1)].join("\n");
  await refusedWith(d, dropped, "invalid_export", /trailer counts 1 budget records/);
});

conformance("bad JSON on line N is refused naming line N", async (d) => {
  await using src = await d.fresh();
  await richBoard(src);
  const all = (await exported(src.store)).trim().split("\n");
  all[4] = "{not json";
  await refusedWith(d, all.join("\n"), "invalid_export", /test\.jsonl: line 5: not valid JSON/);
});

conformance("an unknown record type, field or value is refused naming its line", async (d) => {
  await using src = await d.fresh();
  await richBoard(src);
  const all = (await exported(src.store)).trim().split("\n");
  const swap = (n: number, f: (r: Record<string, unknown>) => Record<string, unknown>) =>
    all.map((l, i) => (i === n - 1 ? JSON.stringify(f(JSON.parse(l))) : l)).join("\n");
  await refusedWith(
    d,
    swap(3, (r) => ({ ...r, type: "widget" })),
    "invalid_export",
    /line 3: unknown record type "widget"/,
  );
  await refusedWith(
    d,
    swap(2, (r) => ({ ...r, colour: "red" })),
    "invalid_export",
    /line 2: a task record has an unknown field "colour"/,
  );
  await refusedWith(
    d,
    swap(2, (r) => ({ ...r, status: "runing" })),
    "invalid_export",
    /line 2: field "status" of a task record is "runing", expected one of/,
  );
  await refusedWith(
    d,
    swap(2, (r) => {
      const { priority: _p, ...rest } = r;
      return rest;
    }),
    "invalid_export",
    /line 2: a task record lacks the field "priority"/,
  );
  const linkLine = all.findIndex((l) => l.startsWith('{"type":"link"')) + 1;
  await refusedWith(
    d,
    swap(linkLine, (r) => ({ ...r, parent_id: "t_00000000" })),
    "invalid_export",
    new RegExp(`line ${linkLine}: the link's parent_id t_00000000 names no task of the file`),
  );
  // records out of the format's order: the link moved after the first run
  const moved = [...all];
  const [link] = moved.splice(linkLine - 1, 1);
  const firstRun = moved.findIndex((l) => l.startsWith('{"type":"run"'));
  moved.splice(firstRun + 1, 0, link!);
  await refusedWith(
    d,
    moved.join("\n"),
    "invalid_export",
    new RegExp(`line ${firstRun + 2}: a link record after run records`),
  );
});

conformance("a newer format version is refused with a clear message", async (d) => {
  await using src = await d.fresh();
  await add(src.store, "one");
  const text = await exported(src.store);
  const header = JSON.parse(text.slice(0, text.indexOf("\n")));
  const v = FORMAT_VERSION + 1;
  const newer = JSON.stringify({ ...header, version: v }) + "\n" + body(text);
  await refusedWith(
    d,
    newer,
    "export_too_new",
    new RegExp(`format version ${v}, written by a newer`),
  );
  await refusedWith(d, body(text), "invalid_export", /line 1: not a board export/);
  await refusedWith(d, "", "invalid_export", /the export is empty/);
});

conformance(
  "an import into a board that holds anything is refused, the board unchanged",
  async (d) => {
    await using src = await d.fresh();
    await add(src.store, "one");
    const text = await exported(src.store);
    await using dst = await d.fresh();
    await add(dst.store, "already here");
    const before = await boardState(dst.store);
    await assert.rejects(imported(dst.store, text), (err: Error) => {
      assert.ok(err instanceof KanbanError);
      assert.equal(err.code, "board_not_empty");
      assert.match(err.message, /already holds 1 task, 1 event/);
      return true;
    });
    assert.deepEqual(await boardState(dst.store), before);
  },
);

conformance("export pages through a board larger than a page, in key order", async (d) => {
  await using src = await d.fresh();
  const inputs = Array.from({ length: 230 }, (_, i) => ({ title: `task ${i}` }));
  await src.store.createTasks(inputs, HUMAN);
  const text = await exported(src.store);
  const ids = text.trim().split("\n").slice(1, -1).map((l) => JSON.parse(l))
    .filter((r) => r.type === "task").map((r) => r.id as string);
  assert.equal(ids.length, 230);
  assert.deepEqual(ids, [...ids].sort());
  await using dst = await d.fresh();
  await imported(dst.store, text);
  assert.equal(body(await exported(dst.store)), body(text));
});

conformance("ids go on past the source's sequences, even past pruned events", async (d) => {
  await using src = await d.fresh();
  const t = await add(src.store, "finished");
  await src.store.comment(t.id, "a note", HUMAN);
  await src.store.complete(t.id, { summary: "x" }, HUMAN);
  await src.store.archive(t.id, HUMAN);
  src.clock.advance(1_000);
  const pruned = await src.store.pruneEvents(0);
  assert.ok(pruned.events > 0, "the archived event at the head was pruned");
  const text = await exported(src.store);
  const records = text.trim().split("\n").map((l) => JSON.parse(l));
  const events = records.filter((r) => r.type === "event").map((r) => r.id as number);
  assert.ok(records.at(-1).sequences.event > Math.max(...events), "the head event is gone");
  await using dst = await d.fresh();
  await imported(dst.store, text);
  assert.equal(body(await exported(dst.store)), body(text));
  const a = await src.store.createTask({ title: "next" }, HUMAN);
  const b = await dst.store.createTask({ title: "next" }, HUMAN);
  const firstNew = async (s: Store, id: string) => (await s.showTask(id)).events[0]!.id;
  assert.equal(await firstNew(dst.store, b.task.id), await firstNew(src.store, a.task.id));
});

conformance("a record the board refuses rolls back everything imported before it", async (d) => {
  await using src = await d.fresh();
  await richBoard(src);
  const all = (await exported(src.store)).trim().split("\n");
  const runs = all.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('{"type":"run"'));
  const [firstRun] = runs;
  const [, last] = runs.at(-1)!;
  // two runs with one lease token: only the board's unique key sees it
  const copy = { ...JSON.parse(all[last]!), lease_token: JSON.parse(firstRun![0]).lease_token };
  all[last] = JSON.stringify(copy);
  await refusedWith(
    d,
    all.join("\n"),
    "invalid_export",
    new RegExp(`lines ${firstRun![1] + 1}-${last + 1}: the board refused a run record`),
  );
});

conformance("a running task whose run is not in the file is refused", async (d) => {
  await using src = await d.fresh();
  const rich = await richBoard(src);
  const all = (await exported(src.store)).trim().split("\n");
  const at = all.findIndex((l) => l.startsWith(`{"type":"run","id":${rich.run},`));
  const moved = all.map((l, i) => {
    if (i !== at) return l;
    return JSON.stringify({ ...JSON.parse(l), task_id: rich.held.id });
  });
  const taskLine = all.findIndex((l) => l.includes(`"id":"${rich.running.id}"`)) + 1;
  await refusedWith(
    d,
    moved.join("\n"),
    "invalid_export",
    new RegExp(`line ${taskLine}: task ${rich.running.id} is running in run ${rich.run}`),
  );
});

conformance("a format version 1 stream (before attachments) still imports", async (d) => {
  await using src = await d.fresh();
  await add(src.store, "one");
  const text = await exported(src.store);
  const rows = text.trim().split("\n").map((l) => JSON.parse(l));
  const head = { ...rows[0], version: 1 };
  const end = rows.at(-1);
  delete end.counts.attachment;
  delete end.sequences.attachment;
  const v1 = [head, ...rows.slice(1, -1), end].map((r) => JSON.stringify(r)).join("\n") + "\n";
  await using dst = await d.fresh();
  const r = await imported(dst.store, v1);
  assert.equal(r.counts.task, 1);
  assert.equal(r.counts.attachment, 0);
  // a version 2 stream must count its attachments
  const v2 = [rows[0], ...rows.slice(1, -1), end].map((r) => JSON.stringify(r)).join("\n");
  await refusedWith(d, v2 + "\n", "invalid_export", /the trailer counts undefined attachment/);
});

conformance(
  "an attachment whose content does not match its size or sha256 is refused",
  async (d) => {
    await using src = await d.fresh();
    const t = await add(src.store, "one");
    await src.store.attach(
      t.id,
      { name: "a.txt", content: new TextEncoder().encode("hello") },
      HUMAN,
    );
    const text = await exported(src.store);
    const line = text.split("\n").findIndex((l) => l.includes('"type":"attachment"'));
    const swap = (f: (r: Record<string, unknown>) => void) => {
      const ls = text.split("\n");
      const r = JSON.parse(ls[line]!);
      f(r);
      ls[line] = JSON.stringify(r);
      return ls.join("\n");
    };
    const n = line + 1;
    await refusedWith(
      d,
      swap((r) => r.content = btoa("jello")),
      "invalid_export",
      new RegExp(`line ${n}: attachment \\d+'s content does not match its sha256`),
    );
    await refusedWith(
      d,
      swap((r) => r.content = btoa("hello!")),
      "invalid_export",
      new RegExp(`line ${n}: attachment \\d+ says it is 5 bytes; its content is 6`),
    );
    await refusedWith(
      d,
      swap((r) => r.content = "not base64!"),
      "invalid_export",
      /field "content" of a attachment record is "not base64!", expected bytes in base64/,
    );
  },
);
