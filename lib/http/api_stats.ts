/**
 * The stats series: the board's work and cost in hour or day buckets, for the dashboard's
 * plots (lib/store/series.ts).
 */
import { parseSince } from "../config/duration.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import { SeriesQuery } from "./schemas.ts";
import * as shapes from "./shapes.ts";

/** The window when the request names none. */
const DEFAULT_SINCE = "7d";
/** Windows up to this long are read by the hour unless the request says otherwise. */
const HOURLY_UP_TO_MS = 2 * 86_400_000;

export function seriesRoutes(r: Routes, api: ApiContext): void {
  r.add({
    method: "get",
    path: "/api/v1/stats/series",
    tag: "board",
    summary: "Tasks finished, queue age, run outcomes and usage per profile, per hour or day",
    description: "Every bucket of the window (UTC), oldest first, empty ones as zeros: tasks " +
      "that entered done, how long the runs that started waited in ready (median and longest), " +
      "and the runs that ended per profile with their outcomes, tokens and cost. Costs are " +
      "summed only over runs whose agent CLI reported one (`cost_usd` null: none did). At " +
      "most 1000 buckets: a longer window needs `bucket=day`.",
    query: SeriesQuery,
    ok: { status: 200, schema: shapes.Series, description: "the buckets of the window" },
    handler: async (c, { query }) => {
      const now = api.now();
      const since = parseSince(query.since ?? DEFAULT_SINCE, now);
      const bucket = query.bucket ?? (now - since <= HOURLY_UP_TO_MS ? "hour" : "day");
      return json(c, await api.store.series({ since, bucket, tenant: query.tenant }));
    },
  });
}
