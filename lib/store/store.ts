/**
 * Store is the board's kernel API: every read and write of a board goes through it. Each call
 * is one transaction of the board's driver (lib/store/driver.ts), which alone holds SQL; the
 * domain functions it calls exist once for every driver.
 */
import type { Usage, UsageInput } from "./usage.ts";
import type { Driver, Queries, TxOptions } from "./driver.ts";
import { openDriver } from "./location.ts";
import type { Kernel, StoreOptions } from "./_kernel.ts";
import { toRun, toTask } from "./_rows.ts";
import { loadRun } from "./runs.ts";
import { flushEvents, resolveId, resolveTask } from "./_kernel.ts";
import {
  assignTask,
  type CreateResult,
  createTask,
  createTasks,
  editTask,
  getTask,
  type ListFilter,
  listTasks,
  waitingOn,
} from "./tasks.ts";
import { createGraph, type CreateGraphInput, type GraphResult } from "./graph.ts";
import {
  approvePlan,
  type DecomposeRequest,
  type PlanInput,
  type PlanResult,
  type PlanState,
  planState,
  rejectPlan,
  requestDecompose,
  submitPlan,
} from "./plans.ts";
import { link, type LinkResult, unlink, type WaitsFor, waitsFor } from "./links.ts";
import { handoffs } from "./handoffs.ts";
import {
  acquireLease,
  type Dispatcher,
  type LeaseResult,
  listDispatchers,
  recordTick,
  releaseLease,
  requestDispatch,
  type Takeover,
} from "./dispatchers.ts";
import {
  peekClaimable,
  type QueueEntry,
  readyQueue,
  recordExit,
  recordSpawn,
  renewRun,
  type SpawnRecord,
} from "./runs.ts";
import {
  claim,
  type ClaimOptions,
  endRun,
  type EndRunInput,
  type EndRunResult,
  heartbeat,
  listRuns,
  openRuns,
} from "./runs.ts";
import {
  block,
  complete,
  completeTask,
  promote,
  reopen,
  review,
  shelve,
  unarchive,
  unblock,
} from "./lifecycle.ts";
import { comment, eventsSince, listComments, listEvents } from "./comments.ts";
import {
  attach,
  type AttachInput,
  type Attachment,
  type AttachmentContent,
  type AttachmentLimits,
  checkLimits,
  DEFAULT_ATTACHMENT_LIMITS,
  detach,
  listAttachments,
  readAttachment,
} from "./attachments.ts";
import { type Inbox, inbox, type InboxFilter, type Reply, reply } from "./inbox.ts";
import { createdTasks } from "./origins.ts";
import type { ReviewCommentInput } from "./review_comments.ts";
import { buildContext, type ContextCaps, DEFAULT_CAPS, type WorkerContext } from "./context.ts";
import { assignees, type AssigneeStats, countByStatus, type Stats, stats } from "./stats.ts";
import { type UsageFilter, type UsageStats, usageStats } from "./usage_stats.ts";
import { type Series, series, type SeriesFilter } from "./series.ts";
import { checkInvariants, integrityCheck, type Violation } from "./invariants.ts";
import * as maintenance from "./maintenance.ts";
import { promoteDue } from "./readiness.ts";
import { shiftDeadlines, type ShiftResult } from "./clock_step.ts";
import { type LaunchRecord, recordLaunch, runToken } from "./launch.ts";
import type { CompleteInput, CreateTaskInput, EditTaskInput } from "./input.ts";
import type { BlockOptions } from "./blocks.ts";
import type {
  Actor,
  Claim,
  Clock,
  Comment,
  Confinement,
  Run,
  RunDetail,
  Task,
  TaskDetail,
  TaskEvent,
  TaskLinkRef,
  TaskSummary,
} from "./types.ts";
import type { Status } from "./transitions.ts";
import * as notify from "./subscriptions.ts";
import { auditWrite, directRefusal, markWrite } from "./confine.ts";
import { follow, type FollowOptions } from "./feed.ts";
import * as transfer from "./transfer.ts";
import * as routines from "./routines.ts";
import {
  addBudget,
  type Budget,
  type BudgetHolds,
  budgetHolds,
  type BudgetInput,
  type BudgetSeries,
  budgetSeries,
  type BudgetStatus,
  listBudgets,
  removeBudget,
  syncBudgets,
} from "./budgets.ts";
import {
  clearHold,
  type HoldInput,
  holdProfile,
  type ProfileHold,
  profileHolds,
  releaseHold,
} from "./holds.ts";
import {
  deliverApproval,
  implementerOf,
  requestReview,
  type ReviewState,
  reviewState,
  reviewVerdict,
} from "./reviews.ts";
import {
  type Deliveries,
  type GateOutcome,
  type GateResult,
  type GateState,
  gateState,
  lastGate,
  type SettledGate,
  settleGate,
} from "./gates.ts";
import {
  type HeldInput,
  type HostOffer,
  lastHeld,
  liveHosts,
  recordHeld,
  type Why,
  why,
} from "./why.ts";

export interface OpenOptions extends Partial<StoreOptions> {
  /** Create the board when the file does not exist (`kanban init`). */
  create?: boolean;
  clock?: Clock;
  busyTimeoutMs?: number;
  /** A server database's limit on a write transaction left waiting (PostgresOptions). */
  idleInTransactionMs?: number;
  /** SQLite's `synchronous` (lib/store/sqlite/db.ts): `full` syncs every commit to disk. */
  synchronous?: "normal" | "full";
  /**
   * Open the board for a worker (lib/store/confine.ts): every write is audited and refused
   * unless it stays in the worker's task and its follow-ups; work outside a transaction is
   * read-only.
   */
  confine?: Confinement | undefined;
}

export const DEFAULT_OPTIONS: StoreOptions = {
  leaseMs: 120_000,
  failureLimit: 3,
  // 30 s, 60 s, 120 s, ... capped at one hour
  backoffMs: (n) => Math.min(30_000 * 2 ** (n - 1), 3_600_000),
  blockLimit: 3,
  transientLimit: 5,
};

/**
 * openStore opens (and, with `create`, makes) the board at `location`, migrating it if needed:
 * a file path or a `sqlite:` URL (lib/store/location.ts).
 */
export function openStore(location: string, options: OpenOptions = {}): Store {
  const driver = openDriver(location, {
    ...(options.create !== undefined ? { create: options.create } : {}),
    ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
    ...(options.synchronous !== undefined ? { synchronous: options.synchronous } : {}),
    ...(options.idleInTransactionMs !== undefined
      ? { idleInTransactionMs: options.idleInTransactionMs }
      : {}),
    writesOnlyInTx: options.confine !== undefined,
  });
  return new Store(driver, {
    now: options.clock ?? Date.now,
    options: {
      leaseMs: options.leaseMs ?? DEFAULT_OPTIONS.leaseMs,
      failureLimit: options.failureLimit ?? DEFAULT_OPTIONS.failureLimit,
      backoffMs: options.backoffMs ?? DEFAULT_OPTIONS.backoffMs,
      blockLimit: options.blockLimit ?? DEFAULT_OPTIONS.blockLimit,
      transientLimit: options.transientLimit ?? DEFAULT_OPTIONS.transientLimit,
    },
  }, options.confine ?? null);
}

/** withCreated adds to each run the tasks its worker created. */
async function withCreated(k: Kernel, taskId: string, runs: Run[]): Promise<RunDetail[]> {
  const created = await createdTasks(k, taskId, runs);
  return runs.map((r) => ({ ...r, created_tasks: created.get(r.id) ?? [] }));
}

/** How a held report is delivered once its gate passed (gates.ts). */
const GATE_DELIVERIES: Deliveries = {
  complete: (k, task, run, held, actor) => {
    if (held.route !== "complete") throw new Error("not a held completion");
    const { route: _route, ...input } = held;
    return completeTask(k, task, run, input, actor);
  },
  approve: (k, task, run, held, actor) => {
    if (held.route !== "approve") throw new Error("not a held approval");
    return deliverApproval(k, task, run, held.reason, held.usage, actor);
  },
  implementer: implementerOf,
};

export class Store {
  readonly #driver: Driver;
  readonly #base: Pick<Kernel, "now" | "options">;
  readonly #confine: Confinement | null;

  /**
   * With a confinement the driver refuses writes outside its transactions, and #write audits
   * each of them: a method that wrote any other way would be refused by the database itself,
   * so no write path can miss the audit.
   */
  constructor(
    driver: Driver,
    base: Pick<Kernel, "now" | "options">,
    confine: Confinement | null = null,
  ) {
    this.#driver = driver;
    this.#base = base;
    this.#confine = confine;
  }

  /**
   * confinedTo is a view of this board confined to one worker's run, sharing this store's
   * driver and clock: what the dispatcher's worker socket (lib/dispatch/worker_socket.ts) runs
   * a worker's calls on. Every write of the view is audited as a confined connection's is
   * (lib/store/confine.ts); maintenance that writes outside a transaction is refused. Never
   * close the view: the driver is this store's.
   */
  confinedTo(confine: Confinement): Store {
    return new Store(this.#driver, this.#base, confine);
  }

  /** runOfToken is the run whose lease token is `token`, open or ended; null when none is. */
  runOfToken(token: string): Promise<Run | null> {
    return this.#read(async (k) => {
      const row = await k.q.runWithToken(token);
      return row ? toRun(row) : null;
    });
  }

  /** The worker binding this connection is confined to, or null (a person, the dispatcher). */
  get confinement(): Confinement | null {
    return this.#confine;
  }

  /** Where the board lives: its file, or its URL. */
  get path(): string {
    return this.#driver.location;
  }

  /** Where the board lives as it may be shown: a server URL without its password. */
  get where(): string {
    return this.#driver.where;
  }

  /** The board's driver, for its own maintenance tools and tests (a driver's extras). */
  get driver(): Driver {
    return this.#driver;
  }

  #kernel(q: Queries, locked: boolean): Kernel {
    return { q, now: this.#base.now, options: this.#base.options, locked, events: [] };
  }

  /**
   * #write runs `fn` in one write transaction, then writes the events it appended as the
   * transaction's last statement (flushEvents; sent with the commit, TxOptions.last).
   * `options.lockedReads` only for a function that locks what it reads (claim, a worker's
   * complete or block: see Kernel.locked).
   */
  #write<T>(fn: (k: Kernel) => T | Promise<T>, options: TxOptions = {}): Promise<T> {
    const c = this.#confine;
    const locked = options.lockedReads === true;
    if (!c) {
      let k: Kernel | null = null;
      return this.#driver.tx(async (q) => {
        k = this.#kernel(q, locked);
        return await fn(k);
      }, { ...options, last: () => k === null ? Promise.resolve() : flushEvents(k) });
    }
    // A confined write: audited before it commits, rolled back if refused. The audit judges
    // the events this transaction wrote, whatever others commit meanwhile.
    return this.#driver.tx(async (q) => {
      const k = this.#kernel(q, locked);
      const mark = await markWrite(k, c);
      const result = await fn(k);
      const events = await flushEvents(k);
      await auditWrite(k, c, mark, events, this.#driver.where);
      return result;
    }, options);
  }

  #read<T>(fn: (k: Kernel) => T | Promise<T>): Promise<T> {
    return this.#driver.read((q) => Promise.resolve(fn(this.#kernel(q, false))));
  }

  async info(): Promise<{ path: string; schema_version: number; sqlite_version: string }> {
    const info = await this.#driver.info();
    return {
      path: this.#driver.where,
      schema_version: info.schema_version,
      sqlite_version: info.version,
    };
  }

  resolveId(ref: string): Promise<string> {
    return this.#read((k) => resolveId(k, ref));
  }

  createTask(input: CreateTaskInput, actor: Actor): Promise<CreateResult> {
    return this.#write((k) => createTask(k, input, actor));
  }

  /**
   * createTasks creates many tasks in one `BEGIN IMMEDIATE` transaction, each validated and
   * created as by createTask; when one fails, nothing of the batch is written.
   */
  createTasks(inputs: readonly CreateTaskInput[], actor: Actor): Promise<CreateResult[]> {
    return this.#write((k) => createTasks(k, inputs, actor));
  }

  /**
   * createGraph creates a graph of tasks (lib/store/graph.ts) in one transaction: every node's
   * task, waiting for the tasks of the nodes in its `after`. Idempotent by key: the same key
   * and input return the same tasks (`created: false`), the same key with other input is
   * refused (`key_conflict`); on any refusal nothing is written.
   */
  createGraph(input: CreateGraphInput, actor: Actor): Promise<GraphResult> {
    return this.#write((k) => createGraph(k, input, actor));
  }

  /**
   * decompose asks `request.profile`, an orchestrator, to split triage task `ref` into a plan
   * (lib/store/plans.ts): the task goes to the queue assigned to it, the request recorded.
   */
  decompose(ref: string, request: DecomposeRequest, actor: Actor): Promise<Task> {
    return this.#write((k) => requestDecompose(k, ref, request, actor));
  }

  /**
   * plan is the orchestrator worker's report: the plan's tasks are created, the task waits for
   * them and the worker's run ends, in one transaction, once.
   */
  plan(ref: string, input: PlanInput, actor: Actor): Promise<PlanResult> {
    return this.#write((k) => submitPlan(k, ref, input, actor));
  }

  /** approvePlan lets a plan waiting for a person run; returns the tasks it released. */
  approvePlan(ref: string, actor: Actor): Promise<Task[]> {
    return this.#write((k) => approvePlan(k, ref, actor));
  }

  /** rejectPlan cancels a plan waiting for a person; its task goes back to triage. */
  rejectPlan(ref: string, reason: string, actor: Actor): Promise<Task> {
    return this.#write((k) => rejectPlan(k, ref, reason, actor));
  }

  /** planState says where task `ref`'s decomposition stands. */
  planState(ref: string): Promise<PlanState> {
    return this.#read(async (k) => planState(k, (await resolveTask(k, ref)).id));
  }

  /** addRoutine stores a new routine (lib/store/routines.ts); its name must be free. */
  addRoutine(input: routines.AddRoutineInput, actor: Actor): Promise<routines.Routine> {
    return this.#write((k) => routines.addRoutine(k, input, actor));
  }

  /** listRoutines is every routine, by name, with its next occurrence. */
  listRoutines(): Promise<routines.Routine[]> {
    return this.#read((k) => routines.listRoutines(k));
  }

  /** getRoutine is one routine by name (NotFoundError naming the routines there are). */
  getRoutine(name: string): Promise<routines.Routine> {
    return this.#read((k) => routines.getRoutine(k, name));
  }

  /** pauseRoutine stops a routine firing; resumeRoutine starts it again from now. */
  pauseRoutine(name: string): Promise<routines.Routine> {
    return this.#write((k) => routines.setPaused(k, name, true));
  }

  resumeRoutine(name: string): Promise<routines.Routine> {
    return this.#write((k) => routines.setPaused(k, name, false));
  }

  /** removeRoutine deletes a routine (the tasks it made stay) and returns it as it was. */
  removeRoutine(name: string): Promise<routines.Routine> {
    return this.#write((k) => routines.removeRoutine(k, name));
  }

  /**
   * fireRoutine fires what of one routine is due now, in one transaction that claims its
   * occurrences and creates their tasks: none when another store fired them first.
   */
  fireRoutine(name: string): Promise<routines.Firing[]> {
    return this.#write((k) => routines.fireRoutine(k, name));
  }

  /**
   * fireDueRoutines fires every routine due now, each in its own transaction (fireRoutine), so
   * one routine that cannot make its tasks does not hold up the others: its error is reported
   * and it is tried again on the next call.
   */
  async fireDueRoutines(): Promise<{
    fired: routines.Firing[];
    failed: { routine: string; error: Error }[];
  }> {
    const names = await this.#read((k) => routines.dueRoutines(k));
    const fired: routines.Firing[] = [];
    const failed: { routine: string; error: Error }[] = [];
    for (const name of names) {
      try {
        fired.push(...await this.fireRoutine(name));
      } catch (err) {
        failed.push({ routine: name, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    return { fired, failed };
  }

  /**
   * runRoutineNow fires one occurrence of a routine now, outside its schedule: once per `key`
   * (the same key again returns the same tasks, `created: false`).
   */
  runRoutineNow(name: string, key: string): Promise<routines.Firing> {
    return this.#write((k) => routines.runNow(k, name, key));
  }

  getTask(ref: string): Promise<Task> {
    return this.#read((k) => getTask(k, ref));
  }

  listTasks(filter: ListFilter = {}): Promise<TaskSummary[]> {
    return this.#read((k) => listTasks(k, filter));
  }

  /**
   * showTask returns a task with its links, comments, recent events and runs, and where its
   * review stands when one is under way (reviews.ts).
   */
  showTask(
    ref: string,
    eventLimit = 200,
  ): Promise<
    TaskDetail & {
      waiting_on: { id: string; status: Status }[];
      review?: Exclude<ReviewState, { state: "none" }>;
      gate_result?: GateResult;
    }
  > {
    return this.#read(async (k) => {
      const row = await resolveTask(k, ref);
      const refs = (rows: TaskLinkRef[]) => rows.map((r) => ({ ...r }));
      // Independent reads asked together: a server driver pipelines them in one round trip.
      const [parents, children, comments, events, runs, waiting, review, gate] = await Promise.all([
        k.q.parentsOf(row.id),
        k.q.childrenOf(row.id),
        listComments(k, row.id),
        listEvents(k, row.id, eventLimit),
        listRuns(k, row.id).then((rs) => withCreated(k, row.id, rs.reverse())),
        waitingOn(k, row.id),
        reviewState(k, row.id),
        lastGate(k, row.id),
      ]);
      return {
        task: toTask(row),
        parents: refs(parents),
        children: refs(children),
        comments,
        events,
        runs,
        waiting_on: waiting.map((r) => ({ ...r })),
        ...(review.state === "none" ? {} : { review }),
        ...(gate === null ? {} : { gate_result: gate }),
      };
    });
  }

  editTask(ref: string, patch: EditTaskInput, actor: Actor): Promise<Task> {
    return this.#write((k) => editTask(k, ref, patch, actor));
  }

  assignTask(ref: string, assignee: string | null, actor: Actor): Promise<Task> {
    return this.#write((k) => assignTask(k, ref, assignee, actor));
  }

  /**
   * updateTask is editTask and assignTask in one transaction (the API's PATCH): all of it
   * happens, or none of it.
   */
  updateTask(
    ref: string,
    patch: EditTaskInput & { assignee?: string | null | undefined },
    actor: Actor,
  ): Promise<Task> {
    const { assignee, ...fields } = patch;
    return this.#write(async (k) => {
      const edit = assignee === undefined || Object.values(fields).some((v) => v !== undefined);
      const task = edit ? await editTask(k, ref, fields, actor) : null;
      return assignee === undefined ? task! : assignTask(k, task?.id ?? ref, assignee, actor);
    });
  }

  link(parent: string, child: string, actor: Actor): Promise<LinkResult> {
    return this.#write((k) => link(k, parent, child, actor));
  }

  unlink(parent: string, child: string, actor: Actor): Promise<LinkResult> {
    return this.#write((k) => unlink(k, parent, child, actor));
  }

  /**
   * waitsFor lists, for each task of `ids`, its unfinished parents (the first `shown`, and how
   * many): one query for all of them, as the board needs for a column of waiting tasks.
   */
  waitsFor(ids: readonly string[], shown?: number): Promise<Map<string, WaitsFor>> {
    return this.#read((k) => waitsFor(k, ids, shown));
  }

  /** handoffs reads the first line of each finished task's handoff (lib/store/handoffs.ts). */
  handoffs(ids: readonly string[]): Promise<Map<string, string>> {
    return this.#read((k) => handoffs(k, ids));
  }

  claim(options: ClaimOptions, actor: Actor): Promise<Claim | null> {
    return this.#write((k) => claim(k, options, actor), { lockedReads: true });
  }

  heartbeat(ref: string, actor: Actor, note?: string): Promise<Run> {
    return this.#write((k) => heartbeat(k, ref, actor, note));
  }

  comment(ref: string, body: string, actor: Actor): Promise<Comment> {
    return this.#write((k) => comment(k, ref, body, actor));
  }

  /**
   * attach adds a file to a task, checked against `limits` (the board's [attachments] caps);
   * a worker attaches to its own task only.
   */
  attach(
    ref: string,
    input: AttachInput,
    actor: Actor,
    limits: AttachmentLimits = DEFAULT_ATTACHMENT_LIMITS,
  ): Promise<Attachment> {
    return this.#write((k) => attach(k, ref, input, actor, checkLimits(limits)));
  }

  /** attachments lists a task's attachments by name, without their content. */
  attachments(ref: string): Promise<Attachment[]> {
    return this.#read((k) => listAttachments(k, ref));
  }

  /** attachment reads one attachment of a task with its content. */
  attachment(ref: string, name: string): Promise<AttachmentContent> {
    return this.#read((k) => readAttachment(k, ref, name));
  }

  /** detach removes an attachment from a task; a worker detaches from its own task only. */
  detach(ref: string, name: string, actor: Actor): Promise<Attachment> {
    return this.#write((k) => detach(k, ref, name, actor));
  }

  complete(ref: string, input: CompleteInput, actor: Actor): Promise<Task> {
    // A worker's report locks its run and task (lifecycle.ts); a person's stays serialisable.
    return this.#write((k) => complete(k, ref, input, actor), {
      lockedReads: actor.token !== undefined,
    });
  }

  /**
   * review approves or rejects a task in review; a rejection may carry review comments (a file
   * or a line, with the diff lines quoted) that join its reason in the comment the next worker
   * reads.
   */
  review(
    ref: string,
    decision: "approve" | "reject",
    reason: string | undefined,
    actor: Actor,
    comments?: readonly ReviewCommentInput[],
    usage?: UsageInput,
  ): Promise<Task> {
    // a worker's verdict is its reviewer's, on the task under its review (reviews.ts)
    if (actor.token !== undefined) {
      return this.#write(
        (k) => reviewVerdict(k, ref, decision, { reason, comments, usage }, actor),
        { lockedReads: true },
      );
    }
    return this.#write((k) => review(k, ref, decision, reason, actor, comments));
  }

  /** addBudget stores a budget (lib/store/budgets.ts); a person's, never a worker's. */
  addBudget(input: BudgetInput, actor: Actor): Promise<Budget> {
    return this.#write((k) => addBudget(k, input, actor));
  }

  /**
   * syncBudgets makes the budgets `owner` (a host's config.toml) declares the board's; see
   * budgets.ts. Returns one line per change.
   */
  syncBudgets(declared: readonly BudgetInput[], owner: string, actor: Actor): Promise<string[]> {
    return this.#write((k) => syncBudgets(k, declared, owner, actor));
  }

  /** removeBudget deletes a budget by name. */
  removeBudget(name: string, actor: Actor): Promise<void> {
    return this.#write((k) => removeBudget(k, name, actor));
  }

  /** budgetSeries is a budget's spend over its current window, for a plot (budgets.ts). */
  budgetSeries(name: string): Promise<BudgetSeries | null> {
    return this.#read((k) => budgetSeries(k, name));
  }

  /** budgets lists every budget with what its window has spent. */
  budgets(): Promise<BudgetStatus[]> {
    return this.#read((k) => listBudgets(k));
  }

  /**
   * budgetHolds judges the hard budgets for a dispatcher of `profiles`: what its claims must
   * leave and which runs to stop; it records each budget's first crossing in a window.
   */
  budgetHolds(profiles: readonly string[], actor: Actor): Promise<BudgetHolds> {
    return this.#write((k) => budgetHolds(k, profiles, actor));
  }

  /**
   * holdProfile holds a profile whose CLI met a rate limit, an exhausted quota or an
   * authentication failure (lib/store/holds.ts); a dispatcher's, never a worker's.
   */
  holdProfile(input: HoldInput, actor: Actor): Promise<ProfileHold> {
    return this.#write((k) => holdProfile(k, input, actor));
  }

  /** profileHolds lists the profiles' holds (ended ones too, marked inactive). */
  profileHolds(): Promise<ProfileHold[]> {
    return this.#read((k) => profileHolds(k));
  }

  /**
   * releaseHold ends a profile's hold now, and returns to the queue the tasks an
   * authentication hold blocked.
   */
  releaseHold(profile: string, actor: Actor): Promise<{ hold: ProfileHold; unblocked: string[] }> {
    return this.#write((k) => releaseHold(k, profile, actor));
  }

  /** clearHold forgets a profile's ended hold (a run of it completed since); see holds.ts. */
  clearHold(profile: string, actor: Actor): Promise<boolean> {
    return this.#write((k) => clearHold(k, profile, actor));
  }

  /**
   * requestReview is a worker's hand-in of its work for review (reviews.ts): its run ends with
   * the handoff and the task goes to its reviewer, or to a person.
   */
  requestReview(ref: string, input: CompleteInput, actor: Actor): Promise<Task> {
    return this.#write((k) => requestReview(k, ref, input, actor), {
      lockedReads: actor.token !== undefined,
    });
  }

  /**
   * settleGate reports the completion gate of the run whose token `actor` carries (gates.ts):
   * passed, the worker's held report is delivered; failed, the task goes back to its profile
   * (blocked after its last round). StaleLeaseError when the run ended meanwhile.
   */
  settleGate(ref: string, outcome: GateOutcome, actor: Actor): Promise<SettledGate> {
    return this.#write((k) => settleGate(k, ref, outcome, actor, GATE_DELIVERIES), {
      lockedReads: true,
    });
  }

  /** gateState counts task `ref`'s failed gates since the count last started (gates.ts). */
  gateState(ref: string): Promise<GateState> {
    return this.#read(async (k) => gateState(k, (await resolveTask(k, ref)).id));
  }

  /** reviewState tells where task `ref`'s review stands (rounds, reviewer, who decides). */
  reviewState(ref: string): Promise<ReviewState> {
    return this.#read(async (k) => reviewState(k, (await resolveTask(k, ref)).id));
  }

  /** block parks a task with a reason; a worker may report what its run used. */
  block(
    ref: string,
    reason: string,
    actor: Actor,
    usage?: UsageInput,
    options?: BlockOptions,
  ): Promise<Task> {
    return this.#write((k) => block(k, ref, reason, actor, usage, options), {
      lockedReads: actor.token !== undefined,
    });
  }

  unblock(ref: string, actor: Actor): Promise<Task> {
    return this.#write((k) => unblock(k, ref, actor));
  }

  /** inbox lists the tasks waiting on a person (blocked, review, triage), oldest wait first. */
  inbox(filter: InboxFilter = {}): Promise<Inbox> {
    return this.#read((k) => inbox(k, filter));
  }

  /** reply answers a blocked task: the comment and the unblock in one transaction. */
  reply(ref: string, body: string, actor: Actor): Promise<Reply> {
    return this.#write((k) => reply(k, ref, body, actor));
  }

  promote(ref: string, actor: Actor): Promise<Task> {
    return this.#write((k) => promote(k, ref, actor));
  }

  cancel(ref: string, reason: string | undefined, actor: Actor): Promise<Task> {
    return this.#write((k) => shelve(k, ref, "cancel", reason, actor));
  }

  archive(ref: string, actor: Actor): Promise<Task> {
    return this.#write((k) => shelve(k, ref, "archive", undefined, actor));
  }

  unarchive(ref: string, actor: Actor): Promise<Task> {
    return this.#write((k) => unarchive(k, ref, actor));
  }

  reopen(ref: string, actor: Actor): Promise<Task> {
    return this.#write((k) => reopen(k, ref, actor));
  }

  /** endRun closes a failed attempt (supervisor side) and does the failure accounting. */
  endRun(runId: number, input: EndRunInput, actor: Actor): Promise<EndRunResult> {
    return this.#write((k) => endRun(k, runId, input, actor));
  }

  /** promoteDue moves scheduled tasks whose time has come; returns how many moved. */
  promoteDue(actor: Actor): Promise<number> {
    return this.#write((k) => promoteDue(k, actor));
  }

  /** recordLaunch notes an open run's log and workspace before its worker starts (launch.ts). */
  recordLaunch(runId: number, launch: LaunchRecord): Promise<boolean> {
    return this.#write((k) => recordLaunch(k, runId, launch));
  }

  /** runToken is an open run's lease token, for its supervisor (launch.ts); null once ended. */
  runToken(runId: number): Promise<string | null> {
    return this.#read((k) => runToken(k, runId));
  }

  /** recordSpawn notes an open run's worker process (pid fingerprint, log, workspace). */
  recordSpawn(runId: number, spawn: SpawnRecord, actor: Actor): Promise<boolean> {
    return this.#write((k) => recordSpawn(k, runId, spawn, actor));
  }

  /** renewRun extends a live worker's lease on its behalf; false once the run has ended. */
  renewRun(runId: number): Promise<boolean> {
    return this.#write((k) => renewRun(k, runId));
  }

  recordExit(
    runId: number,
    exitCode: number | null,
    signal: string | null,
    actor: Actor,
    usage: Usage | null = null,
  ): Promise<void> {
    return this.#write((k) => recordExit(k, runId, exitCode, signal, actor, usage));
  }

  readyQueue(): Promise<QueueEntry[]> {
    return this.#read((k) => readyQueue(k));
  }

  peekClaimable(assignees: readonly string[], limit: number): Promise<Task[]> {
    return this.#read((k) => peekClaimable(k, assignees, limit));
  }

  getRun(runId: number): Promise<Run> {
    return this.#read(async (k) => toRun(await loadRun(k, runId)));
  }

  /**
   * changeMark moves whenever anything commits to the board, from this process or another:
   * polling it is how a dispatcher wakes within milliseconds of any write.
   */
  changeMark(): Promise<number> {
    return this.#driver.changeMark();
  }

  /**
   * acquireDispatchLease takes or renews the board's dispatch lease; `takeover` says when the
   * lease of another dispatcher may be taken (lib/store/dispatchers.ts `Takeover`).
   */
  acquireDispatchLease(
    me: { id: string; host: string; pid: number },
    leaseMs: number,
    options: { takeover?: Takeover } = {},
  ): Promise<LeaseResult> {
    return this.#write((k) => acquireLease(k, me, leaseMs, options.takeover ?? "expired"));
  }

  /** shiftDeadlines moves pending deadlines by a wall-clock step (lib/store/clock_step.ts). */
  shiftDeadlines(stepMs: number, actor: Actor): Promise<ShiftResult> {
    return this.#write((k) => shiftDeadlines(k, stepMs, actor));
  }

  releaseDispatchLease(id: string): Promise<void> {
    return this.#write((k) => releaseLease(k, id));
  }

  /** why explains why a task is not running (lib/store/why.ts). */
  why(ref: string): Promise<Why> {
    return this.#read((k) => why(k, ref));
  }

  /** liveHosts lists the dispatchers working now and what they published (lib/store/why.ts). */
  liveHosts(): Promise<HostOffer[]> {
    return this.#read((k) => liveHosts(k));
  }

  /** recordHeld appends a `held` event to a ready task (a dispatcher's new reason). */
  recordHeld(taskId: string, input: HeldInput, actor: Actor): Promise<boolean> {
    return this.#write((k) => recordHeld(k, taskId, input, actor));
  }

  /** lastHeld is the data of a task's last `held` event, or null. */
  lastHeld(taskId: string): Promise<Record<string, unknown> | null> {
    return this.#read((k) => lastHeld(k, taskId));
  }

  recordDispatcherTick(id: string, report: unknown): Promise<void> {
    return this.#write((k) => recordTick(k, id, report));
  }

  /** requestDispatch appends a `dispatch_requested` event, which wakes a watching dispatcher. */
  requestDispatch(actor: Actor): Promise<TaskEvent> {
    return this.#write((k) => requestDispatch(k, actor));
  }

  /** dispatchers lists those seen in the last `withinMs` (and the active one). */
  dispatchers(withinMs = 3_600_000): Promise<Dispatcher[]> {
    return this.#read((k) => listDispatchers(k, k.now() - withinMs));
  }

  listRuns(taskRef?: string, limit?: number): Promise<Run[]> {
    return this.#read((k) => listRuns(k, taskRef, limit));
  }

  openRuns(): Promise<Run[]> {
    return this.#read((k) => openRuns(k));
  }

  eventsSince(cursor: number, limit?: number): Promise<TaskEvent[]> {
    return this.#read((k) => eventsSince(k, cursor, limit));
  }

  context(ref: string, caps: ContextCaps = DEFAULT_CAPS): Promise<WorkerContext> {
    return this.#read((k) => buildContext(k, ref, caps));
  }

  stats(tenant?: string): Promise<Stats> {
    return this.#read((k) => stats(k, tenant));
  }

  /** countByStatus counts the tasks of each status: the board's column counts. */
  countByStatus(tenant?: string): Promise<Record<Status, number>> {
    return this.#read((k) => countByStatus(k, tenant));
  }

  /** usageStats sums what the runs that ended in a window used, by profile and tenant. */
  usageStats(filter: UsageFilter = {}): Promise<UsageStats> {
    return this.#read((k) => usageStats(k, filter));
  }

  /** series reads the board's work and cost in hour or day buckets (lib/store/series.ts). */
  series(filter: SeriesFilter): Promise<Series> {
    return this.#read((k) => series(k, filter));
  }

  assignees(): Promise<AssigneeStats[]> {
    return this.#read((k) => assignees(k));
  }

  checkInvariants(): Promise<Violation[]> {
    return this.#read((k) => checkInvariants(k));
  }

  integrityCheck(): Promise<string[]> {
    return this.#read((k) => integrityCheck(k));
  }

  // Notifications (subscriptions.ts) ---------------------------------------------------------

  /** addSubscription stores a webhook or command subscription; its cursor starts at the head. */
  addSubscription(input: notify.SubscriptionInput, actor: Actor): Promise<notify.Subscription> {
    return this.#write((k) => notify.addSubscription(k, input, actor));
  }

  listSubscriptions(): Promise<notify.Subscription[]> {
    return this.#read((k) => notify.listSubscriptions(k));
  }

  /** removeSubscription deletes subscription `id`; NotFoundError when there is none. */
  removeSubscription(id: number): Promise<notify.Subscription> {
    return this.#write((k) => notify.removeSubscription(k, id));
  }

  /** enableSubscription re-enables a disabled subscription, keeping its cursor. */
  enableSubscription(id: number): Promise<notify.Subscription> {
    return this.#write((k) => notify.enableSubscription(k, id));
  }

  /** dueSubscriptions lists enabled subscriptions with pending events whose retry time came. */
  dueSubscriptions(now: number): Promise<notify.DueSubscription[]> {
    return this.#read((k) => notify.dueSubscriptions(k, now));
  }

  /** nextBatch returns the matching events after a subscription's cursor (null: removed). */
  nextBatch(subId: number, limit?: number): Promise<notify.Batch | null> {
    return this.#read((k) => notify.nextBatch(k, subId, limit));
  }

  /** markDelivered advances the cursor, resets failures, ends a finished task subscription. */
  markDelivered(
    subId: number,
    through: number,
    count?: number,
  ): Promise<notify.Subscription | null> {
    return this.#write((k) => notify.markDelivered(k, subId, through, count));
  }

  /** markFailed counts a failed attempt and schedules the next (or disables the subscription). */
  markFailed(
    subId: number,
    error: string,
    nextAttemptAt: number | null,
    disable: boolean,
  ): Promise<notify.Subscription | null> {
    return this.#write((k) => notify.markFailed(k, subId, error, nextAttemptAt, disable));
  }

  /** eventHead is the newest event id (0 when none): where a live stream starts. */
  eventHead(): Promise<number> {
    return this.#read((k) => notify.eventHead(k));
  }

  // end Notifications -------------------------------------------------------------------------

  // Maintenance (maintenance.ts): gc, backup, doctor -------------------------------------------

  /** gcCandidates lists archived and done tasks finished at least `olderThanMs` ago. */
  gcCandidates(olderThanMs: number): Promise<maintenance.GcCandidates> {
    return this.#read((k) => maintenance.gcCandidates(k, olderThanMs));
  }

  /** pruneEvents deletes (or with `dryRun` counts) the events of long-finished tasks. */
  pruneEvents(olderThanMs: number, dryRun = false): Promise<maintenance.PruneResult> {
    // Its deletes run in the driver's own transactions, not audited ones: refused at once
    if (this.#confine && !dryRun) {
      return Promise.reject(directRefusal("change the board outside a task"));
    }
    return maintenance.pruneEvents(this.#driver, this.#base.now, olderThanMs, dryRun);
  }

  /** pruneAttachments deletes (or with `dryRun` counts) the attachments of archived tasks. */
  pruneAttachments(
    olderThanMs: number,
    dryRun = false,
  ): Promise<maintenance.PruneAttachmentsResult> {
    if (this.#confine && !dryRun) {
      return Promise.reject(directRefusal("change the board outside a task"));
    }
    return maintenance.pruneAttachments(this.#driver, this.#base.now, olderThanMs, dryRun);
  }

  /** backup writes a consistent copy of the live board to a new file `path`. */
  backup(path: string): Promise<maintenance.BackupResult> {
    // refused before it starts: VACUUM INTO would leave an empty file behind
    if (this.#confine) return Promise.reject(directRefusal("back up the board"));
    return maintenance.backup(this.#driver, path);
  }

  /** doctor runs SQLite's integrity checks, the invariants, and looks for stale open runs. */
  doctor(options: maintenance.DoctorOptions = {}): Promise<maintenance.DoctorReport> {
    // Not one transaction: doctor checks the file first, then reads the board in its own
    // snapshot (a damaged page ends the transaction it is read in)
    return maintenance.doctor(this.#driver, this.#base.now, options);
  }

  /**
   * exportBoard writes the whole board to `write` as a board export (docs/export-format.md),
   * from one snapshot, in bounded memory. It carries secrets (lease tokens, webhook secrets):
   * refused inside a worker.
   */
  exportBoard(write: transfer.TransferWriter): Promise<transfer.ExportReport> {
    if (this.#confine) return Promise.reject(directRefusal("export the board"));
    return transfer.exportBoard(this.#driver, this.#base.now, write);
  }

  /**
   * importBoard reads a board export into this board, which must be empty: all of it in one
   * transaction, or nothing (lib/store/transfer.ts).
   */
  importBoard(
    lines: AsyncIterable<string>,
    options: transfer.ImportOptions = {},
  ): Promise<transfer.ImportReport> {
    if (this.#confine) return Promise.reject(directRefusal("import a board"));
    return transfer.importBoard(this.#driver, lines, options);
  }

  // end Maintenance ---------------------------------------------------------------------------

  // Change feed (feed.ts) ---------------------------------------------------------------------

  /**
   * follow yields the board's events after `cursor` in batches, in order, each exactly once, as
   * any connection (this one included) commits them, until `options.signal` aborts. The
   * dispatcher, the SSE stream and `kanban watch` all read it.
   */
  follow(cursor: number, options: FollowOptions): AsyncIterable<TaskEvent[]> {
    return follow(this, cursor, options);
  }

  // end Change feed ---------------------------------------------------------------------------

  close(): void {
    this.#driver.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
