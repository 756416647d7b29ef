/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The board: columns per status (or lanes by profile), drag and drop, inline create and "show
 * more". It fits the window: columns share its width, empty ones fold to a narrow strip, the
 * person may hide columns, and the statuses that wait on a person come first. A narrow screen
 * shows one status at a time.
 */
import { signal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Status } from "../store/transitions.ts";
import { api, type Column } from "./api.ts";
import { Cards, DRAG_TYPE, label } from "./card.tsx";
import {
  attempt,
  board,
  BOARD_ORDER,
  collapsedLanes,
  columns,
  drop,
  filters,
  hiddenColumns,
  isCollapsed,
  lanes,
  loadError,
  narrow,
  nextLimit,
  phoneStatus,
  profiles,
  refresh,
  setCollapsed,
  setHidden,
  showAllColumns,
  showMore,
  toast,
  toggleLane,
} from "./state.ts";

export { ago, label } from "./card.tsx";

/** Columns where a new task can be typed in: triage (waits for a person) and ready. */
const CREATE_IN: readonly Status[] = ["triage", "ready"];

const dropTarget = signal<string | null>(null);

/** A column whose create field opens as it appears (its strip's "+" was pressed). */
const createIn = signal<Status | null>(null);

function AddTask({ status }: { status: Status }) {
  const [open, setOpen] = useState(createIn.peek() === status);
  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => void (createIn.peek() === status && (createIn.value = null)), []);
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

/**
 * Strip is a folded column: its name and count written upwards, the whole strip a button
 * that opens it (click, Enter or Space). A create column keeps a "+" that opens it with the
 * create field ready.
 */
function Strip({ status, count }: { status: Status; count: number }) {
  return (
    <>
      <button
        type="button"
        class="strip"
        data-testid="column-expand"
        aria-expanded="false"
        title={`Open the ${label(status)} column`}
        onClick={() => setCollapsed(status, false)}
      >
        <span class={`dot status-${status}`} />
        <span class="strip-name">{label(status)}</span>
        <span class="count" data-testid="column-count">{count}</span>
      </button>
      {CREATE_IN.includes(status) && (
        <button
          type="button"
          class="strip-add"
          data-testid="add-task"
          data-status={status}
          aria-label={`New task in ${label(status)}`}
          title={`New task in ${label(status)}`}
          onClick={() => {
            createIn.value = status;
            setCollapsed(status, false);
          }}
        >
          +
        </button>
      )}
    </>
  );
}

/** HeadTools: fold the column to a strip, or hide it (the "hidden" strip shows it again). */
function HeadTools({ status }: { status: Status }) {
  return (
    <span class="head-tools">
      <button
        type="button"
        class="icon"
        data-testid="column-collapse"
        aria-label={`Fold ${label(status)} to a strip`}
        title="Fold to a strip"
        onClick={() => setCollapsed(status, true)}
      >
        ‹
      </button>
      <button
        type="button"
        class="icon"
        data-testid="column-hide"
        aria-label={`Hide ${label(status)}`}
        title="Hide the column"
        onClick={() => setHidden(status, true)}
      >
        ×
      </button>
    </span>
  );
}

/** ColumnView: one status. `single` is a column shown alone (a filter, a phone): never folded. */
function ColumnView({ column, single = false }: { column: Column; single?: boolean }) {
  const { status, count, tasks } = column;
  const key = `col:${status}`;
  const folded = !single && isCollapsed(status, count);
  return (
    <section
      class={`column status-${status}${folded ? " collapsed" : ""}${count > 0 ? " busy" : ""}${
        dropTarget.value === key ? " over" : ""
      }`}
      data-testid="column"
      data-status={status}
      data-collapsed={folded ? "true" : "false"}
      aria-label={`${label(status)}: ${count}`}
      {...dropZone(status, key)}
    >
      {folded ? <Strip status={status} count={count} /> : (
        <>
          <header class="column-head">
            <span class={`dot status-${status}`} />
            <h2>{label(status)}</h2>
            <span class="count" data-testid="column-count">{count}</span>
            {!single && <HeadTools status={status} />}
          </header>
          {CREATE_IN.includes(status) && <AddTask status={status} />}
          <div class="cards">
            <Cards tasks={tasks} />
            {tasks.length === 0 && <p class="column-empty">Nothing here</p>}
            {count > tasks.length && (
              <button
                type="button"
                class="more"
                data-testid="show-more"
                onClick={() => showMore(status)}
              >
                Show more ({count - tasks.length} not shown)
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}

/**
 * HiddenColumns: how many columns are hidden, and a menu to show them again. `cols` are the
 * board's columns before hiding.
 */
function HiddenColumns({ cols, across = false }: { cols: Column[]; across?: boolean }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  // A click anywhere else closes the menu.
  useEffect(() => {
    if (!open) return;
    const away = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("click", away);
    return () => document.removeEventListener("click", away);
  }, [open]);
  const hidden = cols.filter((c) => hiddenColumns.value.has(c.status));
  if (hidden.length === 0) return null;
  const close = (e: KeyboardEvent) => {
    if (e.key !== "Escape") return;
    e.stopPropagation();
    setOpen(false);
  };
  const show = (status: Status | null) => {
    if (status === null || hidden.length === 1) setOpen(false);
    if (status === null) showAllColumns();
    else setHidden(status, false);
  };
  return (
    <div class={`hidden-cols${across ? " across" : ""}`} onKeyDown={close} ref={box}>
      <button
        type="button"
        class="strip"
        data-testid="hidden-columns"
        aria-expanded={open ? "true" : "false"}
        aria-haspopup="menu"
        title="Columns you hid: show them again"
        onClick={() => setOpen(!open)}
      >
        <span class="strip-name">{hidden.length} hidden</span>
      </button>
      {open && (
        <div class="col-menu" role="menu" data-testid="hidden-menu">
          {hidden.map((c) => (
            <button
              type="button"
              role="menuitem"
              key={c.status}
              data-testid="show-column"
              data-status={c.status}
              onClick={() => show(c.status)}
            >
              <span class={`dot status-${c.status}`} /> Show {label(c.status)}
              <span class="count">{c.count}</span>
            </button>
          ))}
          {hidden.length > 1 && (
            <button
              type="button"
              role="menuitem"
              class="quiet"
              onClick={() => show(null)}
            >
              Show all
            </button>
          )}
        </div>
      )}
    </div>
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

/** LaneHead: a column's title in the lanes' sticky header row (folded: a strip). */
function LaneHead({ column, single }: { column: Column; single: boolean }) {
  const { status, count } = column;
  const key = `head:${status}`;
  const folded = !single && isCollapsed(status, count);
  return (
    <div
      class={`lane-col-head${folded ? " collapsed" : ""}${dropTarget.value === key ? " over" : ""}`}
      data-testid="column"
      data-status={status}
      data-collapsed={folded ? "true" : "false"}
      {...dropZone(status, key)}
    >
      {folded ? <Strip status={status} count={count} /> : (
        <>
          <div class="lane-col-title">
            <span class={`dot status-${status}`} />
            <h2>{label(status)}</h2>
            <span class="count" data-testid="column-count">{count}</span>
            {!single && <HeadTools status={status} />}
          </div>
          {CREATE_IN.includes(status) && <AddTask status={status} />}
        </>
      )}
    </div>
  );
}

/**
 * Lane: one assignee's row. Collapsed, it keeps its header with the number of its tasks in
 * each column (of those loaded; "+" when a column has more than were loaded).
 */
function Lane({ name, cols, single }: { name: string; cols: Column[]; single: boolean }) {
  const collapsed = collapsedLanes.value.has(name);
  const mine = (c: Column) => c.tasks.filter((t) => (t.assignee ?? "") === name);
  const total = cols.reduce((n, c) => n + mine(c).length, 0);
  return (
    <div
      class={`lane-row${collapsed ? " collapsed" : ""}`}
      data-testid="lane"
      data-assignee={name}
      data-collapsed={collapsed ? "true" : "false"}
    >
      <div class="lane-name">
        <button
          type="button"
          class="lane-toggle"
          data-testid="lane-toggle"
          aria-expanded={collapsed ? "false" : "true"}
          title={collapsed ? "Show this lane's cards" : "Fold this lane to its counts"}
          onClick={() => toggleLane(name)}
        >
          <span class="caret" aria-hidden="true">{collapsed ? "▸" : "▾"}</span>
          <span class="lane-label">{name === "" ? "unassigned" : name}</span>
        </button>
        <span class="count">{total}</span>
      </div>
      {cols.map((c) => {
        const key = `lane:${name}:${c.status}`;
        const folded = !single && isCollapsed(c.status, c.count);
        const tasks = mine(c);
        return (
          <div
            key={c.status}
            class={`lane-cell${folded ? " collapsed" : ""}${
              dropTarget.value === key ? " over" : ""
            }`}
            data-testid="cell"
            data-status={c.status}
            {...dropZone(c.status, key, name)}
          >
            {
              /* A folded lane counts every column; a folded column in an open lane only
                what it holds, so the strip stays quiet. */
            }
            {(collapsed || (folded && tasks.length > 0)) && (
              <span
                class={`lane-count${tasks.length === 0 ? " none" : ""}`}
                data-testid="lane-count"
              >
                {tasks.length}
                {c.count > c.tasks.length ? "+" : ""}
              </span>
            )}
            {!collapsed && !folded && <Cards tasks={tasks} />}
          </div>
        );
      })}
    </div>
  );
}

/**
 * Lanes: one row per assignee under a header row that stays at the top while the lanes
 * scroll. Each cell scrolls on its own past a height, so a busy lane does not push the
 * others out of sight; a lane folds to its counts.
 */
function Lanes({ cols, all, single }: { cols: Column[]; all: Column[]; single: boolean }) {
  return (
    <div class={`lanes${single ? " single" : ""}`}>
      <div class="lane-row lane-head">
        <div class="lane-name lane-corner">{!single && <HiddenColumns cols={all} across />}</div>
        {cols.map((c) => <LaneHead key={c.status} column={c} single={single} />)}
      </div>
      {laneNames().map((name) => <Lane key={name} name={name} cols={cols} single={single} />)}
      {cols.some((c) => c.count > c.tasks.length) && (
        <button
          type="button"
          class="more"
          data-testid="show-more"
          onClick={() => showMore()}
        >
          Show more (up to {nextLimit()} per column)
        </button>
      )}
    </div>
  );
}

/**
 * PhoneSwitch picks the one status a narrow screen shows, each with its count: a native
 * select, which a phone shows as its own picker.
 */
function PhoneSwitch({ cols, chosen }: { cols: Column[]; chosen: Status }) {
  return (
    <div class="phone-switch">
      <select
        data-testid="status-switch"
        aria-label="status to show"
        value={chosen}
        onChange={(e) => (phoneStatus.value = e.currentTarget.value as Status)}
      >
        {cols.map((c) => (
          <option key={c.status} value={c.status}>{label(c.status)} · {c.count}</option>
        ))}
      </select>
    </div>
  );
}

/** ordered puts the board's columns in BOARD_ORDER. */
function ordered(cols: Column[]): Column[] {
  const at = (s: Status) => BOARD_ORDER.indexOf(s);
  return [...cols].sort((a, b) => at(a.status) - at(b.status));
}

function BoardBody() {
  const all = ordered(columns.value);
  // A status filtered to shows even when hidden: the person asked for it.
  const single = filters.value.status !== "";
  const cols = single ? all : all.filter((c) => !hiddenColumns.value.has(c.status));
  if (cols.length === 0) {
    return (
      <div class="state" data-testid="all-hidden">
        <strong>Every column is hidden.</strong>
        <HiddenColumns cols={all} across />
      </div>
    );
  }
  if (narrow.value) {
    const chosen = cols.find((c) => c.status === phoneStatus.value) ??
      cols.find((c) => c.count > 0) ?? cols[0]!;
    return (
      <>
        <PhoneSwitch cols={cols} chosen={chosen.status} />
        {lanes.value ? <Lanes cols={[chosen]} all={all} single /> : (
          <div class="columns single">
            <ColumnView column={chosen} single />
          </div>
        )}
      </>
    );
  }
  if (lanes.value) return <Lanes cols={cols} all={all} single={single} />;
  return (
    <div class="columns">
      {cols.map((c) => <ColumnView key={c.status} column={c} single={single} />)}
      {!single && <HiddenColumns cols={all} />}
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
      {data !== null && <BoardBody />}
    </main>
  );
}

function hasFilters(): boolean {
  const f = filters.value;
  return f.tenant !== "" || f.assignee !== "" || f.search !== "" || f.status !== "";
}
