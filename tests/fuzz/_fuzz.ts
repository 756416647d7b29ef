/**
 * What both fuzz tests share: how many cases to run (KANBAN_FUZZ_RUNS) and from which seed
 * (KANBAN_FUZZ_SEED), a board with a task in every status to aim at, the health check run
 * on it every so often, and the test that output carries no stack trace.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type fc from "fast-check";
import type { Claim, Store } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";

/** How often (in cases) the board's invariants and integrity are checked during a run. */
export const CHECK_EVERY = 500;

function envInt(name: string): number | undefined {
  const v = Deno.env.get(name);
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}="${v}" is not an integer`);
  return n;
}

/** fuzzRuns: how many cases a fuzz test runs, $KANBAN_FUZZ_RUNS or `fallback`. */
export function fuzzRuns(fallback: number): number {
  return envInt("KANBAN_FUZZ_RUNS") ?? fallback;
}

/**
 * fuzzParams: `numRuns` cases, from $KANBAN_FUZZ_SEED when set so that a failure's printed
 * seed replays it. A case that runs longer than `timeoutMs` fails (a hang).
 */
export function fuzzParams<T>(numRuns: number, timeoutMs = 15_000): fc.Parameters<T> {
  const seed = envInt("KANBAN_FUZZ_SEED");
  return { numRuns, timeout: timeoutMs, ...(seed !== undefined ? { seed } : {}) };
}

export interface SeededBoard {
  /** One task in each status (and a todo child of an open parent). */
  ids: string[];
  /** The claim of the running task: a worker's task id and lease token. */
  claim: Claim;
}

/**
 * seedBoard gives the board a task in every status, with links, comments and runs; the
 * running task's run has a worker log in `logDir` (a rotated part too, and bytes that are
 * not UTF-8), as if the dispatcher had started it on another host.
 */
export async function seedBoard(store: Store, logDir: string): Promise<SeededBoard> {
  const add = async (title: string, input: Record<string, unknown> = {}) =>
    (await store.createTask({ title, ...input }, HUMAN)).task.id;
  const parent = await add("parent", { assignee: "coder", tenant: "acme", priority: 5 });
  const child = await add("child", { parents: [parent], body: "# waits\n" });
  const triage = await add("idea", { triage: true });
  const later = await add("later", { not_before: Date.parse("2099-01-01T00:00:00Z") });
  const running = await add("running", { assignee: "coder" });
  const claim = (await store.claim({ taskId: running, profile: "coder" }, DISPATCHER))!;
  await store.comment(running, "on it", { name: "coder-1", token: claim.token });
  const log = join(logDir, "run.log");
  writeFileSync(`${log}.1`, "older part\n");
  writeFileSync(log, new Uint8Array([...new TextEncoder().encode("working\n\0😀"), 0xff, 0xfe]));
  await store.recordSpawn(claim.run.id, {
    pid: 999_999,
    pid_start_time: null,
    host: "elsewhere.invalid",
    log_path: log,
    workspace: null,
  }, DISPATCHER);
  const flaky = await add("flaky");
  const f = (await store.claim({ taskId: flaky, profile: "coder" }, DISPATCHER))!;
  await store.endRun(f.run.id, { outcome: "crashed" }, DISPATCHER);
  const reviewed = await add("reviewed", { review_required: true });
  await store.complete(reviewed, { summary: "check" }, HUMAN);
  const done = await add("done");
  await store.complete(done, { summary: "ok", metadata: { pr: 1 } }, HUMAN);
  const held = await add("held");
  await store.block(held, "question", HUMAN);
  const gone = await add("gone");
  await store.cancel(gone, "no", HUMAN);
  const away = await add("away");
  await store.archive(away, HUMAN);
  await store.addSubscription({ kind: "command", target: "true" }, HUMAN);
  const ids = [parent, child, triage, later, running, flaky, reviewed, done, held, gone, away];
  return { ids, claim };
}

/** assertHealthy fails when the board breaks an invariant or SQLite's integrity checks. */
export async function assertHealthy(store: Store, when: string): Promise<void> {
  assert.deepEqual(await store.checkInvariants(), [], `invariants ${when}`);
  assert.deepEqual(await store.integrityCheck(), [], `integrity ${when}`);
}

/**
 * A stack frame as V8 prints it: `    at fn (file:///x.ts:12:3)`. Blanks, not `\s`: a body of
 * a million newlines must not send the search quadratic.
 */
const FRAME = /^[ \t]*at .*:\d+:\d+\)?[ \t]*$/m;
/** Names of JavaScript errors that only a bug lets through to a user. */
const JS_ERROR = /\b(TypeError|ReferenceError|RangeError|SqliteError)\b|\[object Object\]/;

/** assertNoLeak fails when `text` shows a stack trace, an internal error or a raw JS error. */
export function assertNoLeak(text: string, what: string): void {
  assert.ok(!FRAME.test(text), `${what} shows a stack trace`);
  assert.ok(!/internal error/i.test(text), `${what} reports an internal error`);
  assert.ok(!JS_ERROR.test(text), `${what} shows a raw JavaScript error`);
}
