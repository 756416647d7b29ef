/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * A card on the board: what a glance at a task needs. Beyond its title, a card says what
 * matters for its status: what a waiting task waits for, the handoff of a finished one, why a
 * task is blocked or failing, and its priority by name. Cards are memoized on their task
 * object, which state.ts keeps identical while a task does not change, so a live update
 * renders only the cards that changed.
 */
import { signal } from "@preact/signals";
import { memo } from "preact/compat";
import { priorityText } from "../store/priority.ts";
import type { Status } from "../store/transitions.ts";
import {
  type BoardTask,
  openDrawer,
  openTask,
  selected,
  setFilters,
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

/** The drag data type of a card: a drop elsewhere (a file, a link) is not a move. */
export const DRAG_TYPE = "application/x-kanban-task";

/** ago says how long ago an ISO time was, briefly ("5m", "3h", "2d"). */
export function ago(iso: string | null): string {
  if (iso === null) return "";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/**
 * priorityBadge names a priority as every surface does (`high`, `urgent`; a number only when
 * it has no name) and picks its colour; null for normal, which most tasks are and which would
 * only add noise to every card.
 */
function priorityBadge(p: number): { text: string; tone: string } | null {
  if (p === 0) return null;
  return { text: priorityText(p), tone: p >= 2 ? "urgent" : p === 1 ? "high" : "low" };
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

type WaitsFor = NonNullable<BoardTask["waits_for"]>;

/**
 * Waits says how many parents a waiting task waits for; the parents themselves show while
 * the card is hovered or has the focus (a title attribute would reach neither the keyboard
 * nor a touch screen), each a button that opens its drawer.
 */
function Waits({ waits }: { waits: WaitsFor }) {
  const more = waits.count - waits.parents.length;
  return (
    <div class="card-waits" data-testid="card-waits">
      <span class="waits-count">waits for {waits.count}</span>
      <ul class="card-parents" data-testid="card-parents">
        {waits.parents.map((p) => (
          <li key={p.id}>
            <button
              type="button"
              class="parent"
              data-testid="card-parent"
              data-id={p.id}
              title={`${label(p.status)}: open ${p.id}`}
              onClick={(e) => {
                e.stopPropagation();
                openDrawer(p.id);
              }}
            >
              <span class={`dot status-${p.status}`} />
              <span class="card-id">{p.id.slice(0, 8)}</span>
              <span class="parent-title">{p.title}</span>
            </button>
          </li>
        ))}
        {more > 0 && <li class="muted">and {more} more</li>}
      </ul>
    </div>
  );
}

/** Notes is what a card says for its status: why blocked, why failing, the handoff. */
function Notes({ task }: { task: BoardTask }) {
  const blocked = task.status === "blocked" && task.blocked_reason ? task.blocked_reason : null;
  // A task blocked after its failures has the last error in its reason already.
  const failure = task.consecutive_failures > 0 && task.last_error &&
      !(blocked?.includes(task.last_error))
    ? task.last_error
    : null;
  const handoff = (task.status === "done" || task.status === "review") && task.handoff
    ? task.handoff
    : null;
  // the kind of the latest block, while the task has not completed since (a triaged task's
  // reason is the loop breaker's)
  const kind = task.block_kind !== null && task.status !== "running" && task.status !== "archived"
    ? task.block_kind
    : null;
  const triaged = task.status === "triage" && task.blocked_reason ? task.blocked_reason : null;
  return (
    <>
      {kind && (
        <div class="card-note" data-testid="card-block-kind">
          block: {kind}
          {task.blocked_on ? ` on ${task.blocked_on}` : ""}
        </div>
      )}
      {blocked && <div class="card-note" data-testid="card-blocked">{blocked}</div>}
      {triaged && <div class="card-note" data-testid="card-triaged">{triaged}</div>}
      {failure && (
        <div class="card-note error" data-testid="card-error">
          {task.consecutive_failures}× failed: {failure}
        </div>
      )}
      {handoff && <div class="card-note handoff" data-testid="card-handoff">{handoff}</div>}
    </>
  );
}

interface CardProps {
  task: BoardTask;
  isSelected: boolean;
  /** Its drawer is open. */
  isOpen: boolean;
  /** The tick: a new value redraws the card's age. */
  tick: number;
}

const Card = memo(function Card({ task, isSelected, isOpen }: CardProps) {
  const prio = priorityBadge(task.priority);
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
        // Enter on a button inside (a parent, a chip) is that button's.
        if (e.key === "Enter" && !(e.target as HTMLElement).closest("button")) {
          openDrawer(task.id);
        }
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
        {prio && (
          <span
            class={`prio prio-${prio.tone}`}
            data-testid="card-priority"
            title={`priority ${task.priority}`}
          >
            {prio.text}
          </span>
        )}
      </div>
      <div class="card-title" data-testid="card-title">{task.title}</div>
      {task.waits_for && <Waits waits={task.waits_for} />}
      <Notes task={task} />
      <div class="card-meta">
        {task.assignee && filterChip("assignee", task.assignee, "chip")}
        {task.tenant && filterChip("tenant", task.tenant, "chip tenant")}
        <span class="age" title={task.updated_at}>{ago(task.updated_at)}</span>
      </div>
    </article>
  );
});

/** Cards renders `tasks` as cards, each re-rendered only when its task or selection changes. */
export function Cards({ tasks }: { tasks: BoardTask[] }) {
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
