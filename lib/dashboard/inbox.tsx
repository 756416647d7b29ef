/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The inbox: every task waiting on a person (blocked with a question, in review, triage),
 * oldest wait first, answered in place: a reply unblocks a blocked task (one request, one
 * transaction on the server), a review is approved or rejected, a triage task promoted. The
 * list is read again whenever the board is (that is, after every event that changes a card:
 * live.ts coalesces them) and when a comment lands on a task it lists, so it stays live in
 * every view and the Inbox tab can show its count.
 */
import { effect, signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import { priorityText } from "../store/priority.ts";
import { api, type InboxData, type InboxItem, query } from "./api.ts";
import { ago } from "./board.tsx";
import { health, touched } from "./live.ts";
import { markdown } from "./markdown.ts";
import {
  askInput,
  attempt,
  board,
  filters,
  message,
  openDrawer,
  openTask,
  profiles,
  refresh,
  toast,
  view,
} from "./state.ts";

// Data ---------------------------------------------------------------------------------------

/** The inbox as last read in its view (for the tenant filter), null until the first answer. */
export const inbox = signal<InboxData | null>(null);
export const inboxError = signal<string | null>(null);
/** How many tasks wait on a person (the Inbox tab shows it in every view); null until known. */
export const inboxCount = signal<number | null>(null);

/** Several triggers within this make one read. */
const COALESCE_MS = 80;

let seq = 0;

/**
 * loadInbox reads the inbox for the tenant filter; only the newest request's answer is kept.
 * Outside the Inbox view only the tab's count is wanted: one item is asked for (the counts
 * cover every waiting task), not a page of them after every board change.
 */
export async function loadInbox(): Promise<void> {
  const n = ++seq;
  const shown = view.peek() === "inbox";
  try {
    const data = await api.inbox(
      query({ tenant: filters.value.tenant, ...(shown ? {} : { limit: 1 }) }),
    );
    if (n !== seq) return;
    inboxCount.value = data.total;
    if (shown) inbox.value = data;
    inboxError.value = null;
  } catch (err) {
    if (n === seq) inboxError.value = message(err);
  }
}

let timer: ReturnType<typeof setTimeout> | null = null;

function loadSoon(): void {
  timer ??= setTimeout(() => {
    timer = null;
    void loadInbox();
  }, COALESCE_MS);
}

// The board is read again after every event that changes a card (and when the filters
// change): what enters or leaves the inbox is among those. Comments change no card, so a
// comment on a listed task (its last comment) reads the inbox by itself.
effect(() => {
  if (board.value !== null) loadSoon();
});
effect(() => {
  const id = touched.value.task;
  if (id !== null && inbox.peek()?.items.some((i) => i.id === id)) loadSoon();
});

/** after runs an answer's request; on success reads the inbox and the board again. */
async function after<T>(fn: () => Promise<T>): Promise<T | null> {
  const done = await attempt(fn);
  if (done !== null) await Promise.all([loadInbox(), refresh()]);
  return done;
}

// View ---------------------------------------------------------------------------------------

/** A tick every 30 s: the ages are drawn again with it. */
const tick = signal(0);
setInterval(() => tick.value++, 30_000);

const KIND_TEXT: Record<InboxItem["kind"], [string, string]> = {
  question: ["Question", "Blocked: a worker or a person asked something"],
  review: ["Review", "Done, waiting for a person to approve or reject it"],
  triage: ["Triage", "New, waiting for a person to promote it into the queue"],
};

const KIND_COUNT: Record<InboxItem["kind"], (n: number) => string> = {
  question: (n) => `${n} question${n === 1 ? "" : "s"}`,
  review: (n) => `${n} review${n === 1 ? "" : "s"}`,
  triage: (n) => `${n} in triage`,
};

function Markdown({ text, testid }: { text: string; testid: string }) {
  // deno-lint-ignore react-no-danger -- sanitized by DOMPurify in markdown()
  return (
    <div class="md" data-testid={testid} dangerouslySetInnerHTML={{ __html: markdown(text) }} />
  );
}

export function Inbox() {
  // Opening the view reads it at once (the board may not have been read: an error, say).
  useEffect(() => void loadInbox(), []);
  const data = inbox.value;
  const error = inboxError.value;
  if (data === null) {
    return (
      <main class="inbox" data-testid="inbox" aria-busy={error === null}>
        {error === null
          ? (
            <div class="state">
              <div class="spinner" />Loading the inbox…
            </div>
          )
          : <InboxError error={error} />}
      </main>
    );
  }
  return (
    <main class="inbox" data-testid="inbox" aria-busy="false">
      <div class="inbox-list">
        {error !== null && <InboxError error={error} />}
        <InboxHead data={data} />
        {data.items.map((item) => <Item key={item.id} item={item} />)}
      </div>
    </main>
  );
}

function InboxError({ error }: { error: string }) {
  return (
    <div class="state error" data-testid="inbox-error" role="alert">
      {error}
      <button type="button" onClick={() => void loadInbox()}>Try again</button>
    </div>
  );
}

function InboxHead({ data }: { data: InboxData }) {
  if (data.total === 0) {
    return (
      <div class="state empty" data-testid="inbox-empty">
        <strong>Nothing is waiting on you.</strong>
        <span>
          When an agent asks a question, finishes work that needs a review, or a task lands in
          triage, it shows up here, oldest first.
        </span>
      </div>
    );
  }
  const parts = (["question", "review", "triage"] as const)
    .filter((k) => data.by_kind[k] > 0).map((k) => KIND_COUNT[k](data.by_kind[k]));
  return (
    <header class="inbox-head">
      <h1>
        {data.total} waiting on a person
        <span class="muted">, oldest first</span>
      </h1>
      <span class="muted" data-testid="inbox-summary">{parts.join(" · ")}</span>
      {data.items.length < data.total && (
        <span class="muted">(the oldest {data.items.length} shown)</span>
      )}
    </header>
  );
}

function Item({ item }: { item: InboxItem }) {
  void tick.value; // redraw the age as time passes
  const [kind, kindTitle] = KIND_TEXT[item.kind];
  const prio = priorityText(item.priority);
  return (
    <article
      class={`inbox-item kind-${item.kind}${openTask.value === item.id ? " open" : ""}`}
      data-testid="inbox-item"
      data-id={item.id}
      data-kind={item.kind}
    >
      <div class="inbox-item-top">
        <span class={`badge kind-${item.kind}`} data-testid="inbox-kind" title={kindTitle}>
          {kind}
        </span>
        <button
          type="button"
          class="inbox-title"
          data-testid="inbox-title"
          title="Open the task"
          onClick={() => openDrawer(item.id)}
        >
          {item.title}
        </button>
        <span class="age" data-testid="inbox-age" title={`waiting since ${item.waiting_since}`}>
          waiting {ago(item.waiting_since)}
        </span>
      </div>
      <div class="card-meta">
        <code class="card-id">{item.id}</code>
        {item.assignee && <span class="chip">{item.assignee}</span>}
        {item.tenant && <span class="chip tenant">{item.tenant}</span>}
        {prio !== "normal" && <span class="prio">{prio}</span>}
      </div>
      <What item={item} />
      {item.last_comment && (
        <div class="inbox-comment" data-testid="inbox-last-comment">
          <span class="muted">
            Last comment by <strong>{item.last_comment.author}</strong>,{" "}
            <span title={item.last_comment.created_at}>
              {ago(item.last_comment.created_at)} ago
            </span>
          </span>
          <Markdown text={item.last_comment.body} testid="inbox-comment-body" />
        </div>
      )}
      {item.kind === "question" && <ReplyBox item={item} />}
      {item.kind === "review" && <ReviewButtons item={item} />}
      {item.kind === "triage" && <PromoteBox item={item} />}
    </article>
  );
}

/** What the person is asked: the question, or the handoff of a task in review. */
function What({ item }: { item: InboxItem }) {
  if (item.kind === "question" && item.question) {
    return (
      <div class="callout warn">
        <Markdown text={item.question} testid="inbox-question" />
      </div>
    );
  }
  if (item.kind === "review" && (item.summary || item.result)) {
    return (
      <div class="callout" data-testid="inbox-handoff">
        {item.summary && <Markdown text={item.summary} testid="inbox-summary-text" />}
        {item.result && (
          <div class="inbox-result">
            <strong>Result</strong>
            <Markdown text={item.result} testid="inbox-result" />
          </div>
        )}
      </div>
    );
  }
  return null;
}

function ReplyBox({ item }: { item: InboxItem }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const empty = text.trim() === "";
  const send = async () => {
    if (empty || busy) return;
    setBusy(true);
    const done = await after(() => api.reply(item.id, text));
    setBusy(false);
    if (done === null) return;
    setText("");
    toast("info", `Replied to "${item.title}": it is ${done.task.status} again`);
  };
  return (
    <div class="inbox-answer">
      <textarea
        data-testid="reply-input"
        aria-label={`reply to ${item.title}`}
        placeholder="Your answer (markdown; Ctrl+Enter sends and unblocks)"
        rows={2}
        value={text}
        readOnly={busy}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void send();
          }
        }}
      />
      <div class="row end">
        <button
          type="button"
          class="primary"
          data-testid="reply-submit"
          disabled={empty || busy}
          title={empty ? "Write an answer first" : "Add it as a comment and unblock the task"}
          onClick={() => void send()}
        >
          Reply &amp; unblock
        </button>
      </div>
    </div>
  );
}

function ReviewButtons({ item }: { item: InboxItem }) {
  const [busy, setBusy] = useState(false);
  const decide = async (decision: "approve" | "reject") => {
    let reason: string | undefined;
    if (decision === "reject") {
      const asked = await askInput("reject", `"${item.title}"`);
      if (asked === null) return;
      reason = asked.reason;
    }
    setBusy(true);
    const done = await after(() => api.review(item.id, decision, reason));
    setBusy(false);
    if (done !== null) {
      toast("info", `"${item.title}" ${decision === "approve" ? "approved" : "sent back"}`);
    }
  };
  return (
    <div class="row inbox-answer">
      <button
        type="button"
        class="primary"
        data-testid="inbox-approve"
        disabled={busy}
        onClick={() => void decide("approve")}
      >
        Approve
      </button>
      <button
        type="button"
        data-testid="inbox-reject"
        disabled={busy}
        onClick={() => void decide("reject")}
      >
        Reject…
      </button>
    </div>
  );
}

/** The profiles to suggest: the dispatcher's, and every assignee seen on the board. */
function suggestions(): string[] {
  const known = health.value?.caps.profiles.map((p) => p.profile) ?? [];
  return [...new Set([...known, ...profiles.value])].sort((a, b) => a.localeCompare(b));
}

function PromoteBox({ item }: { item: InboxItem }) {
  const [assignee, setAssignee] = useState(item.assignee ?? "");
  const [busy, setBusy] = useState(false);
  const listId = `inbox-profiles-${item.id}`;
  const promote = async () => {
    const name = assignee.trim() === "" ? null : assignee.trim();
    setBusy(true);
    const done = await after(async () => {
      // The assignee first: a promoted task may be claimed at once, by its assignee's profile.
      if (name !== item.assignee) await api.edit(item.id, { assignee: name });
      return await api.act(item.id, "promote");
    });
    setBusy(false);
    if (done !== null) toast("info", `"${item.title}" promoted: it is ${done.status}`);
  };
  return (
    <div class="row inbox-answer">
      <input
        data-testid="promote-assignee"
        aria-label={`assignee of ${item.title}`}
        placeholder="assignee (a profile; empty: unassigned)"
        list={listId}
        value={assignee}
        readOnly={busy}
        onInput={(e) => setAssignee(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            void promote();
          }
        }}
      />
      <datalist id={listId}>
        {suggestions().map((p) => <option key={p} value={p} />)}
      </datalist>
      <button
        type="button"
        class="primary"
        data-testid="inbox-promote"
        disabled={busy}
        onClick={() => void promote()}
      >
        Promote
      </button>
    </div>
  );
}
