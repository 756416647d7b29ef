/**
 * Moving a whole board between drivers (`kanban export` / `kanban import`, lib/store/
 * transfer.ts): read each table as plain rows, page by page in key order, and write rows back
 * exactly as given, ids included. The rows are the shapes of lib/store/_rows.ts: JSON columns
 * (skills, metadata, usage, data, kinds) are the stored JSON text, byte for byte, so that a
 * board exported from one driver and imported into another exports the same bytes again.
 */
import type { CommentRow, EventRow, RunRow, TaskRow } from "../_rows.ts";
import type { SubscriptionRow } from "./admin.ts";
import type { RoutineRow } from "./routines.ts";
import type { BudgetRow } from "./budgets.ts";
import type { AttachmentContentRow } from "./attachments.ts";

/** A dependency as stored. */
export interface LinkRow {
  parent_id: string;
  child_id: string;
  created_at: number;
}

/** The rows of each table a board export carries, by the record type that holds them. */
export interface TransferRows {
  task: TaskRow;
  link: LinkRow;
  run: RunRow;
  comment: CommentRow;
  /** An attachment with its content (bytes; the stream carries them as base64). */
  attachment: AttachmentContentRow;
  event: EventRow;
  subscription: SubscriptionRow;
  routine: RoutineRow;
  budget: BudgetRow;
}

export type TransferKind = keyof TransferRows;

/** The record types with an integer id drawn from a sequence. */
export type SequencedKind = "run" | "comment" | "attachment" | "event" | "subscription";

/**
 * The largest id each sequence has handed out (0: none yet). It can be above the largest id
 * left in the table: pruned events and removed subscriptions keep their ids used up.
 */
export type Sequences = Record<SequencedKind, number>;

export interface TransferQueries {
  /**
   * Up to `limit` rows of `kind` after the row `after` (null: from the first), in key order:
   * tasks and routines by id, budgets by name, links by (parent_id, child_id), the others by their integer id. Text keys
   * compare as bytes (PostgreSQL: COLLATE "C"), so every driver pages in the same order.
   */
  transferPage<K extends TransferKind>(
    kind: K,
    after: TransferRows[K] | null,
    limit: number,
  ): Promise<TransferRows[K][]>;
  /**
   * Inserts `rows` of `kind` exactly as given, ids included. A task may name a current run
   * (`current_run_id`) that is inserted later in the same transaction: the driver checks that
   * reference when the transaction commits, not at the insert (SQLite: PRAGMA
   * defer_foreign_keys; PostgreSQL: a DEFERRABLE constraint and SET CONSTRAINTS ... DEFERRED).
   */
  transferInsert<K extends TransferKind>(kind: K, rows: readonly TransferRows[K][]): Promise<void>;
  /** How many rows of each kind the board holds. */
  transferCounts(): Promise<Record<TransferKind, number>>;
  /** Each sequence's largest id handed out so far. */
  transferSequences(): Promise<Sequences>;
  /**
   * Moves each sequence forward to at least the given id (never back), so that the next row
   * gets an id above it.
   */
  transferAdvanceSequences(to: Sequences): Promise<void>;
}
