/**
 * The action vocabulary against the transition table: for every status and every action,
 * landing() must say exactly what the table allows, and running the action on a real board
 * must land the task where landing() said.
 */
import assert from "node:assert/strict";
import {
  actionsFrom,
  type BlockLanding,
  canAct,
  dropAction,
  type Landing,
  landing,
  landsOn,
  PERSON_ACTIONS,
  type PersonAction,
  runAction,
} from "../../lib/store/actions.ts";
import {
  BLOCK_KINDS,
  canTransition,
  DERIVED,
  IllegalTransitionError,
  type Status,
  STATUSES,
  type Store,
  type Task,
  TRANSITIONS,
} from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, claimId } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const ARCHIVED_FROM: (Status | null)[] = [null, ...STATUSES.filter((s) => s !== "archived")];
const ACTED: (PersonAction | "claim")[] = [...PERSON_ACTIONS, "claim"];
/** Every kind of block, a capability one with and without a profile. */
const BLOCK_LANDINGS: BlockLanding[] = [
  ...BLOCK_KINDS.map((kind) => ({ kind })),
  { kind: "capability", profile: true },
];

/** Every shape of task landing() can see: each status, with and without review, archived from each. */
function* shapes() {
  for (const status of STATUSES) {
    for (const review_required of [false, true]) {
      for (const archived_from of status === "archived" ? ARCHIVED_FROM : [null]) {
        yield { status, review_required, archived_from };
      }
    }
  }
}

Deno.test("landing() is null exactly when the transition table has no edge for the action", () => {
  for (const t of shapes()) {
    for (const action of ACTED) {
      const legal = TRANSITIONS.some((e) => e.from === t.status && e.via === action);
      assert.equal(landing(t, action) !== null, legal, `${t.status} via ${action}`);
      assert.equal(canAct(t.status, action), legal, `canAct(${t.status}, ${action})`);
    }
  }
});

Deno.test("landing() names only edges of the table: a status, or derived when every derived status is one", () => {
  for (const t of shapes()) {
    for (const action of ACTED) {
      const land = landing(t, action);
      if (land === null) continue;
      const where = `${JSON.stringify(t)} via ${action} -> ${land}`;
      if (land === "derived") {
        for (const s of DERIVED) assert.ok(canTransition(t.status, s, action), where);
      } else {
        assert.ok(canTransition(t.status, land, action), where);
      }
    }
  }
});

Deno.test("every person edge of the table is where some task lands by its action", () => {
  const reached = new Set<string>();
  for (const t of shapes()) {
    for (const action of ACTED) {
      const blocks = action === "block" ? BLOCK_LANDINGS : [undefined];
      for (const b of blocks) {
        const land = landing(t, action, b);
        for (const s of STATUSES) if (landsOn(land, s)) reached.add(`${t.status}|${s}|${action}`);
      }
    }
  }
  for (const e of TRANSITIONS) {
    if (!(ACTED as string[]).includes(e.via)) continue;
    assert.ok(reached.has(`${e.from}|${e.to}|${e.via}`), `${e.from} -> ${e.to} via ${e.via}`);
  }
});

Deno.test("actionsFrom() and dropAction() agree with landing()", () => {
  for (const t of shapes()) {
    assert.deepEqual(actionsFrom(t.status), PERSON_ACTIONS.filter((a) => canAct(t.status, a)));
    for (const to of STATUSES) {
      const action = dropAction(t, to);
      if (action === null) continue;
      assert.notEqual(t.status, to);
      assert.ok(landsOn(landing(t, action), to), `${t.status} dropped on ${to} via ${action}`);
    }
  }
});

/** A task in each status a person can act on, made through the store as people and workers do. */
const MAKERS: Record<string, (store: Store) => Promise<Task>> = {
  triage: (st) => add(st, "t", { triage: true }),
  todo: async (st) => {
    const parent = await add(st, "parent");
    const child = await add(st, "child");
    await st.link(parent.id, child.id, HUMAN);
    return await st.getTask(child.id);
  },
  scheduled: (st) => add(st, "t", { not_before: Date.parse("2030-01-01T00:00:00Z") }),
  ready: (st) => add(st, "t"),
  "ready, review required": (st) => add(st, "t", { review_required: true }),
  running: async (st) => (await claimId(st, (await add(st, "t", { assignee: "coder" })).id)).task,
  review: async (st) =>
    await st.complete((await add(st, "t", { review_required: true })).id, {}, HUMAN),
  done: async (st) => await st.complete((await add(st, "t")).id, {}, HUMAN),
  blocked: async (st) => await st.block((await add(st, "t")).id, "why", HUMAN),
  "archived from ready": async (st) => await st.archive((await add(st, "t")).id, HUMAN),
  "archived from done": async (st) => await st.archive((await MAKERS["done"]!(st)).id, HUMAN),
  "archived from triage": async (st) => await st.archive((await MAKERS["triage"]!(st)).id, HUMAN),
  "archived from blocked": async (st) => await st.archive((await MAKERS["blocked"]!(st)).id, HUMAN),
};

conformance(
  "runAction() lands every task where landing() says, and refuses what the table refuses",
  async (drv) => {
    await using b = await drv.fresh();
    let moved = 0;
    for (const [name, make] of Object.entries(MAKERS)) {
      for (const action of PERSON_ACTIONS) {
        const before = await make(b.store);
        const land: Landing | null = landing(before, action);
        const run = runAction(b.store, before.id, action, { reason: "why" }, HUMAN);
        if (land === null) {
          await assert.rejects(run, IllegalTransitionError, `${name} via ${action}`);
          continue;
        }
        const after = await run;
        assert.ok(
          landsOn(land, after.status),
          `${name} via ${action}: ${after.status}, not ${land}`,
        );
        moved++;
      }
    }
    assert.ok(moved > 30, `only ${moved} moves ran`);
  },
);
