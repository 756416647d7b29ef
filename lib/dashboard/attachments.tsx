/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The drawer's attachments: the task's files (name, size, a download link), a file input
 * and a drop zone to upload more, and a button to remove one. The list is read again
 * whenever the drawer's task is (an attach or detach records an event on the task).
 */
import { useEffect, useState } from "preact/hooks";
import { api, type Attachment, type Detail } from "./api.ts";
import { ago } from "./board.tsx";
import { attempt, refresh } from "./state.ts";

/** sizeText is a size as people read it: 812 B, 4.2 KiB, 3.1 MiB. */
export function sizeText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

export function Attachments({ detail }: { detail: Detail }) {
  const id = detail.task.id;
  const [list, setList] = useState<Attachment[] | null>(null);
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    const got = await attempt(() => api.attachments(id));
    if (got !== null) setList(got);
  };
  useEffect(() => void load(), [detail]);
  const upload = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    setBusy(true);
    try {
      // one at a time: each is checked against the caps as it arrives
      for (const f of Array.from(files)) await attempt(() => api.attach(id, f));
    } finally {
      setBusy(false);
    }
    await Promise.all([load(), refresh()]);
  };
  const remove = async (name: string) => {
    if ((await attempt(() => api.detach(id, name))) !== null) await load();
  };
  return (
    <section
      class={`section attachments${over ? " drop" : ""}`}
      data-testid="attachments"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        void upload(e.dataTransfer?.files ?? null);
      }}
    >
      <header>
        <h3>Attachments ({list?.length ?? "…"})</h3>
      </header>
      <ul class="attachment-list">
        {(list ?? []).map((a) => (
          <li data-testid="attachment" key={a.id}>
            <a
              href={api.attachmentUrl(id, a.name)}
              download={a.name}
              data-testid="attachment-link"
            >
              {a.name}
            </a>{" "}
            <span class="muted" data-testid="attachment-size">{sizeText(a.size)}</span>{" "}
            <span class="muted" title={a.created_at}>
              by {a.created_by}, {ago(a.created_at)} ago
            </span>{" "}
            <button
              type="button"
              class="quiet"
              data-testid="attachment-remove"
              title={`Remove ${a.name}`}
              onClick={() => void remove(a.name)}
            >
              Remove
            </button>
          </li>
        ))}
        {list !== null && list.length === 0 && <li class="muted">none</li>}
      </ul>
      <label class="row">
        <input
          type="file"
          multiple
          data-testid="attachment-input"
          disabled={busy}
          onChange={(e) => {
            const input = e.currentTarget;
            void upload(input.files).then(() => (input.value = ""));
          }}
        />
        <span class="muted">{busy ? "uploading…" : "or drop files here"}</span>
      </label>
    </section>
  );
}
