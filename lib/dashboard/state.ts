/// <reference lib="dom" />
/**
 * The dashboard's state as signals, and the actions that change the board. The server is
 * the truth: every change is a request, after which the board is fetched again. A dragged
 * card moves at once (an optimistic overlay) and goes back if the server refuses.
 */
import { batch, computed, signal } from "@preact/signals";
import { type Status, STATUSES } from "../store/transitions.ts";
import { canAct, dropAction, type PersonAction } from "../store/actions.ts";
import { api, type BoardData, type Column, query } from "./api.ts";

// Filters ------------------------------------------------------------------------------------

export interface Filters {
  tenant: string;
  assignee: string;
  search: string;
  /** One status to show alone; "" shows every column. */
  status: string;
  archived: boolean;
}

function filtersFromUrl(): Filters {
  const q = new URLSearchParams(location.search);
  return {
    tenant: q.get("tenant") ?? "",
    assignee: q.get("assignee") ?? "",
    search: q.get("search") ?? "",
    status: STATUSES.includes(q.get("status") as Status) ? q.get("status")! : "",
    // The archived column exists only with archived tasks shown.
    archived: q.get("archived") === "1" || q.get("status") === "archived",
  };
}

export const filters = signal<Filters>(filtersFromUrl());

export function setFilters(change: Partial<Filters>): void {
  const next = { ...filters.value, ...change };
  // The archived column exists only with archived tasks shown.
  if (!next.archived && next.status === "archived") next.status = "";
  if (next.status === "archived") next.archived = true;
  filters.value = next;
  syncAddress();
  void refresh();
}

/** syncAddress keeps the filters and the open task in the address: a reload or link keeps them. */
function syncAddress(): void {
  const f = filters.value;
  const q = query({
    tenant: f.tenant,
    assignee: f.assignee,
    search: f.search,
    status: f.status,
    archived: f.archived ? "1" : "",
    view: view.value === "board" ? "" : view.value,
    task: openTask.value ?? "",
  });
  history.replaceState(null, "", `${location.pathname}${q}`);
}

// Views --------------------------------------------------------------------------------------

/** The page's views: the board, the inbox of tasks waiting on a person, and the stats plots. */
export const VIEWS = ["board", "inbox", "stats"] as const;
export type View = typeof VIEWS[number];

function viewFromUrl(): View {
  const v = new URLSearchParams(location.search).get("view");
  return VIEWS.includes(v as View) ? v as View : "board";
}

export const view = signal<View>(viewFromUrl());

/** showView switches the page to `v` (kept in the address: a reload or a link keeps it). */
export function showView(v: View): void {
  view.value = v;
  syncAddress();
}

// Preferences --------------------------------------------------------------------------------

/** stored reads a preference this browser kept (`kanban.KEY`); null when none or unreadable. */
export function stored(key: string): string | null {
  try {
    return localStorage.getItem(`kanban.${key}`);
  } catch {
    return null;
  }
}

/** store keeps a preference in this browser (for this page only where storage is refused). */
export function store(key: string, value: string): void {
  try {
    localStorage.setItem(`kanban.${key}`, value);
  } catch { /* private mode: the choice lasts for this page only */ }
}

type Theme = "light" | "dark";
const initialTheme = stored("theme") as Theme | null ??
  (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
export const theme = signal<Theme>(initialTheme);
document.documentElement.dataset["theme"] = initialTheme;

export function toggleTheme(): void {
  theme.value = theme.value === "dark" ? "light" : "dark";
  document.documentElement.dataset["theme"] = theme.value;
  store("theme", theme.value);
}

export const lanes = signal(stored("lanes") === "1");

export function toggleLanes(): void {
  lanes.value = !lanes.value;
  store("lanes", lanes.value ? "1" : "0");
}

// Layout: column order, hidden and collapsed columns, collapsed lanes, narrow screens ---------

/**
 * BOARD_ORDER is the order of the board's columns, left to right. The statuses that wait on a
 * person come first, where the eye lands: Blocked (an agent's question), Review (work to
 * approve), Triage (ideas to promote). Then the queue in the order work flows through it, then
 * what is finished, which matters least and is the first to fold away.
 */
export const BOARD_ORDER: readonly Status[] = [
  "blocked",
  "review",
  "triage",
  "todo",
  "scheduled",
  "ready",
  "running",
  "done",
  "archived",
];

/** readList reads a stored JSON array of strings (anything else reads as empty). */
function readList(key: string): string[] {
  try {
    const v: unknown = JSON.parse(stored(key) ?? "[]");
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** Columns the person hid (kept in the browser). A hidden column is shown when filtered to. */
export const hiddenColumns = signal<ReadonlySet<Status>>(
  new Set(readList("hidden").filter((s): s is Status => STATUSES.includes(s as Status))),
);

export function setHidden(status: Status, hide: boolean): void {
  const next = new Set(hiddenColumns.value);
  if (hide) next.add(status);
  else next.delete(status);
  hiddenColumns.value = next;
  store("hidden", JSON.stringify([...next]));
}

export function showAllColumns(): void {
  hiddenColumns.value = new Set();
  store("hidden", "[]");
}

/**
 * Columns the person collapsed or expanded by hand (kept in the browser); the others collapse
 * exactly when they are empty.
 */
const folds = signal<ReadonlyMap<Status, boolean>>(
  new Map(
    Object.entries(safeRecord(stored("folds"))).filter(([s, v]) =>
      STATUSES.includes(s as Status) && typeof v === "boolean"
    ) as [Status, boolean][],
  ),
);

function safeRecord(text: string | null): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text ?? "{}");
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? v as Record<string, unknown>
      : {};
  } catch {
    return {};
  }
}

/** isCollapsed tells whether column `status` with `count` tasks shows as a narrow strip. */
export function isCollapsed(status: Status, count: number): boolean {
  return folds.value.get(status) ?? count === 0;
}

/** setCollapsed folds a column (or opens it) by hand; the choice outlives the page. */
export function setCollapsed(status: Status, collapsed: boolean): void {
  const next = new Map(folds.value);
  next.set(status, collapsed);
  folds.value = next;
  store("folds", JSON.stringify(Object.fromEntries(next)));
}

/** Lanes (assignees, "" for unassigned) the person collapsed to their counts. */
export const collapsedLanes = signal<ReadonlySet<string>>(new Set(readList("collapsed-lanes")));

export function toggleLane(name: string): void {
  const next = new Set(collapsedLanes.value);
  if (!next.delete(name)) next.add(name);
  collapsedLanes.value = next;
  store("collapsed-lanes", JSON.stringify([...next]));
}

/** NARROW is where the board turns into one column at a time (a phone held upright). */
const NARROW = "(max-width: 700px)";
const narrowQuery = matchMedia(NARROW);
export const narrow = signal(narrowQuery.matches);
narrowQuery.addEventListener("change", (e) => (narrow.value = e.matches));

/** The one status a narrow screen shows (null: the first one that has tasks). */
export const phoneStatus = signal<Status | null>(null);

// Board --------------------------------------------------------------------------------------

const PAGE = 100;
const MAX_LIMIT = 5000;
/** Tasks fetched per column; "show more" raises it. */
export const limit = signal(PAGE);
/**
 * Done and archived, newest first, load by page of their own: a board keeps years of finished
 * work, and "show more" there reads one more page of that column only.
 */
const FINISHED_PAGE = 50;
export const finishedLimit = signal<{ done: number; archived: number }>({
  done: FINISHED_PAGE,
  archived: FINISHED_PAGE,
});
export const board = signal<BoardData | null>(null);
export const loadError = signal<string | null>(null);
/** Optimistic moves in flight: task id -> the column it was dropped on. */
const moving = signal<ReadonlyMap<string, Status>>(new Map());

/** A task as the board lists it: the summary, and what its card says (waits for, handoff). */
export type BoardTask = Column["tasks"][number];

const byId = new Map<string, BoardTask>();

/**
 * Every assignee seen since the page loaded (from the board and from /api/v1/assignees): the
 * lanes, and the suggestions of the assignee fields. A lane stays when its last card leaves it.
 */
export const profiles = signal<readonly string[]>([]);

function learnProfiles(names: Iterable<string | null>): void {
  const next = new Set(profiles.value);
  for (const n of names) if (n !== null) next.add(n);
  if (next.size !== profiles.value.length) {
    profiles.value = [...next].sort((a, b) => a.localeCompare(b));
  }
}

export async function loadProfiles(): Promise<void> {
  try {
    learnProfiles((await api.assignees()).map((a) => a.assignee));
  } catch { /* suggestions only: the board itself reports errors */ }
}

/**
 * keep reuses the previous object for a task that did not change, so that memoized cards
 * skip rendering and only what changed is touched.
 */
function keep(data: BoardData): BoardData {
  const seen = new Map<string, BoardTask>();
  const columns = data.columns.map((c) => ({
    ...c,
    tasks: c.tasks.map((t) => {
      const old = byId.get(t.id);
      // A parent's change (done, retitled) changes the card without touching the task.
      const same = old !== undefined && old.updated_at === t.updated_at &&
        old.status === t.status && old.title === t.title && old.handoff === t.handoff &&
        JSON.stringify(old.waits_for) === JSON.stringify(t.waits_for);
      const task = same ? old : t;
      seen.set(t.id, task);
      return task;
    }),
  }));
  byId.clear();
  for (const [id, t] of seen) byId.set(id, t);
  return { ...data, columns };
}

/** The columns as shown: the server's board with the optimistic moves applied. */
export const columns = computed<Column[]>(() => {
  const data = board.value;
  if (data === null) return [];
  const moves = moving.value;
  const shown = filters.value.status;
  let cols = data.columns;
  if (moves.size > 0) {
    const moved: BoardTask[] = [];
    cols = cols.map((c) => {
      const tasks = c.tasks.filter((t) => {
        const to = moves.get(t.id);
        if (to === undefined || to === c.status) return true;
        moved.push({ ...t, status: to });
        return false;
      });
      return { ...c, tasks, count: c.count - (c.tasks.length - tasks.length) };
    });
    cols = cols.map((c) => {
      const arriving = moved.filter((t) => t.status === c.status);
      return arriving.length === 0
        ? c
        : { ...c, tasks: [...arriving, ...c.tasks], count: c.count + arriving.length };
    });
  }
  return shown === "" ? cols : cols.filter((c) => c.status === shown);
});

let inFlight: Promise<void> | null = null;
let again = false;

/** refresh fetches the board; calls made meanwhile coalesce into one more fetch. */
export function refresh(): Promise<void> {
  if (inFlight !== null) {
    again = true;
    return inFlight;
  }
  inFlight = (async () => {
    do {
      again = false;
      const f = filters.value;
      try {
        const data = await api.board(query({
          tenant: f.tenant,
          assignee: f.assignee,
          search: f.search,
          archived: f.archived,
          limit: limit.value,
          done_limit: finishedLimit.value.done,
          archived_limit: finishedLimit.value.archived,
        }));
        batch(() => {
          board.value = keep(data);
          loadError.value = null;
          learnProfiles(data.columns.flatMap((c) => c.tasks.map((t) => t.assignee)));
          // A bulk action acts on what is on screen: forget selected cards that left it.
          const gone = [...selected.value].filter((id) => !byId.has(id));
          if (gone.length > 0) {
            selected.value = new Set([...selected.value].filter((id) => byId.has(id)));
          }
        });
      } catch (err) {
        loadError.value = message(err);
      }
    } while (again);
  })().finally(() => (inFlight = null));
  return inFlight;
}

/** nextLimit is how many tasks per column "Show more" asks for. */
export function nextLimit(): number {
  return Math.min(MAX_LIMIT, limit.value + 4 * PAGE);
}

/** showMore reads more of `status`'s column (a page more of finished work), or of every column. */
export function showMore(status?: Status): void {
  const f = finishedLimit.value;
  const more = (n: number) => Math.min(MAX_LIMIT, n + FINISHED_PAGE);
  if (status === "done" || status === "archived") {
    finishedLimit.value = { ...f, [status]: more(f[status]) };
  } else {
    limit.value = nextLimit();
    if (status === undefined) {
      finishedLimit.value = { done: more(f.done), archived: more(f.archived) };
    }
  }
  void refresh();
}

// Notices ------------------------------------------------------------------------------------

export interface Toast {
  id: number;
  kind: "error" | "info";
  text: string;
}

export const toasts = signal<Toast[]>([]);
let toastSeq = 0;

export function toast(kind: Toast["kind"], text: string): void {
  const id = ++toastSeq;
  toasts.value = [...toasts.value.slice(-3), { id, kind, text }];
  setTimeout(() => dismiss(id), kind === "error" ? 9000 : 4000);
}

export function dismiss(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err); // ApiError is an Error
}

/** attempt runs a request; a failure becomes an error toast and `null`. */
export async function attempt<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    toast("error", message(err));
    return null;
  }
}

// Prompts ------------------------------------------------------------------------------------

/** A single-line field that a prompt's choice asks for besides its text. */
export interface PromptField {
  /** The answer's key (`fields[name]`) and the input's test id (`prompt-field-NAME`). */
  name: string;
  label: string;
  placeholder?: string | undefined;
  required?: boolean | undefined;
  /** Suggestions offered while typing (a datalist). */
  suggest?: readonly string[] | undefined;
}

/** One of a prompt's choices: its label in the list, what it does, and its fields. */
export interface PromptChoice {
  value: string;
  label: string;
  /** What picking it does, shown under the list. */
  hint?: string | undefined;
  /** The text field's label with this choice (default: the prompt's label). */
  ask?: string | undefined;
  fields?: readonly PromptField[] | undefined;
}

/** What a person answered: the text, the choice and its fields (trimmed; "" when left empty). */
export interface PromptAnswer {
  text: string;
  choice: string | undefined;
  fields: Record<string, string>;
}

export interface PromptRequest {
  /** Tells prompts apart: each gets a fresh dialog (and an empty field). */
  seq: number;
  title: string;
  label: string;
  required: boolean;
  ok: string;
  /** A choice shown above the field (the first is preselected), sent back with the text. */
  choices?: readonly PromptChoice[] | undefined;
  /**
   * Sends the answer while the dialog stays open: null closes it; a message (the server's
   * refusal) is shown in the dialog, which keeps the answer for another try.
   */
  send?: ((answer: PromptAnswer) => Promise<string | null>) | undefined;
  resolve: (answer: PromptAnswer | null) => void;
}

export const prompt = signal<PromptRequest | null>(null);

/** ask opens the prompt dialog; null when cancelled. */
let promptSeq = 0;

export async function ask(o: Omit<PromptRequest, "resolve" | "seq">): Promise<string | null> {
  return (await askChoice(o))?.text ?? null;
}

/**
 * askChoice is ask() that also says which of `o.choices` was picked, with its fields; null when
 * cancelled.
 */
export function askChoice(o: Omit<PromptRequest, "resolve" | "seq">): Promise<PromptAnswer | null> {
  prompt.value?.resolve(null);
  return new Promise((resolve) => {
    const request: PromptRequest = {
      ...o,
      seq: ++promptSeq,
      resolve: (answer) => {
        if (prompt.value === request) prompt.value = null;
        resolve(answer);
      },
    };
    prompt.value = request;
  });
}

/** What an action asks a person for, and how the answer is sent. */
const QUESTIONS: Record<string, { verb: string; label: string; required: boolean; as: string }> = {
  block: {
    verb: "Block",
    label: "Why is it blocked? (a question for a person)",
    required: true,
    as: "reason",
  },
  complete: {
    verb: "Complete",
    label: "Completion summary (the handoff the next reader sees; optional)",
    required: false,
    as: "summary",
  },
  reject: {
    verb: "Reject",
    label: "What must change? (the next worker reads it)",
    required: false,
    as: "reason",
  },
  cancel: {
    verb: "Cancel",
    label: "Why is it dropped? (optional)",
    required: false,
    as: "reason",
  },
  "reject-plan": {
    verb: "Reject the plan of",
    label: "Why? (its tasks are cancelled; the task is blocked with this reason)",
    required: true,
    as: "reason",
  },
};

/**
 * askInput asks what `action` on `what` needs from a person (a block reason, a completion
 * summary, ...): the fields to send with it (none when left empty or not asked), or null when
 * the person cancelled. A block asked here is a plain one (needs_input); the drawer's Block…
 * offers every kind (block.ts).
 */
export async function askInput(
  action: string,
  what: string,
): Promise<{ reason?: string; summary?: string } | null> {
  const q = QUESTIONS[action];
  if (q === undefined) return {};
  const answer = await askChoice({
    title: `${q.verb} ${what}`,
    label: q.label,
    required: q.required,
    ok: action === "cancel" ? "Cancel task" : q.verb,
  });
  if (answer === null) return null;
  return answer.text === "" ? {} : { [q.as]: answer.text };
}

// Moves --------------------------------------------------------------------------------------

/**
 * drop moves a task to the column it was dropped on, asking first when the move needs it. In
 * lanes, `lane` is the assignee of the lane it was dropped in ("" for unassigned): a drop in
 * another lane reassigns the task as well.
 */
export async function drop(id: string, to: Status, lane?: string): Promise<void> {
  const task = byId.get(id);
  if (task === undefined || moving.value.has(id)) return;
  const reassign = lane !== undefined && lane !== (task.assignee ?? "");
  const assign = () => api.edit(id, { assignee: lane === "" ? null : lane });
  if (task.status === to) {
    if (reassign && await attempt(assign)) await refresh();
    return;
  }
  // Ask only when the drop is a legal block or complete; otherwise the server says why not.
  const action = dropAction(task, to);
  const asks = action === "block" || action === "complete" ? action : null;
  const input = asks === null ? {} : await askInput(asks, `"${task.title}"`);
  if (input === null) return;
  const body = { status: to, ...input };
  moving.value = new Map([...moving.value, [id, to]]);
  try {
    const moved = await api.move(id, body);
    if (moved.changed && moved.task.status !== to) {
      // Todo, scheduled and ready are derived: the task lands where its parents put it.
      toast(
        "info",
        `"${task.title}" is ${moved.task.status}: todo, scheduled and ready follow its parents ` +
          `and its not-before time`,
      );
    }
    // The move is made; a lane change after it is an edit of its own.
    if (reassign) await assign();
    await refresh();
  } catch (err) {
    toast("error", message(err));
  } finally {
    const next = new Map(moving.value);
    next.delete(id);
    moving.value = next;
  }
}

// Selection ----------------------------------------------------------------------------------

export const selected = signal<ReadonlySet<string>>(new Set());

export function toggleSelected(id: string): void {
  const next = new Set(selected.value);
  if (!next.delete(id)) next.add(id);
  selected.value = next;
}

export function clearSelection(): void {
  selected.value = new Set();
}

const PAST: Record<string, string> = {
  archive: "archived",
  unarchive: "unarchived",
  promote: "promoted",
  unblock: "unblocked",
  cancel: "cancelled",
  approve: "approved",
  reopen: "reopened",
  block: "blocked",
  complete: "completed",
};

/**
 * bulkTargets lists the selected tasks that `action` may move, by the transition table and
 * the status each has on the board: the ids a bulk action sends.
 */
export function bulkTargets(action: PersonAction): string[] {
  return [...selected.value].filter((id) => {
    const task = byId.get(id);
    return task !== undefined && canAct(task.status, action);
  });
}

/**
 * bulk applies one action to the selected tasks it is legal for and reports what failed.
 * Those that failed stay selected, and so do those it was not for (the next action may suit
 * them).
 */
export async function bulk(action: PersonAction): Promise<void> {
  const ids = bulkTargets(action);
  if (ids.length === 0) return;
  const asked = await askInput(action, ids.length === 1 ? "1 task" : `${ids.length} tasks`);
  if (asked === null) return;
  const result = await attempt(() => api.bulk({ ids, action, ...asked }));
  if (result === null) return;
  const failed = result.results.filter((r) => !r.ok);
  const sent = new Set(ids);
  selected.value = new Set([
    ...[...selected.value].filter((id) => !sent.has(id)),
    ...failed.map((r) => r.id),
  ]);
  const done = `${result.succeeded} ${PAST[action] ?? action}`;
  if (failed.length === 0) toast("info", done);
  else {
    const first = failed[0]!;
    toast(
      "error",
      `${done}, ${failed.length} failed: ${first.ok ? "" : first.error.message}`,
    );
  }
  await refresh();
}

// Drawer -------------------------------------------------------------------------------------

export const openTask = signal<string | null>(new URLSearchParams(location.search).get("task"));

export function openDrawer(id: string | null): void {
  openTask.value = id;
  syncAddress();
}

/** closeDrawer closes the drawer and gives the focus back to its card (j/k go on from it). */
export function closeDrawer(): void {
  const id = openTask.value;
  openDrawer(null);
  if (id === null) return;
  requestAnimationFrame(() =>
    document.querySelector<HTMLElement>(`[data-testid=card][data-id="${CSS.escape(id)}"]`)
      ?.focus()
  );
}

export const helpOpen = signal(false);
