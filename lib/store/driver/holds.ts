/** The profile hold operations (lib/store/holds.ts): rows of the `profile_holds` table. */

/** A hold as stored (lib/store/sqlite/migrations/012_profile_holds.ts says what each is). */
export interface HoldRow {
  profile: string;
  kind: "rate_limit" | "quota" | "auth";
  until_at: number | null;
  reason: string;
  task_id: string | null;
  run_id: number | null;
  holds: number;
  host: string;
  created_at: number;
}

export interface HoldQueries {
  /** Every hold, by profile (those past their time too, until cleared). */
  holdsAll(): Promise<HoldRow[]>;
  /** The hold of one profile, if any. */
  holdGet(profile: string): Promise<HoldRow | undefined>;
  /** Stores a profile's hold, replacing the one it had. */
  holdPut(row: HoldRow): Promise<void>;
  /** Deletes a profile's hold; false when there was none. */
  holdDelete(profile: string): Promise<boolean>;
}
