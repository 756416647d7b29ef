/**
 * Profile hold routes (lib/store/holds.ts, docs/quotas.md): the profiles held for a rate
 * limit, an exhausted quota or a failed sign-in (what `kanban profile holds --json` prints),
 * and a person's release of one.
 */
import { z } from "zod";
import { type ApiContext, json, type Routes } from "./route.ts";
import * as shapes from "./shapes.ts";

export function holdRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/holds",
    tag: "holds",
    summary: "The profiles held now (?all=true: ended holds too)",
    query: z.strictObject({ all: z.enum(["true", "false"]).optional() }),
    ok: { status: 200, schema: shapes.ProfileHolds, description: "the holds, by profile" },
    handler: async (c, { query }) =>
      json(c, (await store.profileHolds()).filter((h) => query.all === "true" || h.active)),
  });

  r.add({
    method: "delete",
    path: "/api/v1/holds/{profile}",
    tag: "holds",
    summary: "Release a profile's hold now; tasks a failed sign-in blocked return to the queue",
    ok: { status: 200, schema: shapes.ReleasedHold, description: "the hold released" },
    errors: [404],
    handler: async (c, { params }) =>
      json(c, await store.releaseHold(params["profile"]!, api.actor)),
  });
}
