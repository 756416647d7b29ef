/**
 * Helpers shared by the store tests (and tests of other folders): make tasks, claim them,
 * collect event kinds, and read everything a board holds through the Store API. Driver-neutral:
 * the raw SQLite helpers (snapshot, rawDb) are in tests/store/sqlite/_raw.ts.
 */
import assert from "node:assert/strict";
import type {
  Actor,
  Claim,
  CreateTaskInput,
  Run,
  Store,
  Task,
  TaskEvent,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";

/** add creates a task as the test's person and returns it. */
export async function add(
  store: Store,
  title: string,
  input: Omit<CreateTaskInput, "title"> = {},
): Promise<Task> {
  return (await store.createTask({ title, ...input }, HUMAN)).task;
}

/** claimId claims exactly task `id` for the dispatcher; the test fails if nothing is claimed. */
export async function claimId(store: Store, id: string, profile = "coder"): Promise<Claim> {
  const c = await store.claim({ taskId: id, profile }, DISPATCHER);
  assert.ok(c, `claim of ${id} returned null`);
  return c;
}

/** worker is the actor of the process that holds claim `c`. */
export function worker(c: Claim, name = "coder-1"): Actor {
  return { name, token: c.token };
}

/** eventKinds lists the kinds of a task's events, oldest first. */
export async function eventKinds(store: Store, id: string): Promise<string[]> {
  return (await store.showTask(id)).events.map((e) => e.kind);
}

/** finishedParent makes a done task with a busy history and a handoff, and its ready child. */
export async function finishedParent(store: Store) {
  const parent = await add(store, "schema", { assignee: "coder" });
  const child = await add(store, "api", { parents: [parent.id] });
  const c = await claimId(store, parent.id);
  await store.heartbeat(parent.id, worker(c), "halfway");
  await store.comment(parent.id, "made the tables", worker(c));
  await store.complete(
    parent.id,
    { summary: "users and sessions tables", metadata: { tables: 2 } },
    worker(c),
  );
  return { parent, child, run: c.run.id };
}

/** busyBoard builds a board with every status and a few runs, comments and links. */
export async function busyBoard(b: { store: Store; clock: { now(): number } }) {
  const s = b.store;
  const parent = await add(s, "parent");
  const child = await add(s, "child", { parents: [parent.id] });
  await add(s, "idea", { triage: true });
  await add(s, "later", { not_before: b.clock.now() + 60_000 });
  const running = await add(s, "running");
  const c = await claimId(s, running.id);
  await s.heartbeat(running.id, worker(c));
  await s.comment(running.id, "on it", worker(c));
  const flaky = await add(s, "flaky");
  const f = await claimId(s, flaky.id);
  await s.endRun(f.run.id, { outcome: "crashed" }, DISPATCHER);
  const reviewed = await add(s, "reviewed", { review_required: true });
  await s.complete(reviewed.id, { summary: "check" }, HUMAN);
  const held = await add(s, "held");
  await s.block(held.id, "question", HUMAN);
  const gone = await add(s, "gone");
  await s.cancel(gone.id, "no", HUMAN);
  return { parent, child, running, run: c.run.id, flaky, held };
}

/** Everything a board holds, as boardState reads it through the Store API. */
export interface BoardState {
  tasks: Awaited<ReturnType<Store["showTask"]>>[];
  runs: (Run & { token: string | null })[];
  events: TaskEvent[];
}

/** The most rows boardState reads of any one kind; a test board stays far below it. */
const ALL = 1_000_000;

/**
 * boardState reads everything the board's five kinds of rows hold (tasks, links, runs with
 * their lease tokens, comments, events) through the Store API, in a stable order: a test
 * compares two of them to check that a refused write committed nothing, on any driver.
 */
export async function boardState(store: Store): Promise<BoardState> {
  const ids = (await store.listTasks({ archived: true })).map((t) => t.id).sort();
  const tasks = [];
  for (const id of ids) tasks.push(await store.showTask(id, ALL));
  const runs = [];
  for (const run of (await store.listRuns(undefined, ALL)).reverse()) {
    runs.push({ ...run, token: await store.runToken(run.id) });
  }
  return { tasks, runs, events: await store.eventsSince(0, ALL) };
}
