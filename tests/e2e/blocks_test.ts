/** Typed blocks through the compiled binary: each kind, the loop breaker, and bad input. */
import assert from "node:assert/strict";
import { binaryHome } from "./_binary.ts";

interface Task {
  id: string;
  status: string;
  assignee: string | null;
  block_kind: string | null;
  blocked_on: string | null;
  blocked_reason: string | null;
  retry_after: string | null;
  consecutive_failures: number;
  block_counts: Record<string, number>;
}

interface Claim {
  task: Task;
  token: string;
}

/** claimAs claims task `id` and returns a worker's environment for it. */
function claimAs(b: ReturnType<typeof binaryHome>, id: string): Record<string, string> {
  const c = b.json<Claim>(["claim", id]);
  assert.equal(c.task.id, id);
  return { KANBAN_TASK: id, KANBAN_TOKEN: c.token };
}

Deno.test("dist/kanban block --kind: dependency waits for its task, then is ready", () => {
  using b = binaryHome();
  b.json(["init"]);
  const api = b.json<Task>(["create", "api"]);
  const client = b.json<Task>(["create", "client"]);
  const env = claimAs(b, client.id);
  const blocked = b.json<Task>(
    ["block", "--kind", "dependency", "--on", api.id, "needs the api"],
    env,
  );
  assert.equal(blocked.status, "todo");
  assert.equal(blocked.block_kind, "dependency");
  assert.equal(blocked.blocked_on, api.id);
  const text = b.kanban(["show", client.id]);
  assert.match(text.stdout, /block kind:\s+dependency/);
  assert.match(text.stdout, new RegExp(`blocked on:\\s+${api.id}`));
  const list = b.kanban(["list"]);
  assert.match(list.stdout, /todo \(dependency\)/);
  claimAs(b, api.id);
  b.json(["complete", api.id]);
  assert.equal(b.json<{ task: Task }>(["show", client.id]).task.status, "ready");
});

Deno.test("dist/kanban block --kind transient retries later, counts no failure, and is bounded", () => {
  using b = binaryHome();
  b.json(["init"]);
  const t = b.json<Task>(["create", "call the api"]);
  let last: Task | null = null;
  for (let i = 1; i <= 5; i++) {
    const env = claimAs(b, t.id);
    const r = b.kanban(["block", "--kind", "transient", "--retry-after", "1s", `down ${i}`], env);
    assert.equal(r.code, 0, r.stderr);
    if (i === 1) assert.match(r.stdout, /transient: retried after /);
    last = b.json<{ task: Task }>(["show", t.id]).task;
    assert.equal(last.consecutive_failures, 0);
  }
  assert.equal(last!.status, "triage");
  assert.equal(last!.blocked_reason, "blocked 5 times for transient: down 5");
});

Deno.test("dist/kanban block --kind capability reassigns, or sends to triage without a profile", () => {
  using b = binaryHome();
  b.json(["init"]);
  const t = b.json<Task>(["create", "train", "--assignee", "coder"]);
  const moved = b.json<Task>(
    ["block", "--kind", "capability", "--profile", "gpu", "needs a gpu"],
    claimAs(b, t.id),
  );
  assert.deepEqual([moved.status, moved.assignee], ["ready", "gpu"]);
  const triaged = b.json<Task>(["block", "--kind", "capability", "nobody can"], claimAs(b, t.id));
  assert.equal(triaged.status, "triage");
});

Deno.test("dist/kanban block: the third needs_input block of a task goes to triage", () => {
  using b = binaryHome();
  b.json(["init"]);
  const t = b.json<Task>(["create", "loops"]);
  for (let i = 1; i <= 2; i++) {
    assert.equal(b.json<Task>(["block", `q${i}`], claimAs(b, t.id)).status, "blocked");
    b.json(["unblock", t.id]);
  }
  const third = b.json<Task>(["block", "q3"], claimAs(b, t.id));
  assert.equal(third.status, "triage");
  assert.equal(third.blocked_reason, "blocked 3 times for needs_input: q3");
  const inbox = b.kanban(["inbox"]);
  assert.match(inbox.stdout, /blocked 3 times for needs_input: q3/);
});

Deno.test("dist/kanban block refuses an unknown kind, a missing --on, an unknown task and a cycle", () => {
  using b = binaryHome();
  b.json(["init"]);
  const a = b.json<Task>(["create", "a"]);
  const child = b.json<Task>(["create", "child", "--parent", a.id]);
  const env = claimAs(b, a.id);
  const kind = b.kanban(["block", "--kind", "later", "why"], env);
  assert.equal(kind.code, 2);
  assert.match(
    kind.stderr,
    /"later" is not a block kind \(needs_input, dependency, transient, capability\)/,
  );
  const on = b.kanban(["block", "--kind", "dependency", "why"], env);
  assert.notEqual(on.code, 0);
  assert.match(on.stderr, /A dependency block names the task it waits on \(--on TASK_ID\)/);
  const unknown = b.kanban(["block", "--kind", "dependency", "--on", "t_00000000", "why"], env);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /Cannot wait on "t_00000000": No task/);
  const cycle = b.kanban(["block", "--kind", "dependency", "--on", child.id, "why"], env);
  assert.notEqual(cycle.code, 0);
  assert.match(cycle.stderr, /would make a cycle/);
  const wrong = b.kanban(["block", "--profile", "gpu", "why"], env);
  assert.match(wrong.stderr, /profile goes with a capability block, not needs_input/);
  assert.equal(b.json<{ task: Task }>(["show", a.id]).task.status, "running");
});
