/**
 * Routine routes: the board's routines with their next time (what `kanban routine list
 * --json` prints), pause and resume, and run-now. A routine is added with `kanban routine
 * add` (a template is read from files on the host that adds it); the dispatcher fires it.
 */
import { type ApiContext, json, type Routes } from "./route.ts";
import { RunRoutineBody } from "./schemas.ts";
import * as shapes from "./shapes.ts";
import { randomBytes } from "node:crypto";

export function routineRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/routines",
    tag: "routines",
    summary: "The routines, by name, each with its next occurrence",
    description: "What `kanban routine list --json` prints. `next_at` is the next occurrence " +
      "of its cron in its time zone (null when the cron never occurs again); a paused routine " +
      "keeps the one it had when paused and does not fire.",
    ok: { status: 200, schema: shapes.Routines, description: "the routines" },
    handler: async (c) => json(c, await store.listRoutines()),
  });

  for (const verb of ["pause", "resume"] as const) {
    r.add({
      method: "post",
      path: `/api/v1/routines/{name}/${verb}`,
      tag: "routines",
      summary: verb === "pause"
        ? "Pause a routine: it fires nothing until resumed"
        : "Resume a routine from its next occurrence (what came while paused is not caught up)",
      ok: { status: 200, schema: shapes.Routine, description: "the routine" },
      errors: [404],
      handler: async (c, { params }) =>
        json(
          c,
          verb === "pause"
            ? await store.pauseRoutine(params["name"]!)
            : await store.resumeRoutine(params["name"]!),
        ),
    });
  }

  r.add({
    method: "post",
    path: "/api/v1/routines/{name}/run",
    tag: "routines",
    summary: "Fire one occurrence of a routine now, outside its schedule",
    description: "Once per `key`: the same key again answers with the tasks it made " +
      "(`created: false`). Without a key each call fires. Works on a paused routine too.",
    body: RunRoutineBody,
    ok: { status: 200, schema: shapes.Firing, description: "the occurrence and its tasks" },
    errors: [404],
    handler: async (c, { params, body }) => {
      const key = body.key ?? `api-${randomBytes(6).toString("hex")}`;
      const f = await store.runRoutineNow(params["name"]!, key);
      return json(c, { ...f, occurrence: new Date(f.occurrence).toISOString() });
    },
  });
}
