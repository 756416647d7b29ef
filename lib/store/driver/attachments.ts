/**
 * The attachment operations: a task's files, kept in the board with their content. Listing
 * reads the metadata alone (never the content); the content is read one attachment at a time.
 */

/** An attachment as stored, without its content. */
export interface AttachmentRow {
  id: number;
  task_id: string;
  run_id: number | null;
  name: string;
  media_type: string;
  size: number;
  /** The content's SHA-256, lower-case hex. */
  sha256: string;
  created_by: string;
  created_at: number;
}

/** An attachment as stored, content included (an insert, a read, a transfer). */
export interface AttachmentContentRow extends AttachmentRow {
  content: Uint8Array;
}

/** How many attachments a set of tasks holds, and their bytes. */
export interface AttachmentTotals {
  n: number;
  bytes: number;
}

export interface AttachmentQueries {
  /**
   * Inserts an attachment; undefined (and nothing written) when the task already has one of
   * that name.
   */
  attachmentInsert(row: Omit<AttachmentContentRow, "id">): Promise<AttachmentRow | undefined>;
  /** A task's attachments without their content, by name. */
  attachmentsOf(taskId: string): Promise<AttachmentRow[]>;
  /** How many attachments a task has and their bytes. */
  attachmentTotals(taskId: string): Promise<AttachmentTotals>;
  /** One attachment of a task, content included; undefined when it has none of that name. */
  attachmentRead(taskId: string, name: string): Promise<AttachmentContentRow | undefined>;
  /** Deletes a task's attachment; the deleted row (without content), undefined when none. */
  attachmentDelete(taskId: string, name: string): Promise<AttachmentRow | undefined>;
  /**
   * The attachments of tasks archived at or before `cutoff` (epoch ms): how many and their
   * bytes (what `kanban gc` removes).
   */
  attachmentsArchivedTotals(cutoff: number): Promise<AttachmentTotals>;
  /** Deletes up to `limit` of the attachments attachmentsArchivedTotals counts; returns how many. */
  attachmentsArchivedDelete(cutoff: number, limit: number): Promise<number>;
}
