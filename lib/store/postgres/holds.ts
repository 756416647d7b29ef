/**
 * The PostgreSQL driver's profile hold operations (lib/store/driver/holds.ts says what each
 * does).
 */
import type { HoldQueries, HoldRow } from "../driver/holds.ts";
import type { Tx } from "./_sql.ts";

export function holdQueries(t: Tx): HoldQueries {
  return {
    holdsAll: () => t<HoldRow[]>`SELECT * FROM profile_holds ORDER BY profile`,
    holdGet: async (profile) =>
      (await t<HoldRow[]>`SELECT * FROM profile_holds WHERE profile = ${profile}`)[0],
    holdPut: async (h) => {
      await t`
        INSERT INTO profile_holds (profile, kind, until_at, reason, task_id, run_id, holds, host,
          created_at)
        VALUES (${h.profile}, ${h.kind}, ${h.until_at}, ${h.reason}, ${h.task_id}, ${h.run_id},
          ${h.holds}, ${h.host}, ${h.created_at})
        ON CONFLICT (profile) DO UPDATE SET kind = EXCLUDED.kind, until_at = EXCLUDED.until_at,
          reason = EXCLUDED.reason, task_id = EXCLUDED.task_id, run_id = EXCLUDED.run_id,
          holds = EXCLUDED.holds, host = EXCLUDED.host, created_at = EXCLUDED.created_at`;
    },
    holdDelete: async (profile) =>
      (await t`DELETE FROM profile_holds WHERE profile = ${profile}`).count === 1,
  };
}
