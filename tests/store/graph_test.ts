/** Store.createGraph: a graph of tasks in one transaction, idempotent by key. */
import assert from "node:assert/strict";
import {
  ConflictError,
  type CreateGraphInput,
  GRAPH_MAX_EDGES,
  GRAPH_MAX_NODES,
  KanbanError,
  type Store,
  ValidationError,
} from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, claimId, eventKinds, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

/** diamond: plan, then build and docs side by side, then ship after both. */
function diamond(key = "rel-1"): CreateGraphInput {
  return {
    key,
    nodes: [
      { ref: "plan", task: { title: "Plan", body: "the plan", assignee: "planner" } },
      { ref: "build", task: { title: "Build", assignee: "coder", priority: 2 }, after: ["plan"] },
      { ref: "docs", task: { title: "Docs", needs: ["gpu"] }, after: ["plan"] },
      { ref: "ship", task: { title: "Ship", tenant: "acme" }, after: ["build", "docs"] },
    ],
  };
}

/** refused runs `fn`, expects `cls` with a message matching `message`, and no change at all. */
async function refused(
  store: Store,
  fn: () => Promise<unknown>,
  cls: typeof KanbanError,
  message: RegExp,
): Promise<KanbanError> {
  const before = await boardState(store);
  const err = await fn().then(() => null, (e: unknown) => e);
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
  assert.match(err.message, message);
  assert.deepEqual(await boardState(store), before);
  return err;
}

conformance(
  "createGraph() makes a diamond: the root ready, the rest waiting on parents",
  async (drv) => {
    await using b = await drv.fresh();
    const r = await b.store.createGraph(diamond(), HUMAN);
    assert.equal(r.key, "rel-1");
    assert.equal(r.created, true);
    assert.deepEqual(r.tasks.map((t) => [t.ref, t.task.title, t.task.status]), [
      ["plan", "Plan", "ready"],
      ["build", "Build", "todo"],
      ["docs", "Docs", "todo"],
      ["ship", "Ship", "todo"],
    ]);
    const id = Object.fromEntries(r.tasks.map((t) => [t.ref, t.task.id]));
    const plan = r.tasks[0]!.task;
    assert.equal(plan.assignee, "planner");
    assert.equal(plan.body, "the plan");
    assert.equal(plan.idempotency_key, "rel-1/plan");
    assert.equal(r.tasks[1]!.task.priority, 2);
    assert.deepEqual(r.tasks[2]!.task.needs, ["gpu"]);
    assert.equal(r.tasks[3]!.task.tenant, "acme");
    const parents = async (ref: string) =>
      (await b.store.showTask(id[ref]!)).parents.map((p) => p.id).sort();
    assert.deepEqual(await parents("plan"), []);
    assert.deepEqual(await parents("build"), [id["plan"]]);
    assert.deepEqual(await parents("docs"), [id["plan"]]);
    assert.deepEqual(await parents("ship"), [id["build"], id["docs"]].sort());
    for (const t of r.tasks) {
      assert.deepEqual(await b.store.getTask(t.task.id), t.task);
      assert.deepEqual(await eventKinds(b.store, t.task.id), ["created"]);
    }
    assert.deepEqual(await b.store.checkInvariants(), []);
  },
);

conformance("completing a graph's roots makes the nodes after them ready", async (drv) => {
  await using b = await drv.fresh();
  const r = await b.store.createGraph(diamond(), HUMAN);
  const [plan, build, docs, ship] = r.tasks.map((t) => t.task.id) as [
    string,
    string,
    string,
    string,
  ];
  await b.store.complete(plan, { summary: "planned" }, worker(await claimId(b.store, plan)));
  assert.equal((await b.store.getTask(build)).status, "ready");
  assert.equal((await b.store.getTask(docs)).status, "ready");
  assert.equal((await b.store.getTask(ship)).status, "todo");
  await b.store.complete(build, {}, HUMAN);
  assert.equal((await b.store.getTask(ship)).status, "todo");
  await b.store.complete(docs, {}, HUMAN);
  assert.equal((await b.store.getTask(ship)).status, "ready");
});

conformance("createGraph() with the same key and input returns the same tasks", async (drv) => {
  await using b = await drv.fresh();
  const first = await b.store.createGraph(diamond(), HUMAN);
  // the first tasks moved on and were edited: a replay of the same input still matches
  const plan = first.tasks[0]!.task.id;
  await b.store.complete(plan, {}, HUMAN);
  await b.store.editTask(first.tasks[1]!.task.id, { title: "Build it, renamed" }, HUMAN);
  await b.store.assignTask(first.tasks[2]!.task.id, "writer", HUMAN);
  const before = await boardState(b.store);
  const again = await b.store.createGraph(diamond(), { name: "bob" });
  assert.equal(again.created, false);
  assert.deepEqual(
    again.tasks.map((t) => [t.ref, t.task.id]),
    first.tasks.map((t) => [
      t.ref,
      t.task.id,
    ]),
  );
  assert.equal(again.tasks[0]!.task.status, "done");
  assert.equal(again.tasks[1]!.task.title, "Build it, renamed");
  assert.deepEqual(await boardState(b.store), before);
  // nodes in another order, `after` in another order and repeated: the same graph
  const shuffled = diamond();
  shuffled.nodes.reverse();
  shuffled.nodes[0]!.after = ["docs", "build", "docs"];
  assert.equal((await b.store.createGraph(shuffled, HUMAN)).created, false);
  assert.equal((await b.store.listTasks({ archived: true })).length, 4);
});

conformance(
  "createGraph() refuses the same key with other input, naming the node and field",
  async (drv) => {
    await using b = await drv.fresh();
    await b.store.createGraph(diamond(), HUMAN);
    const changed = diamond();
    changed.nodes[1]!.task.title = "Build something else";
    const err = await refused(
      b.store,
      () => b.store.createGraph(changed, HUMAN),
      ConflictError,
      /^Key "rel-1" already created a graph from other input: node "build": title differs from what made task "t_[0-9a-f]{8}"/,
    );
    assert.equal(err.code, "key_conflict");
    const cases: [(g: CreateGraphInput) => void, RegExp][] = [
      [(g) => void (g.nodes[0]!.task.body = "another plan"), /node "plan": body differs/],
      [(g) => void (g.nodes[0]!.task.assignee = null), /node "plan": assignee differs/],
      [(g) => void (g.nodes[2]!.task.needs = []), /node "docs": needs differs/],
      [(g) => void (g.nodes[3]!.after = ["build"]), /node "ship": after differs/],
      [(g) => void (g.nodes[3]!.task.tenant = "other"), /node "ship": tenant differs/],
      [(g) => void g.nodes.pop(), /its node "ship" is not in this one/],
      [
        (g) => void g.nodes.push({ ref: "extra", task: { title: "Extra" } }),
        /this one's node "extra" is not among its tasks/,
      ],
    ];
    for (const [change, message] of cases) {
      const g = diamond();
      change(g);
      await refused(b.store, () => b.store.createGraph(g, HUMAN), ConflictError, message);
    }
  },
);

conformance("createGraph() refuses a key whose graph was partly archived", async (drv) => {
  await using b = await drv.fresh();
  const r = await b.store.createGraph(diamond(), HUMAN);
  await b.store.cancel(r.tasks[2]!.task.id, "not needed", HUMAN);
  const err = await refused(
    b.store,
    () => b.store.createGraph(diamond(), HUMAN),
    ConflictError,
    /Key "rel-1": 3 of the 4 tasks of its graph are open; the tasks of node "docs" were archived or cancelled/,
  );
  assert.equal(err.code, "graph_incomplete");
  // once every task of it is archived, the key is free again
  for (const t of r.tasks.slice(0, 2).concat(r.tasks.slice(3))) {
    await b.store.cancel(t.task.id, undefined, HUMAN);
  }
  const again = await b.store.createGraph(diamond(), HUMAN);
  assert.equal(again.created, true);
  assert.notEqual(again.tasks[0]!.task.id, r.tasks[0]!.task.id);
});

conformance("createGraph() refuses a key already held by a task no graph made", async (drv) => {
  await using b = await drv.fresh();
  await add(b.store, "by hand", { idempotency_key: "rel-1/build" });
  await refused(
    b.store,
    () => b.store.createGraph(diamond(), HUMAN),
    ConflictError,
    /Key "rel-1" is taken: task "t_[0-9a-f]{8}" holds idempotency key "rel-1\/build" but is not node "build" of a graph with key "rel-1"/,
  );
  // keys that only look alike are not the graph's
  for (const key of ["rel-9", "rel-90/plan", "rel-9.x/plan", "rel-9-/plan", "rel-9 /plan"]) {
    await add(b.store, "look-alike", { idempotency_key: key });
  }
  assert.equal((await b.store.createGraph(diamond("rel-9"), HUMAN)).created, true);
});

conformance("createGraph() refuses cycles, naming the nodes that loop", async (drv) => {
  await using b = await drv.fresh();
  const g: CreateGraphInput = {
    key: "loop",
    nodes: [
      { ref: "start", task: { title: "start" } },
      { ref: "a", task: { title: "a" }, after: ["start", "c"] },
      { ref: "b", task: { title: "b" }, after: ["a"] },
      { ref: "c", task: { title: "c" }, after: ["b"] },
    ],
  };
  await refused(
    b.store,
    () => b.store.createGraph(g, HUMAN),
    ValidationError,
    /^Invalid graph: the nodes wait for each other in a cycle: "a" after "c" after "b" after "a"/,
  );
  await refused(
    b.store,
    () =>
      b.store.createGraph({
        key: "self",
        nodes: [{ ref: "x", task: { title: "x" }, after: ["x"] }],
      }, HUMAN),
    ValidationError,
    /cycle: "x" after "x"/,
  );
});

conformance("createGraph() names the node and field of invalid input", async (drv) => {
  await using b = await drv.fresh();
  const node = (ref: string, task: Record<string, unknown>, after: string[] = []) => ({
    ref,
    task: task as { title: string },
    after,
  });
  const cases: [CreateGraphInput, RegExp][] = [
    [
      { key: "k", nodes: [node("a", { title: "a" }, ["nope"])] },
      /node "a": after: no node "nope" \(nodes: a\)/,
    ],
    [{ key: "k", nodes: [node("a", { title: "" })] }, /^Invalid graph: node "a": title is empty$/],
    [
      { key: "k", nodes: [node("a", { title: "a" }), node("b", { title: "b", priority: 5000 })] },
      /node "b": priority is above/,
    ],
    [
      { key: "k", nodes: [node("a", { title: "a", max_runtime_seconds: -1 })] },
      /node "a": max_runtime_seconds: max runtime must be positive/,
    ],
    [
      { key: "k", nodes: [node("a", { title: "a" }), node("a", { title: "b" })] },
      /node "a": ref is used by an earlier node too/,
    ],
    [
      { key: "k", nodes: [node("bad ref", { title: "a" })] },
      /node 1: ref "bad ref" is not a node name/,
    ],
    [
      { key: "k", nodes: [node("a", { title: "a", parents: ["t_1"] })] },
      /node "a": parents: a graph sets it/,
    ],
    [
      { key: "k", nodes: [node("a", { title: "a", idempotency_key: "x" })] },
      /node "a": idempotency_key: a graph sets it \("k\/a"\)/,
    ],
    [{ key: "k", nodes: [] }, /a graph needs at least one node/],
    [{ key: "", nodes: [node("a", { title: "a" })] }, /key is empty/],
    [{ key: "a/b", nodes: [node("a", { title: "a" })] }, /key may not contain "\/"/],
    [
      { key: "k".repeat(190), nodes: [node("r".repeat(20), { title: "a" })] },
      /node "r{20}": its idempotency key "k{190}\/r{20}" \(key\/ref\) is longer than 200 characters/,
    ],
  ];
  for (const [g, message] of cases) {
    await refused(b.store, () => b.store.createGraph(g, HUMAN), ValidationError, message);
  }
});

conformance("createGraph() keeps to its limits on nodes, dependencies and bytes", async (drv) => {
  await using b = await drv.fresh();
  const nodes = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ ref: `n${i}`, task: { title: `node ${i}` } }));
  await refused(
    b.store,
    () => b.store.createGraph({ key: "big", nodes: nodes(GRAPH_MAX_NODES + 1) }, HUMAN),
    ValidationError,
    new RegExp(`a graph has at most ${GRAPH_MAX_NODES} nodes`),
  );
  // every node waits for the six before it: more dependencies than allowed
  const dense = nodes(GRAPH_MAX_NODES).map((n, i) => ({
    ...n,
    after: Array.from({ length: Math.min(i, 6) }, (_, j) => `n${i - j - 1}`),
  }));
  await refused(
    b.store,
    () => b.store.createGraph({ key: "dense", nodes: dense }, HUMAN),
    ValidationError,
    new RegExp(`dependencies \\(after\\); a graph has at most ${GRAPH_MAX_EDGES}`),
  );
  const heavy = nodes(5).map((n) => ({ ...n, task: { ...n.task, body: "x".repeat(1024 * 1024) } }));
  await refused(
    b.store,
    () => b.store.createGraph({ key: "heavy", nodes: heavy }, HUMAN),
    ValidationError,
    /titles and bodies add up to \d+ bytes; a graph has at most 4194304/,
  );
  // the largest graph allowed: a chain of 200
  const chain = nodes(GRAPH_MAX_NODES).map((n, i) => ({
    ...n,
    after: i === 0 ? [] : [`n${i - 1}`],
  }));
  const r = await b.store.createGraph({ key: "chain", nodes: chain }, HUMAN);
  assert.equal(r.tasks.length, GRAPH_MAX_NODES);
  assert.deepEqual(r.tasks.filter((t) => t.task.status === "ready").map((t) => t.ref), ["n0"]);
  assert.equal((await b.store.createGraph({ key: "chain", nodes: chain }, HUMAN)).created, false);
});

conformance(
  "a worker's graph is its run's follow-ups; a stale worker's is refused",
  async (drv) => {
    await using b = await drv.fresh();
    const plan = await add(b.store, "plan the release");
    const c = await claimId(b.store, plan.id);
    const confined = b.store.confinedTo({ task: plan.id, token: c.token });
    const r = await confined.createGraph(diamond(), worker(c));
    assert.equal(r.created, true);
    const created = (await b.store.showTask(plan.id)).runs[0]!.created_tasks.map((t) => t.id);
    assert.deepEqual(created.sort(), r.tasks.map((t) => t.task.id).sort());
    assert.equal((await confined.createGraph(diamond(), worker(c))).created, false);
    await b.store.complete(plan.id, {}, worker(c));
    await refused(
      b.store,
      () => confined.createGraph(diamond("rel-2"), worker(c)),
      KanbanError,
      /has ended/,
    );
  },
);
