/**
 * Property test of the store kernel: random sequences of every operation (people, workers with
 * right, stale, foreign and forged lease tokens, the supervisor, the clock) on a real board.
 *
 * After every step the board's invariants must hold (`checkInvariants()` is empty). Each step
 * is also checked against a small oracle: what the transition table allows must succeed and
 * land where expected, what it forbids must be refused with a KanbanError, a worker write with
 * a token that is not the task's current run must be refused with StaleLeaseError and leave
 * every row untouched, and claims pick exactly the task the ordering rules name. Any error that
 * is not a KanbanError fails the property.
 *
 * Reproduce or widen a run with KANBAN_PROPERTY_SEED=<n> and KANBAN_PROPERTY_RUNS=<n>. The seed
 * fixes the operations; task ids and tokens stay random, so ties the store breaks by id (which
 * of two equal ready tasks a claim takes) can differ between runs of one seed.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canTransition,
  ConflictError,
  COUNTED_FAILURES,
  type CreateTaskInput,
  DEFAULT_OPTIONS,
  IllegalTransitionError,
  KanbanError,
  NotFoundError,
  type Outcome,
  type Run,
  StaleLeaseError,
  type Status,
  type Store,
  type TaskSummary,
  ValidationError,
} from "../../lib/store/mod.ts";
import { type FakeClock, HUMAN } from "../_setup.ts";
import { conformance } from "./_drivers.ts";
import { boardState } from "./_helpers.ts";

const SEED = Number(Deno.env.get("KANBAN_PROPERTY_SEED") ?? 20_260_101);
const RUNS = Number(Deno.env.get("KANBAN_PROPERTY_RUNS") ?? 100);
const MIN_OPS = 100;
const MAX_OPS = 250;
const WORKER = { name: "worker" };
const SUPERVISOR = { name: "dispatcher" };
/** The id operations aim at while the board has no task yet (they must be NotFound). */
const MISSING = "t_00000000";
const HOUR = 3_600_000;

// ---------------------------------------------------------------------------------------------
// Operations. Every reference to a task, link, run or token is an index, resolved against the
// board's current contents when the step runs, so that shrinking (dropping steps) stays valid.

type TokenKind = "current" | "stale" | "foreign" | "forged";
const WORKER_VERBS = ["heartbeat", "workerComment", "workerComplete", "workerBlock"] as const;
type WorkerVerb = (typeof WORKER_VERBS)[number];
const HUMAN_VERBS = [
  "humanComment",
  "humanComplete",
  "humanBlock",
  "unblock",
  "promote",
  "cancel",
  "archive",
  "unarchive",
  "reopen",
  "approve",
  "reject",
] as const;
type HumanVerb = (typeof HUMAN_VERBS)[number];
const END_OUTCOMES = [
  "crashed",
  "stalled",
  "timed_out",
  "lost",
  "no_report",
  "spawn_failed",
  "transient",
  "stopped",
  "failed",
  "completed", // not a supervisor outcome: endRun refuses it
] as const;

type Op =
  | {
    kind: "create";
    parents: number[];
    triage: boolean;
    notBefore: number | null;
    review: boolean;
    /** The task gets a reviewer profile: a worker's completion is a hand-in (reviews.ts). */
    reviewer: boolean;
    /** The task gets a completion gate (one or two rounds): a worker's completion waits for it. */
    gate: boolean;
    key: number | null;
    priority: number;
    assignee: string | null;
  }
  | { kind: "link"; parent: number; child: number }
  | { kind: "unlink"; existing: boolean; parent: number; child: number }
  | { kind: "claim"; byId: boolean; smart: boolean; t: number }
  | { kind: WorkerVerb; token: TokenKind; pick: number; t: number }
  | { kind: "workerCreate"; token: TokenKind; pick: number; t: number; key: number | null }
  | { kind: HumanVerb; smart: boolean; t: number }
  | { kind: "endRun"; open: boolean; pick: number; outcome: (typeof END_OUTCOMES)[number] }
  | { kind: "settleGate"; pick: number; pass: boolean }
  | { kind: "advance"; ms: number }
  | { kind: "promoteDue" }
  | { kind: "assign"; t: number; who: string | null }
  | { kind: "edit"; t: number; title: string | null; priority: number | null };

const index = fc.nat({ max: 1_000_000 });
/** Mostly aim at a task the operation can act on; sometimes at any task. */
const smart = fc.oneof(
  { arbitrary: fc.constant(true), weight: 4 },
  { arbitrary: fc.constant(false), weight: 1 },
);
const tokenKind = fc.constantFrom<TokenKind>(
  "current",
  "current",
  "current",
  "stale",
  "stale",
  "foreign",
  "forged",
);
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  w(
    12,
    fc.record({
      kind: fc.constant("create" as const),
      parents: fc.array(index, { maxLength: 3 }),
      triage: fc.oneof(w(4, fc.constant(false)), w(1, fc.constant(true))),
      notBefore: fc.oneof(
        w(5, fc.constant(null)),
        w(2, fc.integer({ min: -2 * HOUR, max: 0 })),
        w(3, fc.integer({ min: 1, max: 2 * HOUR })),
      ),
      review: fc.oneof(w(2, fc.constant(false)), w(1, fc.constant(true))),
      reviewer: fc.oneof(w(3, fc.constant(false)), w(1, fc.constant(true))),
      gate: fc.oneof(w(1, fc.constant(false)), w(1, fc.constant(true))),
      key: fc.oneof(w(3, fc.constant(null)), w(2, fc.integer({ min: 0, max: 3 }))),
      priority: fc.integer({ min: -2, max: 2 }),
      assignee: fc.constantFrom(null, "coder", "reviewer"),
    }),
  ),
  w(5, fc.record({ kind: fc.constant("link" as const), parent: index, child: index })),
  w(
    3,
    fc.record({
      kind: fc.constant("unlink" as const),
      existing: fc.boolean(),
      parent: index,
      child: index,
    }),
  ),
  w(
    12,
    fc.record({
      kind: fc.constant("claim" as const),
      byId: fc.oneof(w(2, fc.constant(false)), w(3, fc.constant(true))),
      smart,
      t: index,
    }),
  ),
  ...WORKER_VERBS.map((verb) =>
    w(
      4,
      fc.record({
        kind: fc.constant(verb),
        token: tokenKind,
        pick: index,
        t: index,
      }),
    )
  ),
  w(
    4,
    fc.record({
      kind: fc.constant("workerCreate" as const),
      token: tokenKind,
      pick: index,
      t: index,
      key: fc.oneof(w(3, fc.constant(null)), w(1, fc.integer({ min: 0, max: 3 }))),
    }),
  ),
  ...HUMAN_VERBS.map((verb) => w(2, fc.record({ kind: fc.constant(verb), smart, t: index }))),
  w(
    7,
    fc.record({
      kind: fc.constant("endRun" as const),
      open: fc.oneof(w(5, fc.constant(true)), w(1, fc.constant(false))),
      pick: index,
      outcome: fc.constantFrom(...END_OUTCOMES),
    }),
  ),
  w(
    4,
    fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 120_000 }), fc.integer({ min: 1, max: 2 * HOUR })),
    }),
  ),
  w(2, fc.record({ kind: fc.constant("promoteDue" as const) })),
  w(
    8,
    fc.record({ kind: fc.constant("settleGate" as const), pick: index, pass: fc.boolean() }),
  ),
  w(
    2,
    fc.record({
      kind: fc.constant("assign" as const),
      t: index,
      who: fc.constantFrom(null, "coder", "reviewer", "not a name!"),
    }),
  ),
  w(
    2,
    fc.record({
      kind: fc.constant("edit" as const),
      t: index,
      title: fc.constantFrom(null, "renamed", "  ", "two\nlines"),
      priority: fc.constantFrom(null, -1000, 3, 1000, 1001),
    }),
  ),
);

// ---------------------------------------------------------------------------------------------
// The world: what the test knows beyond the store (ids in creation order, the link set, the
// token of every run it opened) plus a fresh view of the board before each step.

interface Tally {
  ok: number;
  refused: number;
}

class World {
  readonly ids: string[] = [];
  /** `${parent} ${child}` for every link, mirrored from successful creates, links and unlinks. */
  readonly links = new Set<string>();
  readonly tokens = new Map<number, { token: string; task: string }>();
  tasks = new Map<string, TaskSummary>();
  open: Run[] = [];
  /** Tasks completed into review (for the review scenario). */
  readonly inReview = new Set<string>();

  constructor(
    readonly store: Store,
    readonly clock: FakeClock,
    readonly failureLimit: number,
  ) {}

  async refresh(): Promise<void> {
    const all = await this.store.listTasks({ archived: true });
    this.tasks = new Map(all.map((t) => [t.id, t]));
    this.open = await this.store.openRuns();
  }

  now(): number {
    return this.clock.now();
  }

  task(id: string): TaskSummary {
    const t = this.tasks.get(id);
    assert.ok(t, `task ${id} is on the board`);
    return t;
  }

  at(i: number): string {
    return this.ids.length === 0 ? MISSING : this.ids[i % this.ids.length]!;
  }

  /** pick chooses among tasks that `wants` when asked to be smart and any match, else any. */
  pick(i: number, smart: boolean, wants: (t: TaskSummary) => boolean): string {
    if (smart) {
      const fits = this.ids.filter((id) => wants(this.task(id)));
      if (fits.length > 0) return fits[i % fits.length]!;
    }
    return this.at(i);
  }

  satisfied(id: string): boolean {
    const p = this.task(id);
    return p.status === "done" || (p.status === "archived" && p.archived_from === "done");
  }

  parentsOf(id: string): string[] {
    return [...this.links].map((l) => l.split(" ")).filter(([, c]) => c === id).map(([p]) => p!);
  }

  /** derived is where a waiting task belongs now (readiness.ts, computed independently). */
  derived(id: string): Status {
    if (!this.parentsOf(id).every((p) => this.satisfied(p))) return "todo";
    const nb = this.task(id).not_before;
    return nb !== null && Date.parse(nb) > this.now() ? "scheduled" : "ready";
  }

  /** isAncestor tells whether `a` is reachable from `id` by following parents. */
  isAncestor(a: string, id: string): boolean {
    const seen = new Set<string>();
    const todo = this.parentsOf(id);
    while (todo.length > 0) {
      const p = todo.pop()!;
      if (p === a) return true;
      if (!seen.has(p)) {
        seen.add(p);
        todo.push(...this.parentsOf(p));
      }
    }
    return false;
  }

  keyHolder(key: string | null, except?: string): TaskSummary | undefined {
    if (key === null) return undefined;
    return [...this.tasks.values()].find((t) =>
      t.idempotency_key === key && t.status !== "archived" && t.id !== except
    );
  }

  /**
   * token picks a lease token of the asked kind and the task to use it on. `runId` is set only
   * when the token is the target's current run (the one case a fenced write must succeed);
   * `live` tells whether the token's run is open at all. Kinds that cannot be served yet
   * (no open or ended run) fall back to a forged token.
   */
  token(
    asked: TokenKind,
    pick: number,
    t: number,
  ): { token: string; target: string; runId: number | null; live: boolean } {
    const openIds = new Set(this.open.map((r) => r.id));
    const ended = [...this.tokens].filter(([id]) => !openIds.has(id));
    let kind = asked;
    if (kind === "current" && this.open.length === 0) kind = "forged";
    if (kind === "stale" && ended.length === 0) kind = "forged";
    if (kind === "foreign" && (this.open.length === 0 || this.ids.length < 2)) kind = "forged";
    if (kind === "current") {
      const run = this.open[pick % this.open.length]!;
      const token = this.tokens.get(run.id)!.token;
      return { token, target: run.task_id, runId: run.id, live: true };
    }
    if (kind === "stale") {
      // A finished run's token: preferably on its own task while a later run holds it
      // (the stale worker a fence exists for), else on its own task or on another one.
      const reclaimed = ended.filter(([, old]) => this.tasks.get(old.task)?.status === "running");
      const pool = t % 3 === 0 || reclaimed.length === 0 ? ended : reclaimed;
      const [, old] = pool[pick % pool.length]!;
      const target = t % 3 === 1 ? this.at(t) : old.task;
      if (target === old.task && this.tasks.get(target)?.status === "running") {
        saw("a stale token on its own task, re-claimed by a later run");
      }
      return { token: old.token, target, runId: null, live: false };
    }
    if (kind === "foreign") {
      // A live run's token used on a task it does not belong to.
      const run = this.open[pick % this.open.length]!;
      const others = this.ids.filter((id) => id !== run.task_id);
      saw("a live run's token on another task");
      const token = this.tokens.get(run.id)!.token;
      return { token, target: others[t % others.length]!, runId: null, live: true };
    }
    saw("a forged token");
    return { token: `forged-${pick}-${t}`, target: this.at(t), runId: null, live: false };
  }

  /** state reads every row a worker write could touch (boardState: the Store API). */
  state(): Promise<unknown> {
    return boardState(this.store);
  }
}

/** Scenarios the oracle recognises; the test fails if one never happens (a vacuous run). */
const SCENARIOS = [
  "a stale token on its own task, re-claimed by a later run",
  "a live run's token on another task",
  "a forged token",
  "a run ended by the supervisor, retried with backoff",
  "consecutive failures reach the limit and block the task",
  "claim() skips a ready task that is backing off",
  "claim() by id of a scheduled task that has come due",
  "a person moves a running task off running",
  "a task completed into review is approved",
  "a link that would close a cycle is refused",
  "unarchive refused: another task took the idempotency key",
  "create returns the task holding its idempotency key",
  "a worker creates a follow-up task",
  "a worker hands a task in to its reviewer",
  "a reviewer's completion approves a task",
  "a worker's completion is held for its gate",
  "a held run refuses another report",
  "a passed gate delivers the held completion",
  "a failed gate sends the task back, not counted",
  "a gate failing its last round blocks the task",
] as const;
const seen = new Map<string, number>();
function saw(scenario: (typeof SCENARIOS)[number]): void {
  seen.set(scenario, (seen.get(scenario) ?? 0) + 1);
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: KanbanError };

/** attempt runs a store call; refusals (KanbanError) are returned, anything else propagates. */
async function attempt<T>(fn: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof KanbanError) return { ok: false, error: err };
    throw err;
  }
}

function ok<T>(r: Attempt<T>, what: string): T {
  if (!r.ok) assert.fail(`${what} was refused: ${r.error.name}: ${r.error.message}`);
  return r.value;
}

// deno-lint-ignore no-explicit-any
type ErrorClass = abstract new (...args: any[]) => KanbanError;

function refused<T>(r: Attempt<T>, kind: ErrorClass, what: string): KanbanError {
  if (r.ok) assert.fail(`${what} succeeded; expected ${kind.name}`);
  assert.ok(
    r.error instanceof kind,
    `${what}: expected ${kind.name}, got ${r.error.name}: ${r.error.message}`,
  );
  return r.error;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** cmp orders strings by code unit, as SQLite's BINARY collation does. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// One step: run the operation and check it against the oracle. Returns whether it succeeded.

async function step(wd: World, op: Op, n: number): Promise<boolean> {
  const { store } = wd;
  const now = wd.now();
  const what = `step ${n} ${JSON.stringify(op)}`;
  switch (op.kind) {
    case "create": {
      const parents = wd.ids.length === 0 ? [] : [...new Set(op.parents.map((i) => wd.at(i)))];
      const key = op.key === null ? null : `key-${op.key}`;
      const input: CreateTaskInput = {
        title: `task ${n}`,
        parents,
        triage: op.triage,
        review_required: op.review,
        ...(op.reviewer ? { reviewer: "reviewer" } : {}),
        // a reviewed task gets a gate now and then: its reviewer's approval is then held
        ...(op.gate && (!op.reviewer || op.priority > 0)
          ? { gate: ["make", "check"], gate_rounds: n % 3 === 0 ? 1 : 2 }
          : {}),
        priority: op.priority,
        assignee: op.assignee,
        ...(op.notBefore !== null ? { not_before: now + op.notBefore } : {}),
        ...(key !== null ? { idempotency_key: key } : {}),
      };
      const r = await attempt(() => store.createTask(input, HUMAN));
      const dead = parents.filter((p) => wd.task(p).status === "archived" && !wd.satisfied(p));
      if (dead.length > 0) {
        assert.equal(refused(r, ConflictError, what).code, "archived_parent");
        return false;
      }
      const { task, created } = ok(r, what);
      const holder = wd.keyHolder(key);
      if (holder) {
        assert.equal(created, false, `${what}: key ${key} is held by ${holder.id}`);
        assert.equal(task.id, holder.id, what);
        saw("create returns the task holding its idempotency key");
        return true;
      }
      assert.equal(created, true, what);
      const expected: Status = op.triage
        ? "triage"
        : !parents.every((p) => wd.satisfied(p))
        ? "todo"
        : op.notBefore !== null && op.notBefore > 0
        ? "scheduled"
        : "ready";
      assert.equal(task.status, expected, what);
      wd.ids.push(task.id);
      for (const p of parents) wd.links.add(`${p} ${task.id}`);
      return true;
    }

    case "link": {
      const parent = wd.at(op.parent);
      const child = wd.at(op.child);
      const r = await attempt(() => store.link(parent, child, HUMAN));
      if (wd.ids.length === 0) return !refused(r, NotFoundError, what);
      if (wd.task(parent).status === "archived" || wd.task(child).status === "archived") {
        assert.equal(refused(r, ConflictError, what).code, "archived", what);
        return false;
      }
      if (parent === child) {
        assert.equal(refused(r, ConflictError, what).code, "self_link", what);
        return false;
      }
      if (wd.isAncestor(child, parent)) {
        assert.equal(refused(r, ConflictError, what).code, "cycle", what);
        saw("a link that would close a cycle is refused");
        return false;
      }
      const key = `${parent} ${child}`;
      assert.equal(ok(r, what).changed, !wd.links.has(key), `${what}: changed`);
      wd.links.add(key);
      return true;
    }

    case "unlink": {
      const existing = [...wd.links];
      const [parent, child] = op.existing && existing.length > 0
        ? existing[op.parent % existing.length]!.split(" ") as [string, string]
        : [wd.at(op.parent), wd.at(op.child)];
      const r = await attempt(() => store.unlink(parent, child, HUMAN));
      if (!wd.links.has(`${parent} ${child}`)) return !refused(r, NotFoundError, what);
      ok(r, what);
      wd.links.delete(`${parent} ${child}`);
      return true;
    }

    case "claim": {
      const due = (t: TaskSummary) =>
        t.status === "ready" ||
        (t.status === "scheduled" && t.not_before !== null && Date.parse(t.not_before) <= now);
      let expected: string | null;
      let r: Attempt<Awaited<ReturnType<Store["claim"]>>>;
      if (op.byId) {
        // Smart picks favour scheduled tasks that have come due (claim promotes them first).
        const comeDue = (t: TaskSummary) => t.status === "scheduled" && due(t);
        const id = op.t % 2 === 0 && wd.ids.some((i) => comeDue(wd.task(i)))
          ? wd.pick(op.t, op.smart, comeDue)
          : wd.pick(op.t, op.smart, due);
        r = await attempt(() => store.claim({ taskId: id }, WORKER));
        if (wd.ids.length === 0) return !refused(r, NotFoundError, what);
        // A claim first promotes due scheduled tasks, so those are claimable by id too.
        if (!due(wd.task(id))) return !refused(r, IllegalTransitionError, what);
        if (wd.task(id).status === "scheduled") {
          saw("claim() by id of a scheduled task that has come due");
        }
        expected = id;
      } else {
        // The best claimable task: highest priority, then oldest, then lowest id.
        const claimable = [...wd.tasks.values()].filter((t) =>
          due(t) && (t.retry_after === null || Date.parse(t.retry_after) <= now)
        ).sort((a, b) =>
          b.priority - a.priority || cmp(a.created_at, b.created_at) || cmp(a.id, b.id)
        );
        expected = claimable[0]?.id ?? null;
        if (
          [...wd.tasks.values()].some((t) =>
            due(t) && t.retry_after !== null && Date.parse(t.retry_after) > now
          )
        ) saw("claim() skips a ready task that is backing off");
        r = await attempt(() => store.claim({}, WORKER));
      }
      const claim = ok(r, what);
      if (expected === null) {
        assert.equal(claim, null, `${what}: nothing was claimable`);
        return true;
      }
      assert.ok(claim, `${what}: expected to claim ${expected}`);
      assert.equal(claim.task.id, expected, what);
      assert.equal(claim.task.status, "running", what);
      assert.equal(claim.task.current_run_id, claim.run.id, what);
      assert.equal(claim.run.task_id, expected, what);
      assert.equal(claim.run.open, true, what);
      assert.equal(claim.run.lease_expires, iso(now + DEFAULT_OPTIONS.leaseMs), what);
      assert.ok(claim.token.length >= 16, what);
      assert.ok(![...wd.tokens.values()].some((t) => t.token === claim.token), "fresh token");
      wd.tokens.set(claim.run.id, { token: claim.token, task: expected });
      return true;
    }

    case "heartbeat":
    case "workerComment":
    case "workerComplete":
    case "workerBlock": {
      const { token, target, runId } = wd.token(op.token, op.pick, op.t);
      const actor = { name: "worker", token };
      const before = runId === null ? await wd.state() : null;
      const review = wd.tasks.get(target)?.review_required ?? false;
      const reviewed = (wd.tasks.get(target)?.reviewer ?? null) !== null;
      // the loop breaker: the blockLimit-th worker block since the last completion -> triage
      const blocks = (wd.tasks.get(target)?.block_counts.needs_input ?? 0) + 1;
      const r = await attempt((): Promise<unknown> => {
        switch (op.kind) {
          case "heartbeat":
            return store.heartbeat(target, actor, `step ${n}`);
          case "workerComment":
            return store.comment(target, `progress at step ${n}`, actor);
          case "workerComplete":
            return store.complete(target, {
              summary: `done at step ${n}`,
              metadata: { step: n },
              result: "ok",
            }, actor);
          case "workerBlock":
            return store.block(target, `question at step ${n}`, actor);
        }
      });
      if (runId === null) {
        // A write with a token that is not the task's current run changes nothing.
        refused(r, wd.ids.length === 0 ? NotFoundError : StaleLeaseError, what);
        assert.deepEqual(
          await wd.state(),
          before,
          `${what}: a refused stale write changed rows`,
        );
        return false;
      }
      const held = wd.open.find((o) => o.id === runId)?.gate_pending ?? false;
      if (held && (op.kind === "workerComplete" || op.kind === "workerBlock")) {
        // its completion waits for the gate: any other report is refused, nothing changes
        const state = await wd.state();
        assert.equal(refused(r, ConflictError, what).code, "gate_pending", what);
        assert.deepEqual(await wd.state(), state, `${what}: a refused report changed rows`);
        saw("a held run refuses another report");
        return false;
      }
      ok(r, what);
      const [last] = await store.listRuns(target, 1);
      assert.equal(last?.id, runId, what);
      if (op.kind === "workerComplete" && (await store.getTask(target)).status === "running") {
        // held for the task's gate: the run stays open with the report
        assert.ok(((await store.getTask(target)).gate?.argv.length ?? 0) > 0, `${what}: no gate`);
        assert.deepEqual([last.open, last.gate_pending], [true, true], what);
        saw("a worker's completion is held for its gate");
        return true;
      }
      if (op.kind === "heartbeat") {
        assert.equal(last.open, true, what);
        assert.equal(last.heartbeat_at, iso(now), what);
        assert.equal(last.lease_expires, iso(now + DEFAULT_OPTIONS.leaseMs), what);
      } else if (op.kind === "workerComment") {
        assert.equal(last.open, true, what);
      } else {
        const done = op.kind === "workerComplete";
        assert.equal(last.open, false, what);
        assert.equal(last.outcome, done ? "completed" : "blocked", what);
        const after = await store.getTask(target);
        const breaker = blocks >= DEFAULT_OPTIONS.blockLimit;
        if (done && reviewed) {
          // the review loop: a hand-in goes to the reviewer (the queue) or a person (review),
          // the reviewer's completion approves it (done, or review when a person approves last)
          const at: readonly Status[] = ["todo", "scheduled", "ready", "review", "done"];
          assert.ok(at.includes(after.status), `${what}: a reviewed task went to ${after.status}`);
          if (after.status === "review") wd.inReview.add(target);
          if (after.status === "done") saw("a reviewer's completion approves a task");
          else if (after.assignee === "reviewer") saw("a worker hands a task in to its reviewer");
          return true;
        }
        const expected = done ? (review ? "review" : "done") : breaker ? "triage" : "blocked";
        assert.equal(after.status, expected, what);
        assert.deepEqual(after.block_counts, done ? {} : { needs_input: blocks }, what);
        if (done && review) wd.inReview.add(target);
      }
      return true;
    }

    case "workerCreate": {
      // A worker creating a follow-up: any open run's token may, an ended or forged one not.
      const { token, live } = wd.token(op.token, op.pick, op.t);
      const key = op.key === null ? null : `key-${op.key}`;
      const before = live ? null : await wd.state();
      const r = await attempt(() =>
        store.createTask({
          title: `follow-up ${n}`,
          ...(key !== null ? { idempotency_key: key } : {}),
        }, { name: "worker", token })
      );
      if (!live) {
        refused(r, StaleLeaseError, what);
        assert.deepEqual(
          await wd.state(),
          before,
          `${what}: a refused stale create changed rows`,
        );
        return false;
      }
      const { task, created } = ok(r, what);
      const holder = wd.keyHolder(key);
      assert.equal(created, holder === undefined, what);
      if (holder) {
        assert.equal(task.id, holder.id, what);
        return true;
      }
      assert.equal(task.status, "ready", what);
      assert.equal(task.created_by, "worker", what);
      wd.ids.push(task.id);
      saw("a worker creates a follow-up task");
      return true;
    }

    case "humanComment":
    case "humanComplete":
    case "humanBlock":
    case "unblock":
    case "promote":
    case "cancel":
    case "archive":
    case "unarchive":
    case "reopen":
    case "approve":
    case "reject": {
      const allowed = (t: TaskSummary): boolean => {
        switch (op.kind) {
          case "humanComment":
            return true;
          case "humanComplete":
            return canTransition(t.status, t.review_required ? "review" : "done", "complete");
          case "humanBlock":
            return canTransition(t.status, "blocked", "block");
          case "cancel":
          case "archive":
            return canTransition(t.status, "archived", op.kind);
          case "approve":
            return canTransition(t.status, "done", "approve");
          case "unarchive":
            return t.status === "archived";
          default: // unblock, promote, reopen, reject: the derived statuses as a group
            return canTransition(t.status, "todo", op.kind);
        }
      };
      const id = wd.pick(op.t, op.smart, allowed);
      const r = await attempt((): Promise<unknown> => {
        switch (op.kind) {
          case "humanComment":
            return store.comment(id, `a note at step ${n}`, HUMAN);
          case "humanComplete":
            return store.complete(id, { summary: "finished by hand" }, HUMAN);
          case "humanBlock":
            return store.block(id, `hold at step ${n}`, HUMAN);
          case "unblock":
            return store.unblock(id, HUMAN);
          case "promote":
            return store.promote(id, HUMAN);
          case "cancel":
            return store.cancel(id, `not needed (step ${n})`, HUMAN);
          case "archive":
            return store.archive(id, HUMAN);
          case "unarchive":
            return store.unarchive(id, HUMAN);
          case "reopen":
            return store.reopen(id, HUMAN);
          case "approve":
            return store.review(id, "approve", undefined, HUMAN);
          case "reject":
            return store.review(id, "reject", `redo (step ${n})`, HUMAN);
        }
      });
      if (wd.ids.length === 0) return !refused(r, NotFoundError, what);
      const before = wd.task(id);
      if (!allowed(before)) return !refused(r, IllegalTransitionError, what);
      if (op.kind === "unarchive" && wd.keyHolder(before.idempotency_key, id)) {
        assert.equal(refused(r, ConflictError, what).code, "idempotency_key_taken", what);
        saw("unarchive refused: another task took the idempotency key");
        return false;
      }
      ok(r, what);
      const after = await store.getTask(id);
      const expected: Status | "derived" = {
        humanComment: before.status,
        humanComplete: before.review_required ? "review" as const : "done" as const,
        humanBlock: "blocked" as const,
        cancel: "archived" as const,
        archive: "archived" as const,
        approve: "done" as const,
        unarchive: before.archived_from === "done" || before.archived_from === "triage" ||
            before.archived_from === "blocked"
          ? before.archived_from
          : "derived" as const,
        unblock: "derived" as const,
        promote: "derived" as const,
        reopen: "derived" as const,
        reject: "derived" as const,
      }[op.kind];
      assert.equal(after.status, expected === "derived" ? wd.derived(id) : expected, what);
      if (op.kind === "humanComplete" && after.status === "review") wd.inReview.add(id);
      if (op.kind === "approve" && wd.inReview.has(id)) {
        saw("a task completed into review is approved");
      }
      if (before.status === "running" && op.kind !== "humanComment") {
        // A person moving a task off running closes its run with an outcome that says so.
        const run = (await store.listRuns(id, 1))[0]!;
        assert.equal(run.id, before.current_run_id, what);
        assert.equal(run.open, false, what);
        const outcomes: Record<string, Outcome> = {
          humanComplete: "completed_by_human",
          humanBlock: "blocked_by_human",
          cancel: "cancelled",
          archive: "archived",
        };
        const outcome = outcomes[op.kind];
        assert.equal(run.outcome, outcome, what);
        saw("a person moves a running task off running");
      }
      return true;
    }

    case "endRun": {
      const known = [...wd.tokens.keys()];
      const runId = op.open && wd.open.length > 0
        ? wd.open[op.pick % wd.open.length]!.id
        : known.length > 0
        ? known[op.pick % known.length]!
        : 424_242;
      const r = await attempt(() =>
        store.endRun(runId, { outcome: op.outcome as Outcome, error: `step ${n}` }, SUPERVISOR)
      );
      if (op.outcome === "completed") return !refused(r, ValidationError, what);
      if (!wd.tokens.has(runId)) return !refused(r, NotFoundError, what);
      const run = wd.open.find((o) => o.id === runId);
      if (!run) return !refused(r, StaleLeaseError, what);
      const before = wd.task(run.task_id);
      const res = ok(r, what);
      const counted = COUNTED_FAILURES.includes(op.outcome);
      const failures = before.consecutive_failures + (counted ? 1 : 0);
      const blocked = counted && failures >= wd.failureLimit;
      assert.equal(res.counted, counted, what);
      assert.equal(res.run.open, false, what);
      assert.equal(res.run.outcome, op.outcome, what);
      assert.equal(res.task.consecutive_failures, failures, what);
      assert.equal(res.task.current_run_id, null, what);
      assert.equal(res.task.status, blocked ? "blocked" : wd.derived(run.task_id), what);
      const retry = blocked || op.outcome === "stopped"
        ? null
        : iso(now + DEFAULT_OPTIONS.backoffMs(Math.max(failures, 1)));
      assert.equal(res.task.retry_after, retry, what);
      if (blocked) saw("consecutive failures reach the limit and block the task");
      else if (retry !== null) saw("a run ended by the supervisor, retried with backoff");
      return true;
    }

    case "settleGate": {
      const held = wd.open.filter((o) => o.gate_pending);
      if (held.length === 0) return false;
      const run = held[op.pick % held.length]!;
      const before = wd.task(run.task_id);
      const token = wd.tokens.get(run.id)!.token;
      const outcome = op.pass
        ? { passed: true, exit_code: 0, output: "ok\n", duration_ms: 5, timed_out: false }
        : {
          passed: false,
          exit_code: 1,
          output: `failed at step ${n}\n`,
          duration_ms: 5,
          timed_out: false,
        };
      const res = ok(
        await attempt(() => store.settleGate(run.task_id, outcome, { name: "worker", token })),
        what,
      );
      const closed = await store.getRun(run.id);
      assert.deepEqual([closed.open, closed.outcome, closed.gate_pending], [
        false,
        "completed",
        false,
      ], what);
      assert.equal(res.task.current_run_id, null, what);
      assert.equal(res.task.consecutive_failures, 0, what);
      if (op.pass) {
        assert.equal(res.verdict, "passed", what);
        const at: readonly Status[] = before.review_required ? ["review"] : ["done", "review"];
        assert.ok(
          at.includes(res.task.status),
          `${what}: a passed gate went to ${res.task.status}`,
        );
        if (res.task.status === "review") wd.inReview.add(run.task_id);
        saw("a passed gate delivers the held completion");
        return true;
      }
      assert.equal(res.task.retry_after, null, what);
      if (res.round >= res.rounds) {
        assert.deepEqual([res.verdict, res.task.status], ["blocked", "blocked"], what);
        saw("a gate failing its last round blocks the task");
      } else {
        assert.equal(res.verdict, "failed", what);
        assert.equal(res.task.status, wd.derived(run.task_id), what);
        saw("a failed gate sends the task back, not counted");
      }
      return true;
    }

    case "advance":
      wd.clock.advance(op.ms);
      return true;

    case "promoteDue": {
      const due =
        [...wd.tasks.values()].filter((t) =>
          t.status === "scheduled" && Date.parse(t.not_before!) <= now
        ).length;
      assert.equal(ok(await attempt(() => store.promoteDue(SUPERVISOR)), what), due, what);
      return true;
    }

    case "assign": {
      const id = wd.at(op.t);
      const r = await attempt(() => store.assignTask(id, op.who, HUMAN));
      if (op.who === "not a name!") return !refused(r, ValidationError, what);
      if (wd.ids.length === 0) return !refused(r, NotFoundError, what);
      assert.equal(ok(r, what).assignee, op.who, what);
      return true;
    }

    case "edit": {
      const id = wd.at(op.t);
      const patch = {
        ...(op.title !== null ? { title: op.title } : {}),
        ...(op.priority !== null ? { priority: op.priority } : {}),
      };
      const r = await attempt(() => store.editTask(id, patch, HUMAN));
      const invalid = (op.title === null && op.priority === null) ||
        (op.title !== null && (op.title.trim() === "" || op.title.includes("\n"))) ||
        (op.priority !== null && Math.abs(op.priority) > 1000);
      if (invalid) return !refused(r, ValidationError, what);
      if (wd.ids.length === 0) return !refused(r, NotFoundError, what);
      const task = ok(r, what);
      if (op.title !== null) assert.equal(task.title, op.title, what);
      if (op.priority !== null) assert.equal(task.priority, op.priority, what);
      return true;
    }
  }
}

// ---------------------------------------------------------------------------------------------

conformance("random sequences of 10,000+ store operations keep every invariant", async (drv) => {
  const tally = new Map<string, Tally>();
  let applied = 0;
  let sequences = 0;
  const started = performance.now();

  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: DEFAULT_OPTIONS.failureLimit }),
      fc.array(opArb, { minLength: MIN_OPS, maxLength: MAX_OPS }),
      async (failureLimit, ops) => {
        await using b = await drv.fresh({ failureLimit });
        const wd = new World(b.store, b.clock, failureLimit);
        for (const [n, op] of ops.entries()) {
          await wd.refresh();
          const succeeded = await step(wd, op, n);
          applied++;
          const t = tally.get(op.kind) ?? { ok: 0, refused: 0 };
          t[succeeded ? "ok" : "refused"]++;
          tally.set(op.kind, t);
          assert.deepEqual(
            await b.store.checkInvariants(),
            [],
            `invariants after step ${n} ${JSON.stringify(op)}`,
          );
          // The idempotency key is unique among tasks that are not archived.
          const keys = (await b.store.listTasks()).map((t) => t.idempotency_key)
            .filter((k) => k !== null);
          assert.equal(new Set(keys).size, keys.length, `duplicate keys after step ${n}`);
        }
        assert.deepEqual(await b.store.integrityCheck(), []);
        sequences++;
      },
    ),
    {
      numRuns: RUNS,
      seed: SEED,
      // Shrinking a 100+ step failure can take many minutes; stop it and report the smallest
      // counterexample found so far (each assertion names its step and operation anyway).
      // A passing run takes under a minute (about 20 s on SQLite, 50-60 s on PostgreSQL on a
      // busy 2-core machine), so this limit, well above it, never cuts one short.
      interruptAfterTimeLimit: 240_000,
    },
  );

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `${applied} operations in ${sequences} sequences (${seconds} s, seed ${SEED}):`,
    [...tally].sort(([a], [b]) => a.localeCompare(b))
      .map(([k, t]) => `${k} ${t.ok}/${t.refused}`).join(", "),
    "\nscenarios:",
    SCENARIOS.map((sc) => `${sc}: ${seen.get(sc) ?? 0}`).join("; "),
  );
  assert.equal(sequences, RUNS);
  assert.ok(applied >= RUNS * MIN_OPS, `applied ${applied} operations`);
  if (RUNS < 100) return; // a quick run (KANBAN_PROPERTY_RUNS) skips the coverage checks
  assert.ok(applied >= 10_000, `applied ${applied} operations`);
  // Guard against a vacuous run: every operation succeeded and was refused somewhere, and
  // every scenario the oracle knows happened (each does dozens of times at 100 sequences).
  const kinds = ["create", "link", "unlink", "claim", "workerCreate", "endRun"];
  for (const kind of [...kinds, ...WORKER_VERBS, ...HUMAN_VERBS]) {
    const t = tally.get(kind);
    assert.ok(t && t.ok > 0, `${kind} never succeeded`);
    if (kind !== "humanComment") assert.ok(t.refused > 0, `${kind} was never refused`);
  }
  for (const scenario of SCENARIOS) assert.ok(seen.has(scenario), `never seen: ${scenario}`);
});
