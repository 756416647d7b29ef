/** The SQLite driver's routine operations (lib/store/driver/routines.ts says what each does). */
import type { RoutineQueries, RoutineRow, RoutineSet } from "../driver/routines.ts";
import { answered } from "./answered.ts";
import type { Db, Param } from "./db.ts";

const SET_COLUMNS = new Set(["paused", "next_at", "last_at", "fired", "updated_at"]);

function setClause(set: RoutineSet): [string, Param[]] {
  const cols = Object.keys(set).filter((c) => set[c as keyof RoutineSet] !== undefined);
  if (cols.length === 0) throw new Error("An update must set at least one column");
  for (const c of cols) if (!SET_COLUMNS.has(c)) throw new Error(`Unknown column "${c}"`);
  return [cols.map((c) => `${c} = ?`).join(", "), cols.map((c) => set[c as keyof RoutineSet]!)];
}

export function routineQueries(db: Db): RoutineQueries {
  const byName = (name: string) =>
    db.get<RoutineRow>("SELECT * FROM routines WHERE name = ?", name);
  return answered<RoutineQueries>({
    routineInsert: (r) => {
      const { changes } = db.run(
        `INSERT INTO routines (id, name, cron, tz, spec, template, catch_up, max_catch_up,
           paused, next_at, last_at, fired, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        r.id,
        r.name,
        r.cron,
        r.tz,
        r.spec,
        r.template,
        r.catch_up,
        r.max_catch_up,
        r.paused,
        r.next_at,
        r.last_at,
        r.fired,
        r.created_by,
        r.created_at,
        r.updated_at,
      );
      return changes === 1 ? "inserted" : "duplicate_name";
    },
    routineByName: byName,
    routineByNameLocked: byName,
    routinesAll: () => db.all<RoutineRow>("SELECT * FROM routines ORDER BY name"),
    routinesDue: (now, limit) =>
      db.all<{ name: string }>(
        `SELECT name FROM routines WHERE paused = 0 AND next_at IS NOT NULL AND next_at <= ?
         ORDER BY next_at, name LIMIT ?`,
        now,
        limit,
      ).map((r) => r.name),
    routineUpdate: (id, set) => {
      const [sets, params] = setClause(set);
      return db.run(`UPDATE routines SET ${sets} WHERE id = ?`, ...params, id).changes === 1;
    },
    routineAdvance: (id, ifNextAt, set) => {
      const [sets, params] = setClause(set);
      return db.run(
        `UPDATE routines SET ${sets} WHERE id = ? AND next_at = ? AND paused = 0`,
        ...params,
        id,
        ifNextAt,
      ).changes === 1;
    },
    routineDelete: (id) => db.run("DELETE FROM routines WHERE id = ?", id).changes === 1,
  });
}
