/**
 * The PostgreSQL driver's attachment operations (lib/store/driver/attachments.ts says what
 * each does). Content is BYTEA; it comes back as a Buffer, a Uint8Array.
 */
import { Buffer } from "node:buffer";
import type {
  AttachmentContentRow,
  AttachmentQueries,
  AttachmentRow,
  AttachmentTotals,
} from "../driver/attachments.ts";
import { count, first, type Fragment, type Tx } from "./_sql.ts";

/** The attachments of tasks archived at or before the cutoff. */
function archived(t: Tx, cutoff: number): Fragment {
  return t`SELECT a.id, a.size FROM task_attachments a JOIN tasks tk ON tk.id = a.task_id
    WHERE tk.status = 'archived' AND tk.updated_at <= ${cutoff}`;
}

/** attachmentQueries are the attachment operations of one transaction. */
export function attachmentQueries(t: Tx): AttachmentQueries {
  const meta = t`id, task_id, run_id, name, media_type, size, sha256, created_by, created_at`;
  return {
    attachmentInsert: (a) =>
      first(t<AttachmentRow[]>`INSERT INTO task_attachments (task_id, run_id, name, media_type,
          size, sha256, content, created_by, created_at)
        VALUES (${a.task_id}, ${a.run_id}::bigint, ${a.name}, ${a.media_type}, ${a.size},
          ${a.sha256}, ${Buffer.from(a.content.buffer, a.content.byteOffset, a.content.length)},
          ${a.created_by}, ${a.created_at})
        ON CONFLICT (task_id, name) DO NOTHING
        RETURNING id, task_id, run_id, name, media_type, size, sha256, created_by, created_at`),
    attachmentsOf: async (taskId) => [
      ...await t<AttachmentRow[]>`SELECT ${meta} FROM task_attachments
        WHERE task_id = ${taskId} ORDER BY name`,
    ],
    attachmentTotals: async (taskId) =>
      (await first(t<AttachmentTotals[]>`SELECT count(*)::bigint AS n,
          coalesce(sum(size), 0)::bigint AS bytes
        FROM task_attachments WHERE task_id = ${taskId}`))!,
    attachmentRead: (taskId, name) =>
      first(t<AttachmentContentRow[]>`SELECT * FROM task_attachments
        WHERE task_id = ${taskId} AND name = ${name}`),
    attachmentDelete: (taskId, name) =>
      first(t<AttachmentRow[]>`DELETE FROM task_attachments
        WHERE task_id = ${taskId} AND name = ${name}
        RETURNING id, task_id, run_id, name, media_type, size, sha256, created_by, created_at`),
    attachmentsArchivedTotals: async (cutoff) =>
      (await first(t<AttachmentTotals[]>`SELECT count(*)::bigint AS n,
          coalesce(sum(size), 0)::bigint AS bytes FROM (${archived(t, cutoff)}) a`))!,
    attachmentsArchivedDelete: async (cutoff, limit) =>
      (await t`DELETE FROM task_attachments WHERE id IN (
        SELECT id FROM (${archived(t, cutoff)}) a LIMIT ${count(limit)})`).count,
  };
}
