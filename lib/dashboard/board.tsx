/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The board: columns per status (or lanes by profile), cards, drag and drop, inline create
 * and "show more". Cards are memoized on their task object, which state.ts keeps identical
 * while a task does not change, so a live update renders only the cards that changed.
 */
import { signal } from "@preact/signals";
import { memo } from "preact/compat";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Status } from "../store/transitions.ts";
import { api, type Column, type TaskSummary } from "./api.ts";
import {
  attempt,
  board,
  columns,
  drop,
  filters,
  lanes,
  loadError,
  nextLimit,
  openDrawer,
  openTask,
  profiles,
  refresh,
  selected,
  setFilters,
  showMore,
  toast,
  toggleSelected,
} from "./state.ts";

const LABELS: Record<Status, string> = {
  triage: "Triage",
  todo: "Todo",
  scheduled: "Scheduled",
  ready: "Ready",
  running: "Running",
  review: "Review",
  done: "Done",
  blocked: "Blocked",
  archived: "Archived",
};

export const label = (s: Status) => LABELS[s];

/** Columns where a new task can be typed in: triage (waits for a person) and ready. */
const CREATE_IN: readonly Status[] = ["triage", "ready"];

const dropTarget = signal<string | null>(null);
const DRAG_TYPE = "application/x-kanban-task";

/** ago says how long ago an ISO time was, briefly ("5m", "3h", "2d"). */
export function ago(iso: string | null): string {
  if (iso === null) return "";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** priorityLabel names a priority the way the CLI reads them (low -1, high 1, urgent 2). */
function priorityLabel(p: number): string | null {
  if (p >= 2) return "urgent";
  if (p === 1) return "high";
  if (p < 0) return "low";
  return null;
}

/** A tick every 30 s: the cards redraw their ages with it. */
const tick = signal(0);
setInterval(() => tick.value++, 30_000);

/** filterChip is a chip that filters the board by its value when clicked. */
function filterChip(name: "assignee" | "tenant", value: string, cls: string) {
  return (
    <button
      type="button"
      class={cls}
      title={`Show only ${name} ${value}`}
      onClick={(e) => {
        e.stopPropagation();
        setFilters({ [name]: value });
      }}
    >
      {value}
    </button>
  );
}

interface CardProps {
  task: TaskSummary;
  isSelected: boolean;
  /** Its drawer is open. */
  isOpen: boolean;
  /** The tick: a new value redraws the card's age. */
  tick: number;
}

const Card = memo(function Card({ task, isSelected, isOpen }: CardProps) {
  const prio = priorityLabel(task.priority);
  return (
    <article
      class={`card${isSelected ? " selected" : ""}${isOpen ? " open" : ""}`}
      data-testid="card"
      data-id={task.id}
      data-status={task.status}
      draggable
      tabIndex={0}
      onDragStart={(e) => {
        e.dataTransfer?.setData(DRAG_TYPE, task.id);
        e.dataTransfer?.setData("text/plain", task.id);
        if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
      }}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest("input")) return;
        openDrawer(task.id);
      }}
      onKeyDown={(e) => {
        if (e.key === "Enter") openDrawer(task.id);
      }}
    >
      <div class="card-top">
        <input
          type="checkbox"
          data-testid="card-select"
          aria-label={`select ${task.title}`}
          checked={isSelected}
          onChange={() => toggleSelected(task.id)}
        />
        <span class="card-id">{task.id.slice(0, 8)}</span>
        {task.status === "running" && <span class="pulse" title="a worker is running" />}
        {prio && <span class={`prio prio-${prio}`}>{prio}</span>}
      </div>
      <div class="card-title" data-testid="card-title">{task.title}</div>
      {task.status === "blocked" && task.blocked_reason && (
        <div class="card-note">{task.blocked_reason}</div>
      )}
      {task.status !== "blocked" && task.last_error && task.consecutive_failures > 0 && (
        <div class="card-note error">
          {task.consecutive_failures}× failed: {task.last_error}
        </div>
      )}
      <div class="card-meta">
        {task.assignee && filterChip("assignee", task.assignee, "chip")}
        {task.tenant && filterChip("tenant", task.tenant, "chip tenant")}
        <span class="age" title={task.updated_at}>{ago(task.updated_at)}</span>
      </div>
    </article>
  );
});

function AddTask({ status }: { status: Status }) {
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState(false);
  // Focused when it opens: Chromium honours the autofocus attribute once per page.
  const field = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => void (open && field.current?.focus()), [open]);
  if (!open) {
    return (
      <button
        type="button"
        class="add"
        data-testid="add-task"
        data-status={status}
        onClick={() => setOpen(true)}
        title={status === "triage" ? "New task waiting for triage" : "New task for the queue"}
      >
        + New task
      </button>
    );
  }
  const submit = async () => {
    const text = title.trim();
    if (text === "" || busy) return;
    setBusy(true);
    const f = filters.value;
    const created = await attempt(() =>
      api.create({
        title: text,
        ...(status === "triage" ? { triage: true } : {}),
        ...(f.tenant ? { tenant: f.tenant } : {}),
        ...(f.assignee ? { assignee: f.assignee } : {}),
      })
    );
    setBusy(false);
    if (created === null) return;
    setTitle("");
    toast("info", `Created ${created.task.id.slice(0, 8)} "${created.task.title}"`);
    await refresh();
  };
  return (
    <input
      class="new-task"
      data-testid="new-task-title"
      placeholder="Title, then Enter (Esc to close)"
      value={title}
      // Read-only, not disabled, while saving: the field keeps the focus for the next title.
      readOnly={busy}
      ref={field}
      onInput={(e) => setTitle(e.currentTarget.value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") void submit();
        if (e.key === "Escape") {
          e.stopPropagation();
          setOpen(false);
        }
      }}
      onBlur={() => title.trim() === "" && setOpen(false)}
    />
  );
}

function dropZone(status: Status, key: string, lane?: string) {
  return {
    onDragOver: (e: DragEvent) => {
      if (!e.dataTransfer?.types.includes(DRAG_TYPE)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      if (dropTarget.value !== key) dropTarget.value = key;
    },
    onDragLeave: (e: DragEvent) => {
      const to = e.relatedTarget as Node | null;
      if (to === null || !(e.currentTarget as Node).contains(to)) {
        if (dropTarget.value === key) dropTarget.value = null;
      }
    },
    onDrop: (e: DragEvent) => {
      e.preventDefault();
      dropTarget.value = null;
      const id = e.dataTransfer?.getData(DRAG_TYPE);
      if (id) void drop(id, status, lane);
    },
  };
}

function Cards({ tasks }: { tasks: TaskSummary[] }) {
  const sel = selected.value;
  const open = openTask.value;
  return (
    <>
      {tasks.map((t) => (
        <Card
          key={t.id}
          task={t}
          isSelected={sel.has(t.id)}
          isOpen={open === t.id}
          tick={tick.value}
        />
      ))}
    </>
  );
}

function ColumnView({ column }: { column: Column }) {
  const { status, count, tasks } = column;
  const key = `col:${status}`;
  return (
    <section
      class={`column status-${status}${dropTarget.value === key ? " over" : ""}`}
      data-testid="column"
      data-status={status}
      aria-label={`${label(status)}: ${count}`}
      {...dropZone(status, key)}
    >
      <header class="column-head">
        <span class={`dot status-${status}`} />
        <h2>{label(status)}</h2>
        <span class="count" data-testid="column-count">{count}</span>
      </header>
      {CREATE_IN.includes(status) && <AddTask status={status} />}
      <div class="cards">
        <Cards tasks={tasks} />
        {tasks.length === 0 && <p class="column-empty">Nothing here</p>}
        {count > tasks.length && (
          <button type="button" class="more" data-testid="show-more" onClick={showMore}>
            Show more ({count - tasks.length} not shown)
          </button>
        )}
      </div>
    </section>
  );
}

/**
 * laneNames: every assignee seen (`profiles` learns each board's assignees, so a lane stays
 * when emptied), then "" for unassigned.
 */
function laneNames(): string[] {
  if (filters.value.assignee !== "") return [filters.value.assignee];
  return [...profiles.value, ""];
}

function Lanes({ cols }: { cols: Column[] }) {
  const names = laneNames();
  return (
    <div class="lanes">
      <div class="lane-row lane-head">
        <div class="lane-name" />
        {cols.map((c) => (
          <div
            class={`lane-col-head${dropTarget.value === `head:${c.status}` ? " over" : ""}`}
            data-testid="column"
            data-status={c.status}
            key={c.status}
            {...dropZone(c.status, `head:${c.status}`)}
          >
            <div class="lane-col-title">
              <span class={`dot status-${c.status}`} />
              <h2>{label(c.status)}</h2>
              <span class="count" data-testid="column-count">{c.count}</span>
            </div>
            {CREATE_IN.includes(c.status) && <AddTask status={c.status} />}
          </div>
        ))}
      </div>
      {names.map((name) => (
        <div class="lane-row" data-testid="lane" data-assignee={name} key={name}>
          <div class="lane-name">{name === "" ? "unassigned" : name}</div>
          {cols.map((c) => {
            const key = `lane:${name}:${c.status}`;
            return (
              <div
                key={c.status}
                class={`lane-cell${dropTarget.value === key ? " over" : ""}`}
                data-testid="cell"
                data-status={c.status}
                {...dropZone(c.status, key, name)}
              >
                <Cards tasks={c.tasks.filter((t) => (t.assignee ?? "") === name)} />
              </div>
            );
          })}
        </div>
      ))}
      {cols.some((c) => c.count > c.tasks.length) && (
        <button type="button" class="more" data-testid="show-more" onClick={showMore}>
          Show more (up to {nextLimit()} per column)
        </button>
      )}
    </div>
  );
}

export function Board() {
  const data = board.value;
  const error = loadError.value;
  const busy = data === null;
  return (
    <main class="board" data-testid="board" aria-busy={busy ? "true" : "false"}>
      {busy && error === null && (
        <div class="state" data-testid="loading">
          <div class="spinner" />Loading the board…
        </div>
      )}
      {error !== null && (
        <div class="state error" data-testid="board-error" role="alert">
          <strong>The board could not be loaded.</strong>
          <p>{error}</p>
          <button type="button" onClick={() => void refresh()}>Try again</button>
        </div>
      )}
      {data !== null && data.total === 0 && !hasFilters() && (
        <div class="state empty" data-testid="empty-board">
          <strong>No tasks yet.</strong>
          <p>
            Create one with <kbd>c</kbd> or “+ New task”, or from a shell:{" "}
            <code>kanban create "Write the release notes"</code>
          </p>
        </div>
      )}
      {data !== null && data.total === 0 && hasFilters() && (
        <div class="state empty" data-testid="no-match">
          <strong>No task matches the filters.</strong>
        </div>
      )}
      {data !== null && (lanes.value ? <Lanes cols={columns.value} /> : (
        <div class="columns">
          {columns.value.map((c) => <ColumnView key={c.status} column={c} />)}
        </div>
      ))}
    </main>
  );
}

function hasFilters(): boolean {
  const f = filters.value;
  return f.tenant !== "" || f.assignee !== "" || f.search !== "" || f.status !== "";
}
