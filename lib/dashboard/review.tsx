/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * Review in the drawer. A worktree task shows its changes as the server reads them with git:
 * the branch and base, the changed files with their counts, and each file's unified diff
 * (collapsible, line numbers, scrolling sideways inside the file, not the page). A person
 * comments on a line (the line number is a button) or on a file; the comments wait in the
 * page until "Request changes" sends them with the reason, and the server quotes the diff lines
 * into the comment the next worker reads. "Wide" widens the drawer for reading a diff on a
 * laptop. Any task shows the artifacts its workers listed in their metadata.
 */
import { signal } from "@preact/signals";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { MARK, parsePatch, type PatchLine } from "../review/patch.ts";
import {
  api,
  type Artifact,
  type ArtifactContent,
  type Detail,
  type DiffFile,
  type ReviewComment,
  type TaskArtifacts,
  type TaskDiff,
} from "./api.ts";
import { message, store, stored, toast } from "./state.ts";

type After = (p: Promise<unknown>) => Promise<unknown>;

/** Review shows a worktree task's changes, and any task's artifacts. */
export function Review({ detail, after }: { detail: Detail; after: After }) {
  return (
    <>
      <Rounds detail={detail} />
      {detail.task.workspace === "worktree" && <Changes detail={detail} after={after} />}
      <Artifacts detail={detail} />
    </>
  );
}

// The review loop ------------------------------------------------------------------------------

/** The events of a review's rounds, as the drawer lists them. */
const ROUND_EVENTS: Readonly<Record<string, string>> = {
  review_requested: "handed in",
  changes_requested: "changes requested",
  review_approved: "approved",
  approved: "approved by a person",
  rejected: "rejected by a person",
};

/**
 * Rounds shows a task's review loop (lib/store/reviews.ts): who reviews it, where the review
 * stands, and each round's hand-in and verdict with its reason, newest last.
 */
function Rounds({ detail }: { detail: Detail }) {
  const { task, review } = detail;
  const rounds = detail.events.filter((e) => ROUND_EVENTS[e.kind] !== undefined);
  if (
    task.reviewer === null && review === undefined &&
    !rounds.some((e) => e.kind !== "approved" && e.kind !== "rejected")
  ) {
    return null;
  }
  const max = review?.rounds ?? task.review_rounds ?? 3;
  const state = review === undefined
    ? null
    : review.state === "changes"
    ? `round ${review.round} of ${max}: changes requested, back with ${
      review.implementer ?? "its implementer"
    }`
    : review.by === "person"
    ? `round ${review.round} of ${max}: waits for a person`
    : `round ${review.round} of ${max}: ${review.reviewer} is reviewing`;
  return (
    <div class="callout" data-testid="review-loop">
      <strong>Review</strong>{" "}
      <span class="muted">
        {task.reviewer ? `by ${task.reviewer}, up to ${max} rounds` : "by a person"}
      </span>
      {state && <p data-testid="review-state">{state}</p>}
      {rounds.length > 0 && (
        <ol class="review-rounds" data-testid="review-rounds">
          {rounds.map((e) => {
            const round = typeof e.data["round"] === "number" ? `round ${e.data["round"]}: ` : "";
            const why = e.data["reason"] ?? e.data["summary"];
            return (
              <li key={e.id}>
                {round}
                {ROUND_EVENTS[e.kind]} by {e.actor}
                {typeof why === "string" && why.trim() !== "" && (
                  <span class="muted">: {why.replace(/\s+/g, " ").slice(0, 200)}</span>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}

// The wide drawer ----------------------------------------------------------------------------

/** The drawer is wide while a diff shows and the person asked for it (kept in the browser). */
const wide = signal(stored("review.wide") === "1");

function toggleWide(): void {
  wide.value = !wide.value;
  store("review.wide", wide.value ? "1" : "0");
}

/** useWideDrawer marks the page (styled in review.css) while the changes are on screen. */
function useWideDrawer(): void {
  const on = wide.value;
  useEffect(() => {
    document.documentElement.classList.toggle("drawer-wide", on);
    return () => document.documentElement.classList.remove("drawer-wide");
  }, [on]);
}

// Comments waiting to be sent ----------------------------------------------------------------

interface Draft extends ReviewComment {
  key: number;
}

/** Per task, the comments written and not sent yet: they outlive closing the drawer. */
const drafts = signal<Readonly<Record<string, readonly Draft[]>>>({});
let draftSeq = 0;

function setDrafts(task: string, list: readonly Draft[]): void {
  drafts.value = { ...drafts.value, [task]: list };
}

/** Where a comment goes: a file, or one line of it (in the new or the old version). */
interface Target {
  file: string;
  line?: number;
  side?: "old" | "new";
}

const same = (a: Target, b: Target) =>
  a.file === b.file && a.line === b.line && (a.side ?? "new") === (b.side ?? "new");

function where(t: Target): string {
  if (t.line === undefined) return t.file;
  return `${t.file}:${t.side === "old" ? "old " : ""}${t.line}`;
}

// Changes ------------------------------------------------------------------------------------

/** A file's diff starts collapsed when it is long (or binary); the rest start open. */
const OPEN_MAX_LINES = 400;

function Changes({ detail, after }: { detail: Detail; after: After }) {
  const { task } = detail;
  const [diff, setDiff] = useState<TaskDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [again, setAgain] = useState(0);
  useWideDrawer();
  useEffect(() => {
    let live = true;
    api.diff(task.id).then(
      (d) => live && (setDiff(d), setError(null)),
      (err) => live && setError(message(err)),
    );
    return () => void (live = false);
  }, [task.id, task.updated_at, again]);
  return (
    <section class="section review-changes" data-testid="changes">
      <header>
        <h3>Changes</h3>
        <div class="review-tools">
          <button
            type="button"
            class="link"
            data-testid="diff-refresh"
            title="Read the worktree again"
            onClick={() => setAgain(again + 1)}
          >
            Refresh
          </button>
          <button
            type="button"
            class="link"
            data-testid="drawer-wide"
            aria-pressed={wide.value}
            title="A wider drawer for reading the diff"
            onClick={toggleWide}
          >
            {wide.value ? "Narrow" : "Wide"}
          </button>
        </div>
      </header>
      {error !== null && <p class="run-error" data-testid="diff-error">{error}</p>}
      {diff === null && error === null && <p class="muted">Reading the worktree…</p>}
      {diff !== null && !diff.available && (
        <p class="muted" data-testid="diff-none">{diff.reason}</p>
      )}
      {diff !== null && diff.available && <DiffView diff={diff} detail={detail} after={after} />}
    </section>
  );
}

function DiffView({ diff, detail, after }: { diff: TaskDiff; detail: Detail; after: After }) {
  const taskId = detail.task.id;
  const mine = drafts.value[taskId] ?? [];
  const [editing, setEditing] = useState<Target | null>(null);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const isOpen = (f: DiffFile) =>
    open[f.path] ?? (!f.binary && f.patch.split("\n").length <= OPEN_MAX_LINES);
  const add = (t: Target, body: string) => {
    setDrafts(taskId, [...mine, { ...t, body, key: ++draftSeq }]);
    setEditing(null);
  };
  const remove = (key: number) => setDrafts(taskId, mine.filter((d) => d.key !== key));
  const comments: Comments = { mine, editing, setEditing, add, remove };
  const show = (path: string) => {
    setOpen({ ...open, [path]: true });
    requestAnimationFrame(() =>
      document.querySelector(`[data-testid=diff-file][data-path="${CSS.escape(path)}"]`)
        ?.scrollIntoView({ block: "start" })
    );
  };
  return (
    <>
      <DiffSummary diff={diff} />
      <ul class="diff-files" data-testid="diff-files">
        {diff.files.map((f) => (
          <li key={f.path}>
            <span class={`diff-status ${f.status}`} title={f.status}>
              {f.status[0]!.toUpperCase()}
            </span>
            <button type="button" class="link diff-name" onClick={() => show(f.path)}>
              {fileName(f)}
            </button>
            <Counts file={f} />
          </li>
        ))}
      </ul>
      {diff.files.length === 0 && <p class="muted">No changes against the base.</p>}
      {diff.files.map((f) => (
        <FileDiff
          key={f.path}
          file={f}
          open={isOpen(f)}
          toggle={() => setOpen({ ...open, [f.path]: !isOpen(f) })}
          comments={comments}
        />
      ))}
      {detail.task.status === "review" && (
        <ReviewBar taskId={taskId} drafts={mine} remove={remove} after={after} />
      )}
      {detail.task.status !== "review" && mine.length > 0 && (
        <p class="muted small">
          {mine.length}{" "}
          comment(s) wait to be sent: "Request changes" appears while the task is in review.
        </p>
      )}
    </>
  );
}

const short = (sha: string | null) => sha?.slice(0, 10) ?? "-";

function DiffSummary({ diff }: { diff: TaskDiff }) {
  return (
    <div class="diff-summary" data-testid="diff-summary">
      <span>
        branch <code data-testid="diff-branch">{diff.branch ?? "(detached)"}</code>
      </span>
      <span title={diff.base ?? ""}>
        base <code data-testid="diff-base">{short(diff.base)}</code>
        {diff.base_ref && <span class="muted">{` (${diff.base_ref})`}</span>}
      </span>
      <span>
        {diff.files_total} file{diff.files_total === 1 ? "" : "s"}{" "}
        <span class="diff-add-count">+{diff.additions}</span>{" "}
        <span class="diff-del-count">−{diff.deletions}</span>
      </span>
      {diff.truncated && (
        <span class="chip" title="1 MiB in all, 256 KiB a file, 1000 files: kanban diff ID">
          cut to size
        </span>
      )}
    </div>
  );
}

function fileName(f: DiffFile): string {
  return f.old_path === null ? f.path : `${f.old_path} → ${f.path}`;
}

function Counts({ file }: { file: DiffFile }) {
  if (file.binary) return <span class="muted small">binary</span>;
  return (
    <span class="diff-counts small">
      <span class="diff-add-count">+{file.additions}</span>{" "}
      <span class="diff-del-count">−{file.deletions}</span>
    </span>
  );
}

/** What the line and file comments of one diff share. */
interface Comments {
  mine: readonly Draft[];
  editing: Target | null;
  setEditing: (t: Target | null) => void;
  add: (t: Target, body: string) => void;
  remove: (key: number) => void;
}

function FileDiff(
  { file, open, toggle, comments }: {
    file: DiffFile;
    open: boolean;
    toggle: () => void;
    comments: Comments;
  },
) {
  const lines = useMemo(() => parsePatch(file.patch), [file.patch]);
  const fileTarget: Target = { file: file.path };
  return (
    <div class="diff-file" data-testid="diff-file" data-path={file.path}>
      <div class="diff-file-head">
        <button
          type="button"
          class="diff-toggle"
          data-testid="diff-toggle"
          aria-expanded={open}
          title={open ? "Collapse this file" : "Expand this file"}
          onClick={toggle}
        >
          <span aria-hidden="true">{open ? "▾" : "▸"}</span> {fileName(file)}
        </button>
        <Counts file={file} />
        <button
          type="button"
          class="link"
          data-testid="file-comment"
          onClick={() => comments.setEditing(fileTarget)}
        >
          Comment on file
        </button>
      </div>
      <Thread target={fileTarget} comments={comments} />
      {open && <Lines file={file} lines={lines} comments={comments} />}
    </div>
  );
}

/** Thread shows the comments waiting on one file or line, and the editor when it is open. */
function Thread({ target, comments }: { target: Target; comments: Comments }) {
  const here = comments.mine.filter((d) => same(d, target));
  const editing = comments.editing !== null && same(comments.editing, target);
  if (here.length === 0 && !editing) return null;
  return (
    <div class="diff-thread">
      {here.map((d) => (
        <div class="diff-draft" data-testid="draft-inline" key={d.key}>
          <span class="draft-body">{d.body}</span>
          <button
            type="button"
            class="icon"
            aria-label="Remove this comment"
            title="Remove this comment"
            onClick={() => comments.remove(d.key)}
          >
            ×
          </button>
        </div>
      ))}
      {editing && (
        <CommentEditor
          label={`Comment on ${where(target)}`}
          add={(body) => comments.add(target, body)}
          cancel={() => comments.setEditing(null)}
        />
      )}
    </div>
  );
}

function Lines(
  { file, lines, comments }: { file: DiffFile; lines: PatchLine[]; comments: Comments },
) {
  const body = lines.filter((l) =>
    l.kind !== "meta" || /^(rename|new|deleted|old|Binary)/.test(l.text)
  );
  return (
    <div class="diff-scroll">
      <table class="diff-table" data-testid="diff-table">
        <tbody>
          {body.map((l, i) => <Line key={i} file={file} line={l} comments={comments} />)}
          {file.truncated && (
            <tr class="dl dl-note">
              <td colSpan={3}>
                The rest of this file's diff was cut to size: see <code>kanban diff</code>.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function Line(
  { file, line: l, comments }: { file: DiffFile; line: PatchLine; comments: Comments },
) {
  if (l.kind === "meta" || l.kind === "hunk" || l.kind === "note") {
    return (
      <tr class={`dl dl-${l.kind}`}>
        <td colSpan={3}>{l.text}</td>
      </tr>
    );
  }
  const side = l.kind === "del" ? "old" : "new";
  const n = (side === "old" ? l.old : l.new)!;
  const target: Target = { file: file.path, line: n, side };
  const threaded = comments.mine.some((d) => same(d, target)) ||
    (comments.editing !== null && same(comments.editing, target));
  const button = (
    <button
      type="button"
      class="ln-button"
      data-testid="line-comment"
      data-line={n}
      data-side={side}
      aria-label={`Comment on ${where(target)}`}
      title="Comment on this line"
      onClick={() => comments.setEditing(target)}
    >
      {n}
    </button>
  );
  return (
    <>
      <tr class={`dl dl-${l.kind}`} data-testid="diff-line">
        <td class="ln">{side === "old" ? button : l.old}</td>
        <td class="ln">{side === "new" ? button : ""}</td>
        <td class="code">
          <span class="mark" aria-hidden="true">{MARK[l.kind]}</span>
          {l.text}
        </td>
      </tr>
      {threaded && (
        <tr class="dl dl-thread">
          <td colSpan={3}>
            <Thread target={target} comments={comments} />
          </td>
        </tr>
      )}
    </>
  );
}

function CommentEditor(
  { label, add, cancel }: { label: string; add: (body: string) => void; cancel: () => void },
) {
  const [text, setText] = useState("");
  const ref = useRef<HTMLTextAreaElement>(null);
  useLayoutEffect(() => ref.current?.focus(), []);
  const submit = () => {
    if (text.trim() === "") return toast("error", "Write the comment first");
    add(text);
  };
  return (
    <div class="diff-editor">
      <textarea
        ref={ref}
        rows={3}
        aria-label={label}
        placeholder={`${label} (Ctrl+Enter adds it)`}
        data-testid="review-comment-input"
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            submit();
          } else if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation(); // the page's Escape would close the drawer
            cancel();
          }
        }}
      />
      <div class="row">
        <button type="button" class="primary" data-testid="review-comment-add" onClick={submit}>
          Add comment
        </button>
        <button type="button" data-testid="review-comment-cancel" onClick={cancel}>Cancel</button>
      </div>
    </div>
  );
}

// Approve or request changes -----------------------------------------------------------------

function ReviewBar(
  { taskId, drafts: mine, remove, after }: {
    taskId: string;
    drafts: readonly Draft[];
    remove: (key: number) => void;
    after: After;
  },
) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const send = async (decision: "approve" | "reject") => {
    if (decision === "reject" && reason.trim() === "" && mine.length === 0) {
      toast("error", "Say what must change, or comment on the diff, before requesting changes");
      return;
    }
    setBusy(true);
    const comments = mine.map(({ key: _key, ...c }) => c);
    const ok = await after(api.reviewWith(taskId, decision, reason, comments));
    setBusy(false);
    if (ok !== null) {
      setDrafts(taskId, []);
      setReason("");
    }
  };
  return (
    <div class="review-bar" data-testid="review-bar">
      <h4>Your review</h4>
      {mine.length > 0 && (
        <ul class="drafts">
          {mine.map((d) => (
            <li key={d.key} data-testid="draft">
              <code>{where(d)}</code> <span class="draft-body">{d.body}</span>
              <button
                type="button"
                class="icon"
                data-testid="draft-remove"
                aria-label={`Remove the comment on ${where(d)}`}
                onClick={() => remove(d.key)}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <textarea
        rows={3}
        data-testid="review-reason"
        aria-label="what must change"
        placeholder="What must change? (the next worker reads it, with your comments)"
        value={reason}
        onInput={(e) => setReason(e.currentTarget.value)}
      />
      <div class="row">
        <button
          type="button"
          class="primary"
          data-testid="review-request-changes"
          disabled={busy}
          onClick={() => void send("reject")}
        >
          Request changes{mine.length > 0
            ? ` (${mine.length} comment${mine.length > 1 ? "s" : ""})`
            : ""}
        </button>
        <button
          type="button"
          data-testid="review-approve"
          disabled={busy || mine.length > 0}
          title={mine.length > 0
            ? "Comments go with a change request: send them, or remove them to approve"
            : "Accept the work: the task is done"}
          onClick={() => void send("approve")}
        >
          Approve
        </button>
      </div>
    </div>
  );
}

// Artifacts ----------------------------------------------------------------------------------

function Artifacts({ detail }: { detail: Detail }) {
  const { task } = detail;
  const [list, setList] = useState<TaskArtifacts | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.artifacts(task.id).then(
      (a) => live && (setList(a), setError(null)),
      (err) => live && setError(message(err)),
    );
    return () => void (live = false);
  }, [task.id, task.updated_at]);
  if (error !== null) {
    return <p class="run-error" data-testid="artifacts-error">Artifacts: {error}</p>;
  }
  if (list === null || list.artifacts.length === 0) return null;
  return (
    <section class="section" data-testid="artifacts">
      <header>
        <h3>Artifacts ({list.artifacts.length}{list.truncated ? "+" : ""})</h3>
      </header>
      <ul class="artifacts">
        {list.artifacts.map((a) => <ArtifactRow key={a.path} taskId={task.id} a={a} />)}
      </ul>
    </section>
  );
}

function size(bytes: number | null): string {
  if (bytes === null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function ArtifactRow({ taskId, a }: { taskId: string; a: Artifact }) {
  const [open, setOpen] = useState(false);
  const [content, setContent] = useState<ArtifactContent | string | null>(null);
  const view = async () => {
    setOpen(!open);
    if (open || content !== null) return;
    try {
      setContent(await api.artifactContent(taskId, a.path));
    } catch (err) {
      setContent(message(err));
    }
  };
  const readable = a.kind === "file" && a.inside_workspace;
  return (
    <li data-testid="artifact" data-path={a.path}>
      <div class="artifact-head">
        <code title={a.resolved}>{a.path}</code>
        {a.note && <span class="muted">{a.note}</span>}
        <span class="muted small">
          {!a.exists ? "missing" : a.kind === "file" ? size(a.size) : a.kind}
        </span>
        {a.exists && !a.inside_workspace && (
          <span class="chip" title="Only files inside the task's workspace can be shown">
            outside the workspace
          </span>
        )}
        {readable && (
          <button
            type="button"
            class="link"
            data-testid="artifact-view"
            aria-expanded={open}
            onClick={() => void view()}
          >
            {open ? "Hide" : "View"}
          </button>
        )}
      </div>
      {open && <ArtifactText content={content} />}
    </li>
  );
}

function ArtifactText({ content }: { content: ArtifactContent | string | null }) {
  if (content === null) return <p class="muted small">Loading…</p>;
  if (typeof content === "string") return <p class="run-error">{content}</p>;
  if (content.binary) return <p class="muted small">Not text ({size(content.size)}).</p>;
  return (
    <pre class="artifact-text" data-testid="artifact-text">
      {content.text}{content.truncated ? "\n…" : ""}
    </pre>
  );
}
