/** The SQLite driver's profile hold operations (lib/store/driver/holds.ts says what each does). */
import type { HoldQueries, HoldRow } from "../driver/holds.ts";
import { answered } from "./answered.ts";
import type { Db } from "./db.ts";

export function holdQueries(db: Db): HoldQueries {
  return answered<HoldQueries>({
    holdsAll: () => db.all<HoldRow>("SELECT * FROM profile_holds ORDER BY profile"),
    holdGet: (profile) => db.get<HoldRow>("SELECT * FROM profile_holds WHERE profile = ?", profile),
    holdPut: (h) => {
      db.run(
        `INSERT OR REPLACE INTO profile_holds (profile, kind, until_at, reason, task_id, run_id,
           holds, host, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        h.profile,
        h.kind,
        h.until_at,
        h.reason,
        h.task_id,
        h.run_id,
        h.holds,
        h.host,
        h.created_at,
      );
    },
    holdDelete: (profile) =>
      db.run("DELETE FROM profile_holds WHERE profile = ?", profile).changes === 1,
  });
}
