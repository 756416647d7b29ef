import assert from "node:assert/strict";
import {
  ACTIONS,
  canTransition,
  IllegalTransitionError,
  isStatus,
  START,
  type Status,
  STATUSES,
  type Store,
  TRANSITIONS,
} from "../../lib/store/mod.ts";
import { assertTransition, DERIVED, targetsFrom } from "../../lib/store/transitions.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, claimId } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";
import { exitCodeOf } from "../../lib/cli/exit_codes.ts";

Deno.test("TRANSITIONS uses only known statuses and actions, and lists each edge once", () => {
  const keys = TRANSITIONS.map((e) => `${e.from}|${e.to}|${e.via}`);
  assert.equal(new Set(keys).size, keys.length);
  for (const e of TRANSITIONS) {
    assert.ok(e.from === START || isStatus(e.from), e.from);
    assert.ok(isStatus(e.to), e.to);
    assert.ok((ACTIONS as readonly string[]).includes(e.via), e.via);
    assert.notEqual(e.from, e.to, `${e.via} must change the status`);
  }
  assert.deepEqual(new Set(TRANSITIONS.map((e) => e.via)), new Set(ACTIONS));
});

Deno.test("TRANSITIONS enters running only by claim, and only from ready", () => {
  assert.deepEqual(
    TRANSITIONS.filter((e) => e.to === "running"),
    [{ from: "ready", to: "running", via: "claim" }],
  );
});

Deno.test("TRANSITIONS leaves the start only by create, into triage or a derived status", () => {
  const fromStart = TRANSITIONS.filter((e) => e.from === START);
  assert.ok(fromStart.every((e) => e.via === "create"));
  assert.deepEqual(fromStart.map((e) => e.to).sort(), ["ready", "scheduled", "todo", "triage"]);
  assert.ok(TRANSITIONS.filter((e) => e.via === "create").every((e) => e.from === START));
});

Deno.test("TRANSITIONS reaches every status from the start, and every status can be archived", () => {
  const seen = new Set<string>([START]);
  for (let grew = true; grew;) {
    grew = false;
    for (const e of TRANSITIONS) {
      if (seen.has(e.from) && !seen.has(e.to)) {
        seen.add(e.to);
        grew = true;
      }
    }
  }
  assert.deepEqual([...seen].filter((s) => s !== START).sort(), [...STATUSES].sort());
  for (const s of STATUSES.filter((s) => s !== "archived")) {
    assert.ok(canTransition(s, "archived", "archive"), s);
  }
});

Deno.test("TRANSITIONS lets an archived task move only by unarchive", () => {
  assert.ok(TRANSITIONS.filter((e) => e.from === "archived").every((e) => e.via === "unarchive"));
});

Deno.test("TRANSITIONS derives readiness only between todo, scheduled and ready", () => {
  const derive = TRANSITIONS.filter((e) => e.via === "derive");
  assert.ok(derive.every((e) => DERIVED.includes(e.from as Status) && DERIVED.includes(e.to)));
});

Deno.test("canTransition() and targetsFrom() answer from the table", () => {
  assert.equal(canTransition("ready", "running", "claim"), true);
  assert.equal(canTransition("todo", "running", "claim"), false);
  assert.equal(canTransition("review", "done", "complete"), false);
  assert.equal(canTransition("done", "archived", "cancel"), false);
  assert.deepEqual(targetsFrom("review", "reject").sort(), ["ready", "scheduled", "todo"]);
  assert.deepEqual(targetsFrom("done", "claim"), []);
  assert.equal(isStatus("ready"), true);
  assert.equal(isStatus("doing"), false);
});

Deno.test("assertTransition() names the task, both states and what the action could do", () => {
  let err: unknown;
  try {
    assertTransition("t_0000abcd", "todo", "running", "claim");
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof IllegalTransitionError);
  assert.equal(err.code, "illegal_transition");
  assert.equal(exitCodeOf(err.code), 1);
  assert.deepEqual([err.taskId, err.from, err.to], ["t_0000abcd", "todo", "running"]);
  assert.equal(
    err.message,
    'Cannot claim task "t_0000abcd": it is todo, and todo -> running is not allowed ' +
      "(claim is not possible from todo)",
  );
  assert.throws(
    () => assertTransition("t_0000abcd", "review", "todo", "block"),
    /review -> todo is not allowed \(block from review leads to blocked or triage\)/,
  );
  assert.doesNotThrow(() => assertTransition("t_0000abcd", "ready", "running", "claim"));
});

type Case = {
  name: string;
  reviewed?: boolean;
  arrange: (s: Store, id: string) => Promise<unknown>;
  act: (s: Store, id: string) => Promise<unknown>;
  from: Status;
  to: Status;
};

const CASES: Case[] = [
  {
    name: "approve a ready task",
    arrange: async () => {},
    act: (s, id) => s.review(id, "approve", undefined, HUMAN),
    from: "ready",
    to: "done",
  },
  {
    name: "reject a done task",
    arrange: (s, id) => s.complete(id, {}, HUMAN),
    act: (s, id) => s.review(id, "reject", "no", HUMAN),
    from: "done",
    to: "ready",
  },
  {
    name: "unblock a ready task",
    arrange: async () => {},
    act: (s, id) => s.unblock(id, HUMAN),
    from: "ready",
    to: "ready",
  },
  {
    name: "promote a ready task",
    arrange: async () => {},
    act: (s, id) => s.promote(id, HUMAN),
    from: "ready",
    to: "ready",
  },
  {
    name: "reopen a running task",
    arrange: (s, id) => claimId(s, id),
    act: (s, id) => s.reopen(id, HUMAN),
    from: "running",
    to: "ready",
  },
  {
    name: "complete a done task",
    arrange: (s, id) => s.complete(id, {}, HUMAN),
    act: (s, id) => s.complete(id, {}, HUMAN),
    from: "done",
    to: "done",
  },
  {
    name: "block a blocked task",
    arrange: (s, id) => s.block(id, "first", HUMAN),
    act: (s, id) => s.block(id, "again", HUMAN),
    from: "blocked",
    to: "blocked",
  },
  {
    name: "complete a task waiting for review",
    reviewed: true,
    arrange: (s, id) => s.complete(id, {}, HUMAN),
    act: (s, id) => s.complete(id, {}, HUMAN),
    from: "review",
    to: "review",
  },
  {
    name: "archive an archived task",
    arrange: (s, id) => s.archive(id, HUMAN),
    act: (s, id) => s.archive(id, HUMAN),
    from: "archived",
    to: "archived",
  },
  {
    name: "complete an archived task",
    arrange: (s, id) => s.cancel(id, undefined, HUMAN),
    act: (s, id) => s.complete(id, {}, HUMAN),
    from: "archived",
    to: "done",
  },
  {
    name: "block a done task",
    arrange: (s, id) => s.complete(id, {}, HUMAN),
    act: (s, id) => s.block(id, "why", HUMAN),
    from: "done",
    to: "blocked",
  },
  {
    name: "unarchive a ready task",
    arrange: async () => {},
    act: (s, id) => s.unarchive(id, HUMAN),
    from: "ready",
    to: "todo",
  },
  {
    name: "cancel a done task",
    arrange: (s, id) => s.complete(id, {}, HUMAN),
    act: (s, id) => s.cancel(id, undefined, HUMAN),
    from: "done",
    to: "archived",
  },
];

for (const c of CASES) {
  conformance(
    `the store refuses to ${c.name} with IllegalTransitionError and changes nothing`,
    async (drv) => {
      await using b = await drv.fresh();
      const task = await add(b.store, "subject", { review_required: c.reviewed ?? false });
      await c.arrange(b.store, task.id);
      const before = await boardState(b.store);
      const err = await c.act(b.store, task.id).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof IllegalTransitionError, `expected a refusal, got ${err}`);
      assert.deepEqual([err.taskId, err.from, err.to], [task.id, c.from, c.to]);
      assert.match(err.message, new RegExp(`task "${task.id}": it is ${c.from}`));
      assert.match(err.message, new RegExp(`${c.from} -> ${c.to} is not allowed`));
      assert.deepEqual(await boardState(b.store), before);
    },
  );
}

conformance("the store refuses to complete a triage task", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "idea", { triage: true });
  const before = await boardState(b.store);
  await assert.rejects(
    b.store.complete(task.id, {}, HUMAN),
    (err: unknown) =>
      err instanceof IllegalTransitionError && err.from === "triage" && err.to === "done",
  );
  assert.deepEqual(await boardState(b.store), before);
});
