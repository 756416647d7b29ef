import assert from "node:assert/strict";
import { planMove } from "../../lib/store/actions.ts";
import {
  IllegalTransitionError,
  type Status,
  STATUSES,
  type TaskSummary,
  TRANSITIONS,
  ValidationError,
} from "../../lib/store/mod.ts";

const DERIVED: Status[] = ["todo", "scheduled", "ready"];

function task(status: Status, reviewRequired: boolean, archivedFrom: Status | null): TaskSummary {
  return {
    id: "t_12345678",
    title: "t",
    status,
    assignee: null,
    priority: 0,
    tenant: null,
    created_by: "alice",
    created_at: "",
    updated_at: "",
    started_at: null,
    completed_at: null,
    workspace: "scratch",
    skills: [],
    needs: [],
    block_kind: null,
    blocked_on: null,
    block_counts: {},
    reviewer: null,
    review_rounds: null,
    gate: null,
    max_runtime_seconds: null,
    not_before: null,
    review_required: reviewRequired,
    idempotency_key: null,
    consecutive_failures: 0,
    retry_after: null,
    last_error: null,
    blocked_reason: null,
    current_run_id: null,
    result: null,
    archived_from: status === "archived" ? archivedFrom : null,
  };
}

Deno.test("planMove() only ever picks an action whose edge is in the transition table", () => {
  let planned = 0;
  for (const from of STATUSES) {
    for (const to of STATUSES) {
      for (const review of [false, true]) {
        for (const back of [null, ...STATUSES.filter((s) => s !== "archived")]) {
          const t = task(from, review, back);
          let plan;
          try {
            plan = planMove(t, to, true);
          } catch (err) {
            assert.ok(err instanceof IllegalTransitionError, String(err));
            assert.match(err.message, new RegExp(`it is ${from}, and ${from} -> ${to} is not`));
            continue;
          }
          if (plan.action === null) {
            assert.equal(from, to);
            continue;
          }
          planned++;
          const edges = TRANSITIONS.filter((e) => e.from === from && e.via === plan.action);
          const reaches = edges.some((e) =>
            e.to === to || (DERIVED.includes(to) && DERIVED.includes(e.to))
          );
          assert.ok(reaches, `${from} -> ${to} via ${plan.action} is not in the table`);
        }
      }
    }
  }
  assert.ok(planned > 50);
});

Deno.test("planMove() refuses every drop on running, and derived-to-derived moves", () => {
  for (const from of STATUSES.filter((s) => s !== "running")) {
    assert.throws(() => planMove(task(from, false, null), "running", true), /only a claim/);
  }
  for (const from of DERIVED) {
    for (const to of DERIVED.filter((s) => s !== from)) {
      assert.throws(() => planMove(task(from, false, null), to, true), /derived/);
    }
  }
});

Deno.test("planMove() asks for a reason before blocking, and restores archived tasks home", () => {
  assert.throws(() => planMove(task("ready", false, null), "blocked", false), ValidationError);
  assert.deepEqual(planMove(task("archived", false, "done"), "done", false), {
    action: "unarchive",
  });
  assert.deepEqual(planMove(task("archived", false, "blocked"), "blocked", false), {
    action: "unarchive",
  });
  assert.deepEqual(planMove(task("archived", false, "triage"), "triage", false), {
    action: "unarchive",
  });
  assert.deepEqual(planMove(task("archived", false, "running"), "ready", false), {
    action: "unarchive",
  });
  assert.throws(
    () => planMove(task("archived", false, "done"), "ready", false),
    /unarchiving brings it back to done/,
  );
});
