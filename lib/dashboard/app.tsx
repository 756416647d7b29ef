/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The page around the board: toolbar (filters, search, lanes, theme), dispatcher health,
 * bulk actions for selected cards, toasts, the prompt dialog, keyboard shortcuts.
 */
import { Fragment } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { STATUSES } from "../store/transitions.ts";
import type { PersonAction } from "../store/actions.ts";
import { api } from "./api.ts";
import { Board, label } from "./board.tsx";
import { Drawer } from "./drawer.tsx";
import { Inbox, inboxCount } from "./inbox.tsx";
import { Stats } from "./stats.tsx";
import { usageOpen, UsageSummary } from "./usage.tsx";
import { connection, health, healthError, healthState } from "./live.ts";
import {
  attempt,
  board,
  bulk,
  bulkTargets,
  clearSelection,
  closeDrawer,
  dismiss,
  filters,
  helpOpen,
  lanes,
  loadProfiles,
  narrow,
  openTask,
  profiles,
  prompt,
  type PromptRequest,
  refresh,
  selected,
  setFilters,
  showView,
  theme,
  toast,
  toasts,
  toggleLanes,
  toggleSelected,
  toggleTheme,
  type View,
  view,
  VIEWS,
} from "./state.ts";

const DEBOUNCE_MS = 200;

/** A text filter that applies itself a moment after typing stops. */
function FilterInput(
  { name, placeholder, testid, list }: {
    name: "tenant" | "assignee" | "search";
    placeholder: string;
    testid: string;
    list?: string;
  },
) {
  const [value, setValue] = useState(filters.value[name]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return (
    <input
      type={name === "search" ? "search" : "text"}
      id={name === "search" ? "search" : undefined}
      class={`filter filter-${name}`}
      data-testid={testid}
      placeholder={placeholder}
      aria-label={placeholder}
      value={value}
      list={list}
      onInput={(e) => {
        const v = e.currentTarget.value;
        setValue(v);
        if (timer.current) clearTimeout(timer.current);
        timer.current = setTimeout(() => setFilters({ [name]: v.trim() }), DEBOUNCE_MS);
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape") (e.currentTarget as HTMLInputElement).blur();
      }}
    />
  );
}

function Toolbar() {
  useEffect(() => void loadProfiles(), []);
  const f = filters.value;
  return (
    <header class="toolbar">
      <div class="brand">
        <span class="logo" aria-hidden="true">▦</span> kanban
      </div>
      <ViewTabs />
      <FilterInput name="search" placeholder="Search  ( / )" testid="search" />
      <FilterInput name="tenant" placeholder="Tenant" testid="filter-tenant" />
      <FilterInput
        name="assignee"
        placeholder="Assignee"
        testid="filter-assignee"
        list="profiles"
      />
      <datalist id="profiles">
        {profiles.value.map((p) => <option key={p} value={p} />)}
      </datalist>
      <select
        data-testid="filter-status"
        aria-label="status"
        value={f.status}
        onChange={(e) => setFilters({ status: e.currentTarget.value })}
      >
        <option value="">All statuses</option>
        {STATUSES.filter((s) => s !== "archived" || f.archived).map((s) => (
          <option key={s} value={s}>{label(s)}</option>
        ))}
      </select>
      <label class="check">
        <input
          type="checkbox"
          data-testid="show-archived"
          checked={f.archived}
          onChange={(e) => setFilters({ archived: e.currentTarget.checked })}
        />
        Archived
      </label>
      <div class="spacer" />
      <Live />
      <button
        type="button"
        data-testid="toggle-lanes"
        aria-pressed={lanes.value}
        title="Lanes by profile (l)"
        onClick={toggleLanes}
      >
        {lanes.value ? "Columns" : "Lanes"}
      </button>
      <button
        type="button"
        data-testid="toggle-theme"
        title="Light or dark (t)"
        onClick={toggleTheme}
      >
        {theme.value === "dark" ? "Light" : "Dark"}
      </button>
      <button
        type="button"
        class="icon"
        title="Keyboard shortcuts (?)"
        onClick={() => (helpOpen.value = true)}
      >
        ?
      </button>
    </header>
  );
}

const VIEW_TEXT: Record<View, [string, string]> = {
  board: ["Board", "The board (b)"],
  inbox: ["Inbox", "Tasks waiting on a person (i)"],
  stats: ["Stats", "Throughput, queue age, outcomes and usage (s)"],
};

function ViewTabs() {
  return (
    <nav class="views" aria-label="views">
      {VIEWS.map((v) => (
        <button
          type="button"
          key={v}
          class={`view-tab${view.value === v ? " active" : ""}`}
          data-testid={`view-${v}`}
          aria-current={view.value === v ? "page" : undefined}
          title={VIEW_TEXT[v][1]}
          onClick={() => showView(v)}
        >
          {VIEW_TEXT[v][0]}
          {v === "inbox" && !!inboxCount.value && (
            <span
              class="tab-count"
              data-testid="inbox-count"
              aria-label={`${inboxCount.value} waiting`}
            >
              {inboxCount.value}
            </span>
          )}
        </button>
      ))}
    </nav>
  );
}

const LIVE_TEXT = {
  connected: ["Live", "Live: changes appear as they happen"],
  reconnecting: ["Reconnecting", "The event stream is down; the browser retries by itself"],
  closed: ["Disconnected", "The server refused the event stream: reload, or log in again"],
} as const;

function Live() {
  const state = connection.value;
  const [text, title] = LIVE_TEXT[state];
  return (
    <span class={`live ${state}`} data-testid="live" data-state={state} title={title}>
      <span class="live-dot" />
      {text}
    </span>
  );
}

/** warningsOf: the warnings the health bar lists (with no dispatcher, that one is the banner). */
function warningsOf(h: typeof health.value, state: ReturnType<typeof healthState>): string[] {
  return h?.warnings.filter((w) => state !== "down" || !/no dispatcher/i.test(w)) ?? [];
}

/**
 * HealthBanner: dispatcher health (a live region) and the usage summary at its end. On a
 * narrow screen it folds to one line, the warnings counted at its end; a tap unfolds it.
 */
/** Warnings a wide screen shows in full; with more, the health bar folds to one line. */
const WIDE_WARNINGS = 2;

function HealthBanner() {
  const [open, setOpen] = useState(false);
  const state = healthState(health.value);
  const warnings = warningsOf(health.value, state);
  // One line on a phone; on a wider screen once the warnings would wrap it.
  const foldable = narrow.value
    ? warnings.length > 0 || state === "down"
    : warnings.length > WIDE_WARNINGS;
  const folded = foldable && !open;
  return (
    <div
      class={`health ${state}${folded ? " folded" : ""}`}
      data-testid="health"
      data-state={state}
      data-folded={folded ? "true" : "false"}
    >
      <div
        class="health-status"
        role="status"
        onClick={(e) => {
          if (foldable && !(e.target as HTMLElement).closest("button")) setOpen(!open);
        }}
      >
        <HealthStatus />
      </div>
      {foldable && (
        <button
          type="button"
          class="health-fold"
          data-testid="health-toggle"
          aria-expanded={folded ? "false" : "true"}
          title={folded ? "Show the whole dispatcher status" : "Fold to one line"}
          onClick={() => setOpen(!open)}
        >
          {folded ? (warnings.length > 0 ? `⚠ ${warnings.length}` : "More") : "Less"}
        </button>
      )}
      <UsageSummary />
    </div>
  );
}

function HealthStatus() {
  const h = health.value;
  const state = healthState(h);
  const running = h?.dispatchers.filter((d) => d.holds_board) ?? [];
  const holder = running[0];
  return (
    <>
      {healthError.value !== null && <span>Dispatcher status unavailable: {healthError.value}
      </span>}
      {h !== null && state === "down" && (
        <span>
          <strong>No dispatcher is running:</strong> ready tasks will not start. Start one with{" "}
          <code>kanban dispatch</code>.
        </span>
      )}
      {h !== null && running.length === 1 && holder && (
        <span>
          Dispatcher <code>{holder.id}</code> · {h.caps.running} running
          {h.caps.max_workers !== null ? ` of ${h.caps.max_workers}` : ""} · {h.queue.ready} ready
        </span>
      )}
      {h !== null && running.length > 1 && (
        <span title="every host dispatching this board: its workers and last contact">
          {running.length} hosts: {running.map((d) => (
            <span key={d.id} class="host">
              <code>{d.host}</code>
              {d.leader ? " (leader)" : ""}
              {d.labels.length > 0 ? ` [${d.labels.join(", ")}]` : ""} {d.workers ?? 0}{" "}
              running, seen {d.last_tick_age_s ?? "?"}s ago{" "}
            </span>
          ))}· {h.caps.running} running · {h.queue.ready} ready
        </span>
      )}
      {h !== null && <RoutinesNote routines={h.routines} />}
      {warningsOf(h, state).map((w) => <span key={w} class="warning">⚠ {w}</span>)}
      {h !== null && holder && (
        <button
          type="button"
          class="link"
          title="Wake the dispatcher now"
          onClick={() =>
            void attempt(() => api.nudge()).then((r) => r && toast("info", "Dispatcher nudged"))}
        >
          Nudge
        </button>
      )}
    </>
  );
}

/** soon says how far ahead an ISO time is: "in 5m", "in 3h", "in 2d". */
function soon(iso: string): string {
  const mins = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 60_000));
  return mins < 60
    ? `in ${mins}m`
    : mins < 2880
    ? `in ${Math.round(mins / 60)}h`
    : `in ${Math.round(mins / 1440)}d`;
}

/**
 * RoutinesNote: the board's routines in the health bar: how many, the next to fire and when
 * (its hover lists each with its next time in the browser's zone, its cron and its zone).
 */
function RoutinesNote(
  { routines }: { routines: NonNullable<typeof health.value>["routines"] },
) {
  if (routines.length === 0) return null;
  const next = routines.find((r) => !r.paused && r.next_at !== null);
  const paused = routines.filter((r) => r.paused).length;
  const line = (r: typeof routines[number]) =>
    `${r.name}: ${
      r.paused
        ? "paused"
        : r.next_at === null
        ? "never again"
        : new Date(r.next_at).toLocaleString()
    } (${r.cron}, ${r.tz})`;
  return (
    <span class="routines" data-testid="routines" title={routines.map(line).join("\n")}>
      {routines.length} routine{routines.length === 1 ? "" : "s"}
      {next && next.next_at !== null && (
        <>
          {" "}· next <strong data-testid="routine-next">{next.name}</strong>{" "}
          <time dateTime={next.next_at}>{soon(next.next_at)}</time>
        </>
      )}
      {paused > 0 ? ` · ${paused} paused` : ""}
    </span>
  );
}

const BULK: { action: PersonAction; text: string }[] = [
  { action: "promote", text: "Promote" },
  { action: "unblock", text: "Unblock" },
  { action: "approve", text: "Approve" },
  { action: "complete", text: "Complete…" },
  { action: "block", text: "Block…" },
  { action: "reopen", text: "Reopen" },
  { action: "cancel", text: "Cancel…" },
  { action: "archive", text: "Archive" },
  { action: "unarchive", text: "Unarchive" },
];

/**
 * BulkBar offers the actions the transition table allows for at least one selected task, and
 * says for how many when not for all ("Approve (2 of 5)"): acting sends only those.
 */
function BulkBar() {
  const n = selected.value.size;
  if (n === 0) return null;
  void board.value; // a task that moved changes what is legal
  const offers = BULK.map((b) => ({ ...b, ids: bulkTargets(b.action) }))
    .filter((b) => b.ids.length > 0);
  return (
    <div class="bulk" data-testid="bulk-bar" role="toolbar" aria-label="bulk actions">
      <span>
        <strong data-testid="bulk-count">{n}</strong> selected
      </span>
      {offers.map((b) => (
        <button
          type="button"
          key={b.action}
          data-testid={`bulk-${b.action}`}
          data-count={b.ids.length}
          title={b.ids.length < n
            ? `Only ${b.ids.length} of the ${n} selected tasks can be moved this way`
            : undefined}
          onClick={() => void bulk(b.action)}
        >
          {b.text}
          {b.ids.length < n && <span class="bulk-part">({b.ids.length} of {n})</span>}
        </button>
      ))}
      {offers.length === 0 && <span class="muted">No action suits these tasks.</span>}
      <button type="button" class="quiet" data-testid="bulk-clear" onClick={clearSelection}>
        Clear
      </button>
    </div>
  );
}

function Toasts() {
  return (
    <div class="toasts" aria-live="polite">
      {toasts.value.map((t) => (
        <div
          class={`toast ${t.kind}`}
          data-testid="toast"
          data-kind={t.kind}
          key={t.id}
          role={t.kind === "error" ? "alert" : "status"}
          onClick={() => dismiss(t.id)}
        >
          {t.text}
        </div>
      ))}
    </div>
  );
}

/** trapTab keeps Tab and Shift+Tab inside a modal dialog (the board behind it is inert). */
function trapTab(e: KeyboardEvent): void {
  if (e.key !== "Tab") return;
  const dialog = e.currentTarget as HTMLElement;
  const stops = [
    ...dialog.querySelectorAll<HTMLElement>("select, textarea, input, button:enabled, [href]"),
  ];
  if (stops.length === 0) return e.preventDefault();
  const first = stops[0]!;
  const last = stops[stops.length - 1]!;
  const at = document.activeElement;
  if (e.shiftKey && (at === first || at === dialog)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (at === last || at === dialog)) {
    e.preventDefault();
    first.focus();
  }
}

function Prompt() {
  const p = prompt.value;
  // A new prompt is a new dialog: its field starts empty, whatever the last one held.
  return p === null ? null : <PromptDialog key={p.seq} p={p} />;
}

function PromptDialog({ p }: { p: PromptRequest }) {
  const [text, setText] = useState("");
  const [choice, setChoice] = useState(p.choices?.[0]?.value);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [tried, setTried] = useState(false);
  const [sending, setSending] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  // Focused here: Chromium honours the autofocus attribute once per page, not per dialog.
  const field = useRef<HTMLTextAreaElement>(null);
  useLayoutEffect(() => field.current?.focus(), []);
  // A click that began inside the dialog (selecting text) and ended outside does not cancel.
  const pressed = useRef(false);
  const picked = p.choices?.find((c) => c.value === choice);
  const asked = picked?.fields ?? [];
  const valueOf = (name: string) => (fields[name] ?? "").trim();
  const ok = async () => {
    if (sending) return;
    const missing = (p.required && text.trim() === "") ||
      asked.some((f) => f.required && valueOf(f.name) === "");
    if (missing) return setTried(true);
    // only the fields of the choice made: another choice's leftovers are not sent
    const answer = {
      text: text.trim(),
      choice,
      fields: Object.fromEntries(asked.map((f) => [f.name, valueOf(f.name)])),
    };
    if (p.send !== undefined) {
      setSending(true);
      const refusal = await p.send(answer);
      setSending(false);
      setRefused(refusal);
      if (refusal !== null) return;
    }
    p.resolve(answer);
  };
  return (
    <div
      class="overlay"
      onMouseDown={(e) => (pressed.current = e.target === e.currentTarget)}
      onClick={(e) => pressed.current && e.target === e.currentTarget && p.resolve(null)}
    >
      <div
        class="dialog"
        data-testid="prompt"
        role="dialog"
        aria-modal="true"
        aria-label={p.title}
        onKeyDown={trapTab}
      >
        <h2>{p.title}</h2>
        {p.choices && (
          <label>
            Kind
            <select
              data-testid="prompt-choice"
              value={choice}
              onChange={(e) => {
                setChoice(e.currentTarget.value);
                setRefused(null);
              }}
            >
              {p.choices.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
            </select>
          </label>
        )}
        {picked?.hint && <p class="hint prompt-hint" data-testid="prompt-hint">{picked.hint}</p>}
        {asked.map((f) => (
          <label key={`${choice}-${f.name}`} class="prompt-field">
            {f.label}
            <input
              data-testid={`prompt-field-${f.name}`}
              placeholder={f.placeholder}
              list={f.suggest ? `prompt-suggest-${f.name}` : undefined}
              value={fields[f.name] ?? ""}
              onInput={(e) => setFields({ ...fields, [f.name]: e.currentTarget.value })}
              onKeyDown={(e) => e.key === "Enter" && void ok()}
            />
            {f.suggest && (
              <datalist id={`prompt-suggest-${f.name}`}>
                {f.suggest.map((v) => <option key={v} value={v} />)}
              </datalist>
            )}
            {tried && f.required && valueOf(f.name) === "" && (
              <span class="field-error">This needs an answer.</span>
            )}
          </label>
        ))}
        <label>
          {picked?.ask ?? p.label}
          <textarea
            data-testid="prompt-input"
            ref={field}
            rows={4}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void ok();
              if (e.key === "Escape") {
                e.stopPropagation();
                p.resolve(null);
              }
            }}
          />
        </label>
        {tried && p.required && text.trim() === "" && (
          <p class="field-error">This needs an answer.</p>
        )}
        {refused !== null && (
          <p class="field-error" data-testid="prompt-error" role="alert">{refused}</p>
        )}
        <div class="row end">
          <button type="button" data-testid="prompt-cancel" onClick={() => p.resolve(null)}>
            Cancel
          </button>
          <button
            type="button"
            class="primary"
            data-testid="prompt-ok"
            disabled={sending}
            onClick={() => void ok()}
          >
            {p.ok}
          </button>
        </div>
      </div>
    </div>
  );
}

const SHORTCUTS: [string, string][] = [
  ["/", "search"],
  ["c", "new task (ready column)"],
  ["j / k", "next / previous card"],
  ["Enter", "open the focused card"],
  ["x", "select the focused card"],
  ["Esc", "close the drawer, dialog or selection"],
  ["b / i / s", "board / inbox / stats"],
  ["l", "lanes by profile"],
  ["t", "light / dark theme"],
  ["r", "reload the board"],
  ["?", "this help"],
];

function Help() {
  const dialog = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => dialog.current?.focus(), [helpOpen.value]);
  if (!helpOpen.value) return null;
  return (
    <div
      class="overlay"
      onClick={(e) => e.target === e.currentTarget && (helpOpen.value = false)}
    >
      <div
        class="dialog"
        data-testid="shortcuts"
        role="dialog"
        aria-modal="true"
        aria-label="keyboard shortcuts"
        tabIndex={-1}
        ref={dialog}
        onKeyDown={trapTab}
      >
        <h2>Keyboard shortcuts</h2>
        <dl class="keys">
          {SHORTCUTS.map(([k, what]) => (
            <Fragment key={k}>
              <dt>
                <kbd>{k}</kbd>
              </dt>
              <dd>{what}</dd>
            </Fragment>
          ))}
        </dl>
      </div>
    </div>
  );
}

function focusCard(step: number): void {
  const cards = [...document.querySelectorAll<HTMLElement>("[data-testid=card]")];
  if (cards.length === 0) return;
  const at = cards.indexOf(document.activeElement as HTMLElement);
  const next = at === -1 ? (step > 0 ? 0 : cards.length - 1) : at + step;
  cards[Math.max(0, Math.min(cards.length - 1, next))]?.focus();
}

/**
 * inField tells whether keys typed at `el` are text for a field (an input, textarea, select or
 * editable element): there, no shortcut fires.
 */
function inField(el: HTMLElement): boolean {
  return el.closest("input, textarea, select") !== null || el.isContentEditable;
}

function onKey(e: KeyboardEvent): void {
  // isComposing: a key that an input method (accents, CJK) is turning into text.
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const target = e.target instanceof HTMLElement ? e.target : document.body;
  const typing = inField(target);
  if (e.key === "Escape") {
    // In a field, Escape only leaves the field: what was typed there stays.
    if (typing && prompt.value === null) target.blur();
    else if (prompt.value !== null) prompt.value.resolve(null);
    else if (helpOpen.value) helpOpen.value = false;
    else if (usageOpen.value) usageOpen.value = false;
    else if (openTask.value !== null) closeDrawer();
    else if (selected.value.size > 0) clearSelection();
    return;
  }
  if (typing || prompt.value !== null) return;
  const card = target.closest<HTMLElement>("[data-testid=card]");
  switch (e.key) {
    case "/":
      e.preventDefault();
      document.getElementById("search")?.focus();
      break;
    case "?":
      helpOpen.value = !helpOpen.value;
      break;
    case "c":
      e.preventDefault();
      (document.querySelector<HTMLElement>("[data-testid=add-task][data-status=ready]") ??
        document.querySelector<HTMLElement>("[data-testid=add-task]"))?.click();
      break;
    case "j":
      focusCard(1);
      break;
    case "k":
      focusCard(-1);
      break;
    case "x":
      if (card?.dataset["id"]) toggleSelected(card.dataset["id"]);
      break;
    case "b":
      showView("board");
      break;
    case "i":
      showView("inbox");
      break;
    case "s":
      showView("stats");
      break;
    case "l":
      toggleLanes();
      break;
    case "t":
      toggleTheme();
      break;
    case "r":
      void refresh();
      break;
  }
}

export function App() {
  useEffect(() => {
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
  return (
    <div class={`app${openTask.value !== null ? " with-drawer" : ""}`}>
      <Toolbar />
      <HealthBanner />
      {view.value === "board" && <BulkBar />}
      {view.value === "board" && <Board />}
      {view.value === "inbox" && <Inbox />}
      {view.value === "stats" && <Stats />}
      <Drawer />
      <Prompt />
      <Help />
      <Toasts />
    </div>
  );
}
