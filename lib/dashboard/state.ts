/// <reference lib="dom" />
/**
 * The dashboard's state as signals, and the actions that change the board. The server is
 * the truth: every change is a request, after which the board is fetched again. A dragged
 * card moves at once (an optimistic overlay) and goes back if the server refuses.
 */
import { batch, computed, signal } from "@preact/signals";
import { canTransition, type Status, STATUSES } from "../store/transitions.ts";
import { api, type BoardData, type Column, query, type TaskSummary } from "./api.ts";

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
    task: openTask.value ?? "",
  });
  history.replaceState(null, "", `${location.pathname}${q}`);
}

// Preferences --------------------------------------------------------------------------------

function stored(key: string): string | null {
  try {
    return localStorage.getItem(`kanban.${key}`);
  } catch {
    return null;
  }
}

function store(key: string, value: string): void {
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

// Board --------------------------------------------------------------------------------------

const PAGE = 100;
const MAX_LIMIT = 5000;
/** Tasks fetched per column; "show more" raises it. */
export const limit = signal(PAGE);
export const board = signal<BoardData | null>(null);
export const loadError = signal<string | null>(null);
/** Optimistic moves in flight: task id -> the column it was dropped on. */
const moving = signal<ReadonlyMap<string, Status>>(new Map());

const byId = new Map<string, TaskSummary>();

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
  const seen = new Map<string, TaskSummary>();
  const columns = data.columns.map((c) => ({
    ...c,
    tasks: c.tasks.map((t) => {
      const old = byId.get(t.id);
      const same = old !== undefined && old.updated_at === t.updated_at &&
        old.status === t.status && old.title === t.title;
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
    const moved: TaskSummary[] = [];
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

export function showMore(): void {
  limit.value = nextLimit();
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

export interface PromptRequest {
  /** Tells prompts apart: each gets a fresh dialog (and an empty field). */
  seq: number;
  title: string;
  label: string;
  required: boolean;
  ok: string;
  resolve: (value: string | null) => void;
}

export const prompt = signal<PromptRequest | null>(null);

/** ask opens the prompt dialog; null when cancelled. */
let promptSeq = 0;

export function ask(o: Omit<PromptRequest, "resolve" | "seq">): Promise<string | null> {
  prompt.value?.resolve(null);
  return new Promise((resolve) => {
    const request: PromptRequest = {
      ...o,
      seq: ++promptSeq,
      resolve: (v) => {
        if (prompt.value === request) prompt.value = null;
        resolve(v);
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
};

/**
 * askInput asks what `action` on `what` needs from a person (a block reason, a completion
 * summary, ...): the fields to send with it (none when left empty or not asked), or null when
 * the person cancelled.
 */
export async function askInput(
  action: string,
  what: string,
): Promise<{ reason?: string; summary?: string } | null> {
  const q = QUESTIONS[action];
  if (q === undefined) return {};
  const answer = await ask({
    title: `${q.verb} ${what}`,
    label: q.label,
    required: q.required,
    ok: action === "cancel" ? "Cancel task" : q.verb,
  });
  if (answer === null) return null;
  return answer === "" ? {} : { [q.as]: answer };
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
  const from = task.status;
  // Ask only when the table allows the move; otherwise the server says why it cannot be.
  const asks = to === "blocked" && canTransition(from, "blocked", "block")
    ? "block"
    : to === (task.review_required ? "review" : "done") && canTransition(from, to, "complete")
    ? "complete"
    : null;
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

/** bulk applies one action to every selected task and reports what failed. */
export async function bulk(action: string): Promise<void> {
  const ids = [...selected.value];
  if (ids.length === 0) return;
  const asked = await askInput(action, `${ids.length} tasks`);
  if (asked === null) return;
  const result = await attempt(() => api.bulk({ ids, action, ...asked }));
  if (result === null) return;
  const failed = result.results.filter((r) => !r.ok);
  selected.value = new Set(failed.map((r) => r.id));
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
