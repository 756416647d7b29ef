/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The task drawer: everything about one task (markdown body with an editor, actions,
 * dependencies, attachments, comments, runs, the live worker log, events), fetched again whenever an
 * event names the task.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Status } from "../store/transitions.ts";
import { canAct, type PersonAction } from "../store/actions.ts";
import { PRIORITY_NAMES, priorityFromText, priorityText } from "../store/priority.ts";
import { api, type Detail, type PlanInfo, type Run } from "./api.ts";
import { ago, label } from "./board.tsx";
import { health, touched } from "./live.ts";
import { useSignalEffect } from "@preact/signals";
import { markdown } from "./markdown.ts";
import { RunUsage, TaskUsage } from "./usage.tsx";
import { Review } from "./review.tsx";
import { Attachments } from "./attachments.tsx";
import { WhyWaiting } from "./why.tsx";
import { Gate } from "./gate.tsx";
import { askBlock } from "./block.ts";
import {
  askInput,
  attempt,
  closeDrawer,
  message,
  openDrawer,
  openTask,
  refresh,
  toast,
} from "./state.ts";

/** The drawer's label of each action; the buttons appear in this order. */
const ACTION_LABELS: Record<PersonAction, string> = {
  promote: "Promote",
  complete: "Complete…",
  approve: "Approve",
  reject: "Reject…",
  block: "Block…",
  unblock: "Unblock",
  reopen: "Reopen",
  unarchive: "Unarchive",
  cancel: "Cancel task…",
  archive: "Archive",
};
const DRAWER_ORDER = Object.keys(ACTION_LABELS) as PersonAction[];

/** offered lists what the transition table lets a person do from `status`, in drawer order. */
function offered(status: Status): PersonAction[] {
  return DRAWER_ORDER.filter((a) => canAct(status, a));
}

function duration(ms: number | null): string {
  if (ms === null) return "";
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function Markdown({ text, testid }: { text: string; testid: string }) {
  // deno-lint-ignore react-no-danger -- sanitized by DOMPurify in markdown()
  return (
    <div class="md" data-testid={testid} dangerouslySetInnerHTML={{ __html: markdown(text) }} />
  );
}

export function Drawer() {
  const id = openTask.value;
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const aside = useRef<HTMLElement>(null);
  // Only the newest request's answer is shown (an older one may arrive after it).
  const latest = useRef(0);
  const newest = useRef<Promise<void>>(Promise.resolve());
  const load = (taskId: string): Promise<void> => {
    const n = ++latest.current;
    const answer = (async () => {
      try {
        const d = await api.detail(taskId);
        if (n !== latest.current || openTask.value !== taskId) return;
        setDetail(d);
        setError(null);
        // Opened by a prefix (?task=t_51): name the task by its id from now on.
        if (d.task.id !== taskId) openDrawer(d.task.id);
      } catch (err) {
        if (n === latest.current && openTask.value === taskId) setError(message(err));
      }
    })();
    newest.current = answer;
    return answer;
  };
  /**
   * Loads again and resolves once the drawer shows an answer no older than this one: a load an
   * event started meanwhile discards this one's answer, so wait for that one too.
   */
  const loadShown = async (taskId: string) => {
    let waiting = load(taskId);
    await waiting;
    while (newest.current !== waiting) {
      waiting = newest.current;
      await waiting;
    }
  };
  useEffect(() => {
    if (id !== null && detail?.task.id === id) return; // the same task, now by its full id
    setDetail(null);
    setError(null);
    if (id !== null) {
      void load(id);
      aside.current?.focus();
    }
  }, [id]);
  // Reload when an event names the shown task. An effect on the signal, not a read in render:
  // events about other tasks must not redraw the drawer.
  const shownId = useRef<string | null>(null);
  shownId.current = detail?.task.id ?? null;
  useSignalEffect(() => {
    const task = touched.value.task;
    if (task !== null && task === shownId.current) void load(task);
  });
  if (id === null) return null;
  const reload = () => loadShown(id);
  return (
    <aside
      ref={aside}
      tabIndex={-1}
      class="drawer"
      data-testid="drawer"
      data-id={detail?.task.id ?? id}
      aria-label="task details"
    >
      <div class="drawer-bar">
        <code>{detail?.task.id ?? id}</code>
        <button
          type="button"
          class="icon"
          data-testid="drawer-close"
          aria-label="close"
          title="Close (Esc)"
          onClick={closeDrawer}
        >
          ×
        </button>
      </div>
      {error !== null && (
        <div class="state error" data-testid="drawer-error" role="alert">
          {error}
        </div>
      )}
      {detail === null && error === null && (
        <div class="state">
          <div class="spinner" />Loading…
        </div>
      )}
      {detail !== null && <DrawerBody key={detail.task.id} detail={detail} reload={reload} />}
    </aside>
  );
}

/**
 * PlanActions: decomposition in the drawer (docs/decompose.md). A triage or blocked task can be
 * handed to the orchestrator; a task whose plan waits for a person shows the plan's size with
 * Approve and Reject.
 */
function PlanActions(
  { detail, after }: { detail: Detail; after: (p: Promise<unknown>) => Promise<unknown> },
) {
  const { task } = detail;
  const planned = detail.events.some((e) => e.kind === "planned");
  // read again after every event of the task (approving a plan does not move the task itself)
  const last = detail.events.at(-1)?.id ?? 0;
  const [plan, setPlan] = useState<PlanInfo | null>(null);
  useEffect(() => {
    setPlan(null);
    if (planned) void api.plan(task.id).then(setPlan, () => setPlan(null));
  }, [task.id, last, planned]);
  const decomposable = task.status === "triage" || task.status === "blocked";
  if (!decomposable && plan?.state !== "approval") return null;
  return (
    <div class="actions plan-actions" data-testid="plan-actions">
      {decomposable && (
        <button
          type="button"
          data-testid="action-decompose"
          title="Ask the orchestrator profile to split it into a plan of tasks"
          onClick={() => void after(api.decompose(task.id))}
        >
          Decompose
        </button>
      )}
      {plan?.state === "approval" && (
        <>
          <span class="plan-note" data-testid="plan-waiting">
            Plan of {plan.tasks?.length ?? 0} tasks waits for your approval
          </span>
          <button
            type="button"
            data-testid="action-approve-plan"
            onClick={() => void after(api.approvePlan(task.id))}
          >
            Approve plan
          </button>
          <button
            type="button"
            class="quiet"
            data-testid="action-reject-plan"
            onClick={async () => {
              const input = await askInput("reject-plan", `"${task.title}"`);
              if (input?.reason) await after(api.rejectPlan(task.id, input.reason));
            }}
          >
            Reject plan…
          </button>
        </>
      )}
    </div>
  );
}

function DrawerBody({ detail, reload }: { detail: Detail; reload: () => Promise<void> }) {
  const { task } = detail;
  const after = async (p: Promise<unknown>) => {
    const ok = await attempt(() => p);
    if (ok !== null) await Promise.all([reload(), refresh()]);
    return ok;
  };
  const run = async (action: PersonAction) => {
    // the drawer's Block… offers every kind (a drop on the column is a plain block)
    if (action === "block") {
      if (await askBlock(task, knownProfiles() ?? [])) await Promise.all([reload(), refresh()]);
      return;
    }
    const input = await askInput(action, `"${task.title}"`);
    if (input === null) return;
    await after(
      action === "approve" || action === "reject"
        ? api.review(task.id, action, input.reason)
        : api.act(task.id, action, input),
    );
  };
  return (
    <div class="drawer-scroll">
      <Title detail={detail} after={after} />
      <div class="badges">
        <span class={`badge status-${task.status}`} data-testid="drawer-status">
          {label(task.status)}
        </span>
        {task.review_required && <span class="badge">review required</span>}
        {task.consecutive_failures > 0 && (
          <span class="badge warn">{task.consecutive_failures} failures</span>
        )}
      </div>
      <div class="actions">
        {offered(task.status).map((a) => (
          <button
            type="button"
            key={a}
            data-testid={`action-${a}`}
            class={a === "cancel" || a === "archive" ? "quiet" : ""}
            onClick={() => void run(a)}
          >
            {ACTION_LABELS[a]}
          </button>
        ))}
      </div>
      <PlanActions detail={detail} after={after} />
      <WhyWaiting detail={detail} />
      {task.blocked_reason && (task.status === "blocked" || task.status === "triage") && (
        <div class="callout warn">
          <strong>Blocked{task.block_kind ? ` (${task.block_kind})` : ""}:</strong>{" "}
          {task.blocked_reason}
        </div>
      )}
      {task.block_kind && task.status !== "blocked" && task.status !== "triage" && (
        <div class="callout" data-testid="drawer-block-kind">
          <strong>Last block:</strong> {task.block_kind}
          {task.blocked_on ? ` on ${task.blocked_on}` : ""}
          {task.retry_after ? `, retried after ${task.retry_after}` : ""}
        </div>
      )}
      {task.last_error && (
        <div class="callout error">
          <strong>Last error:</strong> {task.last_error}
        </div>
      )}
      {task.result && (
        <div class="callout">
          <strong>Result</strong>
          <Markdown text={task.result} testid="drawer-result" />
        </div>
      )}
      <Handoff detail={detail} />
      <Gate detail={detail} />
      <Review detail={detail} after={after} />
      <Fields detail={detail} after={after} />
      <Body detail={detail} after={after} />
      <Dependencies detail={detail} after={after} />
      <Attachments detail={detail} />
      <Comments detail={detail} after={after} />
      <Runs detail={detail} />
      <Events detail={detail} />
    </div>
  );
}

/**
 * Handoff shows the summary and metadata of the completion that put a task in review or done
 * (its run's, or a person's: those live only in the `completed` event).
 */
function Handoff({ detail }: { detail: Detail }) {
  if (detail.task.status !== "review" && detail.task.status !== "done") return null;
  const done = detail.events.findLast((e) =>
    e.kind === "completed" || e.kind === "review_requested"
  );
  const summary = typeof done?.data["summary"] === "string" ? done.data["summary"] : null;
  const metadata = done?.data["metadata"];
  const hasMetadata = typeof metadata === "object" && metadata !== null &&
    Object.keys(metadata).length > 0;
  if (done === undefined || (summary === null && !hasMetadata)) return null;
  return (
    <div class="callout" data-testid="handoff">
      <strong>Handoff</strong> <span class="muted">by {done.actor}</span>
      {summary !== null && <Markdown text={summary} testid="handoff-summary" />}
      {hasMetadata && <pre class="metadata">{JSON.stringify(metadata, null, 2)}</pre>}
    </div>
  );
}

/** note is the reason or summary an event carries, cut for one line of the activity. */
function note(data: Record<string, unknown>): string | null {
  const text = data["reason"] ?? data["summary"] ?? data["error"];
  if (typeof text !== "string" || text.trim() === "") return null;
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 140 ? `${line.slice(0, 139)}…` : line;
}

type After = (p: Promise<unknown>) => Promise<unknown>;

/** leave moves the focus from a field to its drawer (which keeps j/k/Esc working from there). */
function leave(field: HTMLElement): void {
  field.closest<HTMLElement>("[data-testid=drawer]")?.focus();
  if (field.contains(document.activeElement)) field.blur();
}

/** useFocusOnOpen focuses an editor when it appears, the caret after its text. */
function useFocusOnOpen<T extends HTMLInputElement | HTMLTextAreaElement>() {
  const ref = useRef<T>(null);
  // The autofocus attribute does not do it: Chromium honours it once per page.
  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  return ref;
}

interface SaveOnce {
  /** `text` is the saved value written otherwise (" coder", "High"): nothing is sent. */
  same?: (text: string, saved: string) => boolean;
  /** Sends a changed text; resolves false when it was refused (a toast said why). */
  save: (text: string) => Promise<boolean>;
  /** Ctrl/Cmd+Enter saves and Enter is a new line. */
  multiline?: boolean;
  /** A refused text stays in the editor (true) or the saved value comes back (false). */
  keepRefused?: boolean;
  /** The edit ended: saved, unchanged, or left with Escape. */
  done?: () => void;
}

/**
 * useSaveOnce is how every drawer editor saves: once, with the text it holds when the person
 * presses Enter (Ctrl/Cmd+Enter when multiline) or the focus leaves it, and never while they
 * type. Escape puts the saved value back and leaves. An unchanged value sends nothing. While
 * the person types, a reload of the task (any event about it) leaves the text alone.
 *
 * Keys end an edit by moving the focus to the drawer, so the focus leaving the editor is the one
 * place a save starts: Enter and the blur after it cannot send twice. (Not onChange: with
 * preact/compat loaded, as board.tsx loads it, onChange of a text field fires on every key.)
 */
function useSaveOnce(saved: string, o: SaveOnce) {
  const [draft, setDraft] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  // The truth between renders: a key and the blur after it may come before a render.
  const typed = useRef<string | null>(null);
  const busy = useRef(false);
  const escaped = useRef(false);
  const edit = (text: string | null) => {
    typed.current = text;
    setDraft(text);
  };
  const commit = async () => {
    const text = typed.current;
    if (busy.current) return;
    if (text === null || text === saved || o.same?.(text, saved)) {
      edit(null);
      o.done?.();
      return;
    }
    busy.current = true;
    setSaving(true);
    const ok = await o.save(text);
    busy.current = false;
    setSaving(false);
    if (ok || !o.keepRefused) edit(null);
    if (ok) o.done?.();
  };
  /** Leaves the editor from `el` without saving, the saved value back. */
  const cancel = (el: HTMLElement) => {
    escaped.current = true;
    leave(el);
    escaped.current = false;
    edit(null);
    o.done?.();
  };
  return {
    /** What the editor shows: the typed text, else the saved value. */
    text: draft ?? saved,
    saving,
    /** The editor's own props (an input or a textarea). */
    field: {
      value: draft ?? saved,
      readOnly: saving,
      onInput: (e: Event) => edit((e.currentTarget as HTMLInputElement).value),
      onKeyDown: (e: KeyboardEvent) => {
        if (e.isComposing) return;
        const el = e.currentTarget as HTMLElement;
        if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation(); // the page's Escape would close the drawer
          cancel(el);
        } else if (e.key === "Enter" && (!o.multiline || e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          leave(el);
        }
      },
    },
    /** onFocusOut of the editor (the field, or the box holding it and its buttons). */
    onFocusOut: (e: FocusEvent) => {
      const box = e.currentTarget as HTMLElement;
      const to = e.relatedTarget as Node | null;
      if (to !== null && box.contains(to)) return; // to the editor's own Save or Cancel
      // Another window or tab took the focus: the field keeps it and is still being edited.
      if (to === null && box.contains(document.activeElement)) return;
      if (!escaped.current) void commit();
    },
    /** onClick of a Save button: saves what was typed, if anything, and leaves. */
    save: (e: MouseEvent) => {
      leave(e.currentTarget as HTMLElement); // the focus leaving may already save: once
      void commit();
    },
    /** onClick of a Cancel button: the saved value back, and leave. */
    cancel: (e: MouseEvent) => cancel(e.currentTarget as HTMLElement),
  };
}

function Title({ detail, after }: { detail: Detail; after: After }) {
  const [editing, setEditing] = useState(false);
  if (!editing) {
    return (
      <h1
        class="drawer-title"
        data-testid="drawer-title"
        title="Click to edit (or Enter)"
        tabIndex={0}
        onClick={() => setEditing(true)}
        onKeyDown={(e) => e.key === "Enter" && setEditing(true)}
      >
        {detail.task.title}
      </h1>
    );
  }
  return <TitleEditor detail={detail} after={after} close={() => setEditing(false)} />;
}

function TitleEditor(
  { detail, after, close }: { detail: Detail; after: After; close: () => void },
) {
  const ref = useFocusOnOpen<HTMLInputElement>();
  const title = useSaveOnce(detail.task.title, {
    same: (text, saved) => text.trim() === saved,
    save: async (text) => (await after(api.edit(detail.task.id, { title: text }))) !== null,
    keepRefused: true,
    done: close,
  });
  return (
    <input
      ref={ref}
      class="title-input"
      data-testid="title-input"
      aria-label="title"
      {...title.field}
      onFocusOut={title.onFocusOut}
    />
  );
}

/** The profiles in the dispatcher's config (GET /api/v1/status); null until it answered. */
function knownProfiles(): string[] | null {
  return health.value?.caps.profiles.map((p) => p.profile) ?? null;
}

function Fields({ detail, after }: { detail: Detail; after: After }) {
  const { task } = detail;
  const assignee = useSaveOnce(task.assignee ?? "", {
    same: (text, saved) => text.trim() === saved,
    save: async (text) => {
      const name = text.trim() === "" ? null : text.trim();
      return (await after(api.edit(task.id, { assignee: name }))) !== null;
    },
  });
  const priority = useSaveOnce(priorityText(task.priority), {
    same: (text) => priorityFromText(text) === task.priority,
    save: async (text) => {
      const n = priorityFromText(text);
      if (n === null) {
        toast("error", `Priority "${text.trim()}" is not low, normal, high, urgent or a number`);
        return false;
      }
      return (await after(api.edit(task.id, { priority: n }))) !== null;
    },
  });
  const reviewer = useSaveOnce(task.reviewer ?? "", {
    same: (text, saved) => text.trim() === saved,
    save: async (text) => {
      const name = text.trim() === "" ? null : text.trim();
      return (await after(api.edit(task.id, { reviewer: name }))) !== null;
    },
  });
  const known = knownProfiles();
  const name = assignee.text.trim();
  // Warned, not refused: people take tasks too. No agent starts the task for this name.
  const unknown = name !== "" && known !== null && !known.includes(name);
  return (
    <dl class="fields">
      <dt>Assignee</dt>
      <dd>
        <input
          data-testid="assignee-input"
          aria-label="assignee"
          placeholder="unassigned (a profile name)"
          list="drawer-profiles"
          {...assignee.field}
          onFocusOut={assignee.onFocusOut}
        />
        <datalist id="drawer-profiles" data-testid="assignee-profiles">
          {(known ?? []).map((p) => <option key={p} value={p} />)}
        </datalist>
        {unknown && (
          <p class="field-warning" data-testid="assignee-warning" role="status">
            No profile "{name}" in the dispatcher's config: no agent will start this task (a person
            can still take it).
          </p>
        )}
      </dd>
      <dt>Priority</dt>
      <dd>
        <input
          data-testid="priority-input"
          aria-label="priority"
          title="low, normal, high, urgent, or a whole number (higher runs first)"
          list="priority-names"
          {...priority.field}
          onFocusOut={priority.onFocusOut}
        />
        <datalist id="priority-names">
          {Object.keys(PRIORITY_NAMES).map((p) => <option key={p} value={p} />)}
        </datalist>
      </dd>
      <dt>Reviewer</dt>
      <dd>
        <input
          data-testid="reviewer-input"
          aria-label="reviewer"
          title="the profile whose worker reviews this task's work, round by round"
          placeholder="none (a person reviews if asked)"
          list="drawer-profiles"
          {...reviewer.field}
          onFocusOut={reviewer.onFocusOut}
        />
      </dd>
      {task.tenant && (
        <>
          <dt>Tenant</dt>
          <dd>{task.tenant}</dd>
        </>
      )}
      <dt>Workspace</dt>
      <dd>{task.workspace}</dd>
      <dt>Created</dt>
      <dd title={task.created_at}>{ago(task.created_at)} ago by {task.created_by}</dd>
      {task.not_before && (
        <>
          <dt>Not before</dt>
          <dd>{new Date(task.not_before).toLocaleString()}</dd>
        </>
      )}
      {task.skills.length > 0 && (
        <>
          <dt>Skills</dt>
          <dd>{task.skills.join(", ")}</dd>
        </>
      )}
      {task.needs.length > 0 && (
        <>
          <dt>Needs</dt>
          <dd title="labels a host must offer to run it">{task.needs.join(", ")}</dd>
        </>
      )}
    </dl>
  );
}

function Body({ detail, after }: { detail: Detail; after: After }) {
  const [editing, setEditing] = useState(false);
  return (
    <section class="section">
      <header>
        <h3>Description</h3>
        {!editing && (
          <button
            type="button"
            class="link"
            data-testid="edit-body"
            onClick={() => setEditing(true)}
          >
            Edit
          </button>
        )}
      </header>
      {editing
        ? <BodyEditor detail={detail} after={after} close={() => setEditing(false)} />
        : detail.task.body.trim() === ""
        ? <p class="muted" data-testid="drawer-body">No description.</p>
        : <Markdown text={detail.task.body} testid="drawer-body" />}
    </section>
  );
}

function BodyEditor(
  { detail, after, close }: { detail: Detail; after: After; close: () => void },
) {
  const ref = useFocusOnOpen<HTMLTextAreaElement>();
  // A refused body stays in the editor: a long text is not lost to a toast.
  const body = useSaveOnce(detail.task.body, {
    save: async (text) => (await after(api.edit(detail.task.id, { body: text }))) !== null,
    multiline: true,
    keepRefused: true,
    done: close,
  });
  return (
    <div class="editor" onFocusOut={body.onFocusOut}>
      <textarea ref={ref} data-testid="body-editor" rows={10} {...body.field} />
      <div class="row">
        <button type="button" class="primary" data-testid="save-body" onClick={body.save}>
          Save
        </button>
        <button type="button" data-testid="cancel-body" onClick={body.cancel}>Cancel</button>
        <span class="hint">Markdown · Ctrl+Enter or leaving saves · Esc cancels</span>
      </div>
    </div>
  );
}

function Dependencies({ detail, after }: { detail: Detail; after: After }) {
  const [parent, setParent] = useState("");
  const add = async () => {
    const p = parent.trim();
    if (p === "") return;
    if ((await after(api.link(p, detail.task.id))) !== null) setParent("");
  };
  const waiting = new Set(detail.waiting_on.map((w) => w.id));
  return (
    <section class="section">
      <header>
        <h3>Dependencies</h3>
      </header>
      <p class="muted small">Waits for</p>
      <ul class="links">
        {detail.parents.map((p) => (
          <li key={p.id} data-testid="parent" data-id={p.id}>
            <span class={`dot status-${p.status}`} title={p.status} />
            <a href={`?task=${p.id}`} onClick={(e) => (e.preventDefault(), openDrawer(p.id))}>
              {p.title}
            </a>
            {waiting.has(p.id) && <span class="chip">waiting</span>}
            <button
              type="button"
              class="icon"
              title="Remove this dependency"
              data-testid="remove-parent"
              onClick={() => void after(api.unlink(p.id, detail.task.id))}
            >
              ×
            </button>
          </li>
        ))}
        {detail.parents.length === 0 && <li class="muted">nothing</li>}
      </ul>
      <div class="row">
        <input
          data-testid="add-parent-input"
          placeholder="task id (or prefix) this waits for"
          value={parent}
          onInput={(e) => setParent(e.currentTarget.value)}
          onKeyDown={(e) => e.key === "Enter" && void add()}
        />
        <button type="button" data-testid="add-parent" onClick={() => void add()}>
          Add
        </button>
      </div>
      <p class="muted small">Blocks</p>
      <ul class="links">
        {detail.children.map((c) => (
          <li key={c.id} data-testid="child" data-id={c.id}>
            <span class={`dot status-${c.status}`} title={c.status} />
            <a href={`?task=${c.id}`} onClick={(e) => (e.preventDefault(), openDrawer(c.id))}>
              {c.title}
            </a>
          </li>
        ))}
        {detail.children.length === 0 && <li class="muted">nothing</li>}
      </ul>
    </section>
  );
}

function Comments({ detail, after }: { detail: Detail; after: After }) {
  const [text, setText] = useState("");
  const submit = async () => {
    if (text.trim() === "") return;
    if ((await after(api.comment(detail.task.id, text))) !== null) setText("");
  };
  return (
    <section class="section">
      <header>
        <h3>Comments ({detail.comments.length})</h3>
      </header>
      {detail.comments.map((c) => (
        <div class="comment" data-testid="comment" key={c.id}>
          <div class="comment-head">
            <strong data-testid="comment-author">{c.author}</strong>
            {c.run_id !== null && <span class="chip">run {c.run_id}</span>}
            <span class="muted" title={c.created_at}>{ago(c.created_at)} ago</span>
          </div>
          <Markdown text={c.body} testid="comment-body" />
        </div>
      ))}
      <textarea
        data-testid="comment-input"
        placeholder="Write a comment (markdown; Ctrl+Enter sends)"
        rows={3}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => e.key === "Enter" && (e.ctrlKey || e.metaKey) && void submit()}
      />
      <div class="row">
        <button type="button" class="primary" data-testid="comment-submit" onClick={submit}>
          Comment
        </button>
      </div>
    </section>
  );
}

function Runs({ detail }: { detail: Detail }) {
  const runs = [...detail.runs].sort((a, b) => b.id - a.id); // newest first
  const withLog = runs.filter((r) => r.log_path !== null);
  const [chosen, setChosen] = useState<number | null>(null);
  // The chosen run's log, else the open run's, else the newest run's.
  const shown = withLog.find((r) => r.id === chosen) ?? withLog.find((r) => r.open) ??
    withLog[0] ?? null;
  return (
    <section class="section">
      <header>
        <h3>Runs ({detail.runs.length})</h3>
        <TaskUsage runs={detail.runs} />
      </header>
      {detail.runs.length === 0 && <p class="muted">Not run yet.</p>}
      {runs.map((r) => (
        <div
          class={`run${r.open ? " open" : ""}${shown?.id === r.id ? " shown" : ""}`}
          data-testid="run"
          key={r.id}
        >
          <div class="run-head">
            <strong>#{r.id}</strong>
            <span class={`badge outcome-${r.outcome ?? "open"}`}>
              {r.open ? "running" : r.outcome ?? "ended"}
            </span>
            {r.profile && <span class="chip">{r.profile}</span>}
            <span class="muted">{duration(r.duration_ms)}</span>
            <span class="muted" title={r.started_at}>{ago(r.started_at)} ago</span>
            {r.log_path !== null && (
              <button
                type="button"
                class="link"
                onClick={() => setChosen(r.id)}
              >
                log
              </button>
            )}
          </div>
          <RunUsage run={r} />
          {r.summary && <Markdown text={r.summary} testid="run-summary" />}
          {r.error && <div class="run-error">{r.error}</div>}
          {r.exit_code !== null && <div class="muted small">exit code {r.exit_code}</div>}
          {r.signal && <div class="muted small">signal {r.signal}</div>}
          {r.metadata && Object.keys(r.metadata).length > 0 && (
            <pre class="metadata">{JSON.stringify(r.metadata, null, 2)}</pre>
          )}
          {r.created_tasks.length > 0 && (
            <div class="muted small">
              created: {r.created_tasks.map((t) => (
                <a
                  key={t.id}
                  href={`?task=${t.id}`}
                  onClick={(e) => (e.preventDefault(), openDrawer(t.id))}
                >
                  {t.title}
                  {" "}
                </a>
              ))}
            </div>
          )}
        </div>
      ))}
      {shown !== null && <Log run={shown} />}
    </section>
  );
}

const LOG_POLL_MS = 1000;

function Log({ run }: { run: Run }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const tick = async () => {
      try {
        const tail = await api.log(run.id);
        if (stopped) return;
        setText((tail.truncated ? "…\n" : "") + tail.text);
        setError(null);
      } catch (err) {
        if (!stopped) setError(message(err));
      }
      if (!stopped && run.open) timer = setTimeout(tick, LOG_POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    };
  }, [run.id, run.open]);
  // Follow new output only while the reader is at the end (not while reading further up).
  const atEnd = useRef(true);
  useEffect(() => {
    const el = pre.current;
    if (el && atEnd.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <div class="log">
      <div class="muted small">
        Log of run #{run.id}
        {run.open ? " (live)" : ""}
      </div>
      {error !== null ? <div class="run-error">{error}</div> : (
        <pre
          ref={pre}
          data-testid="run-log"
          onScroll={(e) => {
            const el = e.currentTarget;
            atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
            {text === null ? "loading…" : text === "" ? "(empty)" : text}
        </pre>
      )}
    </div>
  );
}

function Events({ detail }: { detail: Detail }) {
  const [all, setAll] = useState(false);
  const events = [...detail.events].reverse();
  const shown = all ? events : events.slice(0, 15);
  return (
    <section class="section">
      <header>
        <h3>Activity ({events.length})</h3>
      </header>
      <ol class="events">
        {shown.map((e) => (
          <li data-testid="event" key={e.id}>
            <span class="muted" title={e.at}>{ago(e.at)}</span> <strong>{e.kind}</strong>
            {" by "}
            {e.actor}
            {typeof e.data["to"] === "string" && <span class="muted">→ {e.data["to"]}</span>}
            {note(e.data) !== null && <div class="muted event-note">{note(e.data)}</div>}
          </li>
        ))}
      </ol>
      {events.length > shown.length && (
        <button
          type="button"
          class="link"
          onClick={() => setAll(true)}
        >
          Show all {events.length}
        </button>
      )}
    </section>
  );
}
