/**
 * Decomposition (lib/store/plans.ts) on both drivers: a person asks for it, the orchestrator's
 * worker submits one plan (created with the run's end in one transaction, exactly once), the
 * root waits for the plan's sinks and then goes to review by the orchestrator or a person; a
 * plan that needs approval holds its tasks in triage until a person approves or rejects it.
 */
import assert from "node:assert/strict";
import {
  ConflictError,
  type DecomposeRequest,
  type PlanInput,
  StaleLeaseError,
  type Store,
  ValidationError,
} from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, claimId, eventKinds, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const ROSTER = [
  { name: "coder", description: "writes and tests code" },
  { name: "writer", description: "writes   docs\n and release notes" },
];

function request(over: Partial<DecomposeRequest> = {}): DecomposeRequest {
  return {
    profile: "orchestrator",
    roster: ROSTER,
    review: "orchestrator",
    approval: false,
    ...over,
  };
}

/** A three-task plan: code, then docs and release notes after it (two sinks). */
const PLAN: PlanInput = {
  summary: "code first, then docs and notes",
  tasks: [
    { ref: "code", title: "Write the parser", assignee: "coder" },
    { ref: "docs", title: "Document it", assignee: "writer", after: ["code"] },
    { ref: "notes", title: "Release notes", assignee: "writer", after: ["code"] },
  ],
};

/** decomposing: a triage task asked to be decomposed, claimed by the orchestrator's worker. */
async function decomposing(store: Store, over: Partial<DecomposeRequest> = {}) {
  const root = await add(store, "Add a config parser", { triage: true, body: "TOML, with errors" });
  const asked = await store.decompose(root.id, request(over), HUMAN);
  assert.equal(asked.status, "ready");
  assert.equal(asked.assignee, "orchestrator");
  const c = await claimId(store, root.id, "orchestrator");
  return { root, c };
}

/** finish completes task `id` as a person would (claim and complete). */
async function finish(store: Store, id: string) {
  const c = await claimId(store, id);
  await store.complete(id, { summary: `done ${id}` }, worker(c));
}

conformance(
  "decompose moves a triage task to its orchestrator and records the request",
  async (drv) => {
    await using b = await drv.fresh();
    const { root } = await decomposing(b.store);
    const state = await b.store.planState(root.id);
    assert.equal(state.state, "requested");
    assert.ok(state.state === "requested");
    assert.deepEqual(state.request.roster.map((r) => r.description), [
      "writes and tests code",
      "writes docs and release notes",
    ]);
    assert.ok((await eventKinds(b.store, root.id)).includes("decomposition_requested"));
  },
);

conformance(
  "decompose is refused outside triage, twice, to a worker, and with a bad request",
  async (drv) => {
    await using b = await drv.fresh();
    const ready = await add(b.store, "already queued");
    await assert.rejects(b.store.decompose(ready.id, request(), HUMAN), /only a task in triage/);
    const { root, c } = await decomposing(b.store);
    await assert.rejects(b.store.decompose(root.id, request(), HUMAN), ConflictError);
    // the orchestrator blocks without a plan: the person may ask again
    await b.store.block(root.id, "what is the deadline?", worker(c));
    const again = await b.store.decompose(root.id, request(), HUMAN);
    assert.equal(again.status, "ready");
    assert.equal(again.blocked_reason, null);
    const other = await add(b.store, "other", { triage: true });
    await assert.rejects(b.store.decompose(other.id, request(), worker(c)), /A worker cannot ask/);
    await assert.rejects(
      b.store.decompose(other.id, request({ roster: [] }), HUMAN),
      (e) => e instanceof ValidationError && /roster: names no profile/.test(e.message),
    );
    await assert.rejects(
      b.store.decompose(other.id, request({ profile: "no such/profile" }), HUMAN),
      (e) => e instanceof ValidationError && /profile: is not a profile name/.test(e.message),
    );
    assert.equal((await b.store.getTask(other.id)).status, "triage", "nothing changed");
  },
);

conformance(
  "a plan creates its tasks, the root waits for its sinks, and the run ends, at once",
  async (drv) => {
    await using b = await drv.fresh();
    const { root, c } = await decomposing(b.store);
    const r = await b.store.plan(root.id, PLAN, worker(c, "orchestrator-1"));
    assert.equal(r.plan.created, true);
    const [code, docs, notes] = r.plan.tasks.map((t) => t.task);
    assert.equal(code!.status, "ready");
    assert.equal(code!.assignee, "coder");
    assert.equal(docs!.status, "todo");
    assert.equal(r.task.status, "todo", "the root waits for the plan");
    assert.equal(r.task.assignee, "orchestrator", "reviewed by the orchestrator");
    const detail = await b.store.showTask(root.id);
    assert.deepEqual(detail.parents.map((p) => p.id).sort(), [docs!.id, notes!.id].sort());
    const [run] = await b.store.listRuns(root.id);
    assert.equal(run!.outcome, "completed");
    assert.equal(run!.summary, "code first, then docs and notes");
    const state = await b.store.planState(root.id);
    assert.ok(state.state === "planned");
    assert.deepEqual(state.sinks.sort(), [docs!.id, notes!.id].sort());

    // exactly once: the run has ended, so the same worker's second plan is refused
    await assert.rejects(b.store.plan(root.id, PLAN, worker(c)), StaleLeaseError);
    assert.equal((await b.store.listTasks({})).length, 4);

    // the plan's tasks finish: the root is ready for its orchestrator's review round
    for (const t of [code!, docs!]) await finish(b.store, t.id);
    assert.equal((await b.store.getTask(root.id)).status, "todo");
    await finish(b.store, notes!.id);
    assert.equal((await b.store.getTask(root.id)).status, "ready");
  },
);

conformance(
  "a plan reviewed by a person sends the root to review once its tasks are done",
  async (drv) => {
    await using b = await drv.fresh();
    const { root, c } = await decomposing(b.store, { review: "person" });
    const r = await b.store.plan(root.id, PLAN, worker(c));
    assert.equal(r.task.assignee, null, "nobody's to claim");
    for (const t of r.plan.tasks) await finish(b.store, t.task.id);
    const done = await b.store.getTask(root.id);
    assert.equal(done.status, "review");
    await b.store.review(root.id, "approve", "looks complete", HUMAN);
    assert.equal((await b.store.getTask(root.id)).status, "done");
  },
);

conformance(
  "a plan is refused whole: unknown profile, cycle, unknown ref, not asked, a person",
  async (drv) => {
    await using b = await drv.fresh();
    const { root, c } = await decomposing(b.store);
    const w = worker(c);
    const refuse = async (plan: PlanInput, pattern: RegExp) =>
      await assert.rejects(
        b.store.plan(root.id, plan, w),
        (e) => e instanceof ValidationError && pattern.test(e.message),
      );
    await refuse(
      { tasks: [{ ref: "a", title: "A", assignee: "designer" }] },
      /task 1 \("a"\): assignee: "designer" is not on the roster \(coder, writer\)/,
    );
    await refuse({
      tasks: [
        { ref: "a", title: "A", assignee: "coder", after: ["b"] },
        { ref: "b", title: "B", assignee: "coder", after: ["a"] },
      ],
    }, /cycle/);
    await refuse(
      { tasks: [{ ref: "a", title: "A", assignee: "coder", after: ["zz"] }] },
      /node "a": after: no node "zz"/,
    );
    await refuse({ tasks: [] }, /at least one task/);
    await assert.rejects(
      b.store.plan(root.id, PLAN, HUMAN),
      /submitted by the orchestrator's worker/,
    );
    assert.equal((await b.store.listTasks({})).length, 1, "nothing was created");
    assert.equal((await b.store.getTask(root.id)).status, "running", "the run goes on");

    const plain = await add(b.store, "plain");
    const pc = await claimId(b.store, plain.id);
    await assert.rejects(
      b.store.plan(plain.id, PLAN, worker(pc)),
      /was not asked to be decomposed/,
    );
  },
);

conformance(
  "a plan that needs approval holds its tasks until a person approves it",
  async (drv) => {
    await using b = await drv.fresh();
    const { root, c } = await decomposing(b.store, { approval: true });
    const r = await b.store.plan(root.id, PLAN, worker(c));
    const [code, docs] = r.plan.tasks.map((t) => t.task);
    assert.equal(code!.status, "triage");
    assert.equal(docs!.status, "todo");
    assert.equal((await b.store.planState(root.id)).state, "approval");
    assert.equal(await b.store.claim({}, { name: "dispatcher" }), null, "nothing of it runs");
    const released = await b.store.approvePlan(root.id, HUMAN);
    assert.deepEqual(released.map((t) => [t.id, t.status]), [[code!.id, "ready"]]);
    assert.equal((await b.store.planState(root.id)).state, "planned");
    await assert.rejects(b.store.approvePlan(root.id, HUMAN), /no plan waiting for approval/);
  },
);

conformance(
  "a rejected plan's tasks are cancelled and the root is blocked, to be decomposed again",
  async (drv) => {
    await using b = await drv.fresh();
    const { root, c } = await decomposing(b.store, { approval: true });
    const r = await b.store.plan(root.id, PLAN, worker(c));
    await assert.rejects(b.store.rejectPlan(root.id, " ", HUMAN), ValidationError);
    const back = await b.store.rejectPlan(root.id, "split by feature instead", HUMAN);
    assert.equal(back.status, "blocked");
    assert.equal(back.assignee, null);
    assert.match(back.blocked_reason ?? "", /^its plan was rejected: split by feature instead/);
    for (const t of r.plan.tasks) {
      assert.equal((await b.store.getTask(t.task.id)).status, "archived");
    }
    assert.deepEqual((await b.store.showTask(root.id)).parents, []);
    assert.equal((await b.store.planState(root.id)).state, "none");
    // decomposed again: a new plan of its own
    await b.store.decompose(root.id, request(), HUMAN);
    const c2 = await claimId(b.store, root.id, "orchestrator");
    const again = await b.store.plan(root.id, PLAN, worker(c2));
    assert.equal(again.plan.created, true);
    assert.notEqual(again.plan.key, r.plan.key);
  },
);
