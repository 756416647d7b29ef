/** The PostgreSQL driver's routine operations (lib/store/driver/routines.ts says what each does). */
import type { RoutineQueries, RoutineRow, RoutineSet } from "../driver/routines.ts";
import { count, first, type Fragment, type Tx } from "./_sql.ts";

const SET_COLUMNS = ["paused", "next_at", "last_at", "fired", "updated_at"];

function setClause(t: Tx, set: RoutineSet): Fragment {
  const cols = Object.keys(set).filter((c) => set[c as keyof RoutineSet] !== undefined);
  if (cols.length === 0) throw new Error("An update must set at least one column");
  const parts = cols.map((c) => {
    if (!SET_COLUMNS.includes(c)) throw new Error(`Unknown column "${c}"`);
    return t`${t(c)} = ${set[c as keyof RoutineSet]!}`;
  });
  return parts.slice(1).reduce((acc, p) => t`${acc}, ${p}`, parts[0]!);
}

export function routineQueries(t: Tx): RoutineQueries {
  return {
    routineInsert: async (r) => {
      // ON CONFLICT DO NOTHING: a unique violation would abort the whole transaction
      const inserted = await t`
        INSERT INTO routines (id, name, cron, tz, spec, template, catch_up, max_catch_up,
          paused, next_at, last_at, fired, created_by, created_at, updated_at)
        VALUES (${r.id}, ${r.name}, ${r.cron}, ${r.tz}, ${r.spec}, ${r.template}, ${r.catch_up},
          ${r.max_catch_up}, ${r.paused}, ${r.next_at}, ${r.last_at}, ${r.fired},
          ${r.created_by}, ${r.created_at}, ${r.updated_at})
        ON CONFLICT DO NOTHING RETURNING id`;
      return inserted.length === 1 ? "inserted" : "duplicate_name";
    },
    routineByName: (name) => first(t<RoutineRow[]>`SELECT * FROM routines WHERE name = ${name}`),
    routineByNameLocked: (name) =>
      first(t<RoutineRow[]>`SELECT * FROM routines WHERE name = ${name} FOR UPDATE`),
    routinesAll: () => t<RoutineRow[]>`SELECT * FROM routines ORDER BY name`,
    routinesDue: async (now, limit) =>
      (await t<{ name: string }[]>`SELECT name FROM routines
        WHERE paused = 0 AND next_at IS NOT NULL AND next_at <= ${now}
        ORDER BY next_at, name LIMIT ${count(limit)}`).map((r) => r.name),
    routineUpdate: async (id, set) =>
      (await t`UPDATE routines SET ${setClause(t, set)} WHERE id = ${id}`).count === 1,
    routineAdvance: async (id, ifNextAt, set) =>
      (await t`UPDATE routines SET ${setClause(t, set)}
        WHERE id = ${id} AND next_at = ${ifNextAt} AND paused = 0`).count === 1,
    routineDelete: async (id) => (await t`DELETE FROM routines WHERE id = ${id}`).count === 1,
  };
}
