/** The SQLite driver's attachment operations (lib/store/driver/attachments.ts says what each does). */
import type {
  AttachmentContentRow,
  AttachmentQueries,
  AttachmentRow,
  AttachmentTotals,
} from "../driver/attachments.ts";
import type { Db } from "./db.ts";
import { answered } from "./answered.ts";

/** Every column but the content. */
const META = "id, task_id, run_id, name, media_type, size, sha256, created_by, created_at";

/** The attachments of tasks archived at or before the cutoff ?1. */
const ARCHIVED = `SELECT a.id, a.size FROM task_attachments a JOIN tasks t ON t.id = a.task_id
  WHERE t.status = 'archived' AND t.updated_at <= ?1`;

/** attachmentQueries are the attachment operations over one connection. */
export function attachmentQueries(db: Db): AttachmentQueries {
  return answered<AttachmentQueries>({
    attachmentInsert: (a) =>
      db.get<AttachmentRow>(
        `INSERT INTO task_attachments (task_id, run_id, name, media_type, size, sha256, content,
           created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (task_id, name) DO NOTHING RETURNING ${META}`,
        a.task_id,
        a.run_id,
        a.name,
        a.media_type,
        a.size,
        a.sha256,
        a.content,
        a.created_by,
        a.created_at,
      ),
    attachmentsOf: (taskId) =>
      db.all<AttachmentRow>(
        `SELECT ${META} FROM task_attachments WHERE task_id = ? ORDER BY name`,
        taskId,
      ),
    attachmentTotals: (taskId) =>
      db.get<AttachmentTotals>(
        `SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM task_attachments
         WHERE task_id = ?`,
        taskId,
      )!,
    attachmentRead: (taskId, name) =>
      db.get<AttachmentContentRow>(
        "SELECT * FROM task_attachments WHERE task_id = ? AND name = ?",
        taskId,
        name,
      ),
    attachmentDelete: (taskId, name) =>
      db.get<AttachmentRow>(
        `DELETE FROM task_attachments WHERE task_id = ? AND name = ? RETURNING ${META}`,
        taskId,
        name,
      ),
    attachmentsArchivedTotals: (cutoff) =>
      db.get<AttachmentTotals>(
        `SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM (${ARCHIVED})`,
        cutoff,
      )!,
    attachmentsArchivedDelete: (cutoff, limit) =>
      db.run(
        `DELETE FROM task_attachments WHERE id IN (SELECT id FROM (${ARCHIVED}) LIMIT ?2)`,
        cutoff,
        limit,
      ).changes,
  });
}
