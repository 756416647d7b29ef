/**
 * deliver(): a worker's report is tried again while the board is out of reach, with capped
 * backoff, until it is answered or the run's lease is spent; a refusal is never tried again;
 * an undelivered report is left in the run's report file. The clock and the waits are fakes.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { deliver, type Delivery, MAX_RETRY_MS } from "../../lib/tools/deliver.ts";
import {
  BusyError,
  KanbanError,
  StaleLeaseError,
  transientReason,
  UndeliveredError,
  ValidationError,
} from "../../lib/store/mod.ts";
import { readPendingReport } from "../../lib/pending_report.ts";
import { errorFromWire, errorToWire } from "../../lib/store/worker_calls.ts";
import { tempDir } from "../_setup.ts";

function fake(leaseMs: number, reportFile: string | null = null) {
  let mono = 0;
  const waits: number[] = [];
  const lines: string[] = [];
  const d: Delivery = {
    leaseMs,
    reportFile,
    run: 7,
    mono: () => mono,
    sleep: (ms) => {
      waits.push(ms);
      mono += ms;
      return Promise.resolve();
    },
    log: (l) => lines.push(l),
  };
  return { d, waits, lines, pass: (ms: number) => (mono += ms) };
}

const REPORT = { task: "t_0000abcd", kind: "complete" as const, input: { summary: "done" } };
const busy = () => new BusyError("/b/board.db", 10_000);

Deno.test("deliver() tries again while the board is busy, and returns the answer once it comes", async () => {
  const f = fake(120_000);
  let tries = 0;
  const result = await deliver(REPORT, () => {
    tries++;
    return tries < 4 ? Promise.reject(busy()) : Promise.resolve("ok");
  }, f.d);
  assert.equal(result, "ok");
  assert.equal(tries, 4);
  assert.deepEqual(f.waits, [250, 500, 1000]);
  assert.equal(f.lines.length, 3);
  assert.match(f.lines[0]!, /^kanban: complete of task "t_0000abcd" not delivered \(try 1: /);
});

Deno.test("deliver() keeps the report in the report file while it retries, and removes it once answered", async () => {
  using tmp = tempDir("kanban-deliver-");
  const file = join(tmp.dir, "run-7.report.json");
  for (const answer of ["ok", "refused"] as const) {
    const f = fake(120_000, file);
    let tries = 0;
    let waiting: unknown = null;
    const result = deliver(REPORT, () => {
      tries++;
      // a worker stopped now (its host cut off, its dispatcher gone) leaves this file
      if (tries === 3) waiting = readPendingReport(file);
      if (tries < 3) return Promise.reject(busy());
      return answer === "ok" ? Promise.resolve("ok") : Promise.reject(new ValidationError("no"));
    }, f.d);
    if (answer === "ok") assert.equal(await result, "ok");
    else await assert.rejects(result, ValidationError);
    assert.equal(typeof waiting, "object");
    assert.equal((waiting as { kind: string; run: number }).kind, "complete");
    assert.equal((waiting as { kind: string; run: number }).run, 7);
    assert.equal(existsSync(file), false, `removed once ${answer}`);
  }
  // delivered at the first try: no file is ever written
  const f = fake(120_000, file);
  assert.equal(await deliver(REPORT, () => Promise.resolve("ok"), f.d), "ok");
  assert.equal(existsSync(file), false);
});

Deno.test("deliver() never tries a refusal again", async () => {
  for (const refusal of [new StaleLeaseError("ended"), new ValidationError("bad")]) {
    const f = fake(120_000);
    let tries = 0;
    await assert.rejects(
      deliver(REPORT, () => {
        tries++;
        return Promise.reject(refusal);
      }, f.d),
      (e) => e === refusal,
    );
    assert.equal(tries, 1);
  }
});

Deno.test("deliver() caps its backoff and gives up when the lease is spent, leaving the report", async () => {
  using tmp = tempDir("kanban-deliver-");
  const file = join(tmp.dir, "run-7.report.json");
  const f = fake(60_000, file);
  const err = await deliver(REPORT, () => {
    f.pass(1_000); // each try waits a while for the lock itself
    return Promise.reject(busy());
  }, f.d).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof UndeliveredError, String(err));
  assert.equal(err.code, "undelivered");
  assert.match(err.message, /within its lease \(60 s, \d+ tries\)/);
  assert.match(err.message, /saved to .*run-7\.report\.json: the dispatcher delivers it/);
  assert.ok(Math.max(...f.waits) <= MAX_RETRY_MS);
  assert.ok(f.waits.includes(MAX_RETRY_MS));
  const saved = readPendingReport(file);
  assert.ok(saved !== null && typeof saved === "object");
  assert.deepEqual(
    { task: saved.task, run: saved.run, kind: saved.kind, input: saved.input },
    { task: REPORT.task, run: 7, kind: "complete", input: { summary: "done" } },
  );
  assert.match(saved.error, /stayed locked/);
});

Deno.test("deliver() without a report file says nothing was saved", async () => {
  const f = fake(1_000);
  const err = await deliver(REPORT, () => Promise.reject(busy()), f.d).catch((e) => e);
  assert.ok(err instanceof UndeliveredError);
  assert.match(err.message, /nothing was saved \(KANBAN_REPORT_FILE is not set\)/);
  assert.equal(existsSync("run-7.report.json"), false);
});

Deno.test("transientReason() names passing failures to reach the board, and nothing else", () => {
  const withCode = (code: string, message = "x") => Object.assign(new Error(message), { code });
  const transient: unknown[] = [
    busy(),
    new KanbanError("io_error", "disk I/O error"),
    new Error("database is locked"),
    withCode("ECONNREFUSED"),
    withCode("ECONNRESET"),
    withCode("ETIMEDOUT"),
    withCode("08006"),
    withCode("57P01"),
    withCode("40001"),
    new Error("wrapped", { cause: withCode("ECONNRESET") }),
    new KanbanError("dispatcher_unavailable", "no dispatcher answers on its socket"),
    new KanbanError("board_unavailable", "the database did not answer"),
    errorFromWire(errorToWire(withCode("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"))),
  ];
  for (const e of transient) assert.notEqual(transientReason(e), null, String(e));
  const answers: unknown[] = [
    new StaleLeaseError("ended"),
    new ValidationError("bad"),
    new KanbanError("not_found", "no task"),
    new KanbanError("read_only", "read-only"),
    withCode("23505"),
    withCode("ENOENT"),
    new Error("boom"),
    errorFromWire(errorToWire(new Error("boom"))),
    "a string",
    null,
  ];
  for (const e of answers) assert.equal(transientReason(e), null, String(e));
});
