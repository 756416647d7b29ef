/**
 * The routine operations (lib/store/routines.ts): rows of the `routines` table, as stored.
 * A firing claims its occurrences with `routineAdvance`, a compare-and-set on `next_at`.
 */

/** A routine as stored (lib/store/sqlite/migrations/007_routines.ts says what each column is). */
export interface RoutineRow {
  id: string;
  name: string;
  cron: string;
  tz: string;
  /** JSON text: `{ nodes: GraphNodeInput[] }`, what each occurrence creates. */
  spec: string;
  /** The template the spec was rendered from, as it was named; null for a plain task. */
  template: string | null;
  catch_up: "skip" | "once" | "all";
  max_catch_up: number;
  paused: number;
  next_at: number | null;
  last_at: number | null;
  fired: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** The columns a routine update may set. */
export type RoutineSet = Partial<
  Pick<RoutineRow, "paused" | "next_at" | "last_at" | "fired" | "updated_at">
>;

export interface RoutineQueries {
  /** Stores a new routine; `duplicate_name` when its name (or id) is taken. */
  routineInsert(row: RoutineRow): Promise<"inserted" | "duplicate_name">;
  /** The routine of this name, or undefined. */
  routineByName(name: string): Promise<RoutineRow | undefined>;
  /**
   * routineByNameLocked is routineByName that also locks the row against every other writer
   * until the transaction ends (PostgreSQL: FOR UPDATE). SQLite: routineByName.
   */
  routineByNameLocked(name: string): Promise<RoutineRow | undefined>;
  /** Every routine, by name. */
  routinesAll(): Promise<RoutineRow[]>;
  /** Names of the routines not paused whose `next_at` is at or before `now`, earliest first. */
  routinesDue(now: number, limit: number): Promise<string[]>;
  /** Sets columns of a routine; false when there is none with this id. */
  routineUpdate(id: string, set: RoutineSet): Promise<boolean>;
  /**
   * routineAdvance sets columns of a routine only while its `next_at` is still `ifNextAt` and
   * it is not paused (the claim of the occurrences a firing makes); false when it was not.
   */
  routineAdvance(id: string, ifNextAt: number, set: RoutineSet): Promise<boolean>;
  /** Deletes a routine; false when there was none. */
  routineDelete(id: string): Promise<boolean>;
}
