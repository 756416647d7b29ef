/**
 * createApp builds the board's web server as a pure `(Request) => Response` hono app: the
 * JSON API under /api/v1, live events, the login link and the dashboard, behind the
 * defences of security.ts. It runs unchanged under Deno.serve and Bun.serve (see serve() in
 * lib/runtime.ts) and in tests through `app.request()`.
 */
import { inboxRoutes } from "./api_inbox.ts";
import { routineRoutes } from "./api_routines.ts";
import { budgetRoutes } from "./api_budgets.ts";
import { holdRoutes } from "./api_holds.ts";
import { reviewRoutes } from "./api_review.ts";
import { seriesRoutes } from "./api_stats.ts";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Env } from "../config/paths.ts";
import { type AttachmentLimits, DEFAULT_ATTACHMENT_LIMITS, type Store } from "../store/mod.ts";
import { actionRoutes } from "./api_actions.ts";
import { planRoutes } from "./api_plans.ts";
import { boardRoutes } from "./api_board.ts";
import { taskRoutes } from "./api_tasks.ts";
import { attachmentRoutes, UPLOAD_PATH } from "./api_attachments.ts";
import { ApiError, errorBody, toError } from "./errors.ts";
import { eventRoutes } from "./events.ts";
import { LoginCodes } from "./login.ts";
import { buildOpenApi } from "./openapi.ts";
import { escapeHtml, pageRoutes } from "./pages.ts";
import { type ApiContext, json, Routes } from "./route.ts";
import {
  hostGuard,
  LOOPBACK_NAMES,
  originGuard,
  requireToken,
  securityHeaders,
} from "./security.ts";
import * as shapes from "./shapes.ts";

export interface AppOptions {
  store: Store;
  /** The board token (lib/http/token.ts): every /api route requires it. */
  token: string;
  /** Host names allowed beside localhost, 127.0.0.1 and [::1] (e.g. the bound name). */
  allowedHosts?: readonly string[];
  /** One-time login codes; `kanban serve` issues one and prints its link. */
  logins?: LoginCodes;
  /** Who the API's writes are recorded as (default "web"). */
  actor?: string;
  /** Environment for config.toml and $PATH (the status route); default: none. */
  env?: Env;
  now?: () => number;
  /** Aborting it ends every open event stream (call before shutting the server down). */
  signal?: AbortSignal;
  /** Event stream timing (ms); defaults 250 and 15000. */
  pollMs?: number;
  keepAliveMs?: number;
  /** Largest request body accepted (bytes; default 2 MiB: a task body may be 1 MiB). */
  maxBodyBytes?: number;
  /** The board's attachment caps (config [attachments]); an upload's body limit is the cap. */
  attachments?: AttachmentLimits;
  /** Where internal errors are reported (their details never go to the client). */
  log?: (line: string) => void;
}

/** A hono app with its generated OpenAPI document. */
export type App = Hono & { openapi: Record<string, unknown> };

export function createApp(o: AppOptions): App {
  const app = new Hono();
  const api: ApiContext = {
    store: o.store,
    actor: { name: o.actor ?? "web" },
    env: o.env ?? {},
    now: o.now ?? Date.now,
  };
  const logins = o.logins ?? new LoginCodes(api.now);
  const maxBody = o.maxBodyBytes ?? 2 * 1024 * 1024;

  app.use(securityHeaders());
  app.use(hostGuard([...LOOPBACK_NAMES, ...(o.allowedHosts ?? [])]));
  app.use(originGuard());
  app.use("/api/*", requireToken(o.token));
  const limits = o.attachments ?? DEFAULT_ATTACHMENT_LIMITS;
  const general = bodyLimit({
    maxSize: maxBody,
    onError: () => {
      throw new ApiError(413, "too_large", `Request body is larger than ${maxBody} bytes`);
    },
  });
  // an upload is read up to the attachment cap and no further
  const upload = bodyLimit({
    maxSize: limits.maxBytes,
    onError: (c) => {
      throw new ApiError(
        413,
        "too_large",
        `Attachment ${JSON.stringify(c.req.query("name") ?? "")} is larger than the board's ` +
          `cap of ${limits.maxBytes} bytes (attachments.max_bytes)`,
      );
    },
  });
  app.use(
    "/api/*",
    (c, next) =>
      c.req.method === "POST" && UPLOAD_PATH.test(c.req.path) ? upload(c, next) : general(c, next),
  );

  const routes = new Routes(app);
  pageRoutes(routes, { token: o.token, logins });
  boardRoutes(routes, api);
  taskRoutes(routes, api);
  attachmentRoutes(routes, api, limits);
  actionRoutes(routes, api);
  planRoutes(routes, api);
  reviewRoutes(routes, api);
  inboxRoutes(routes, api);
  routineRoutes(routes, api);
  budgetRoutes(routes, api);
  holdRoutes(routes, api);
  seriesRoutes(routes, api);
  eventRoutes(routes, api, {
    pollMs: o.pollMs ?? 250,
    keepAliveMs: o.keepAliveMs ?? 15_000,
    signal: o.signal,
  });
  let openapi: Record<string, unknown> = {};
  routes.add({
    method: "get",
    path: "/api/v1/openapi.json",
    tag: "meta",
    summary: "This document",
    ok: { status: 200, schema: shapes.OpenApi, description: "OpenAPI 3.1" },
    handler: (c) => json(c, openapi),
  });
  openapi = buildOpenApi(routes.docs);

  app.notFound((c) => {
    const message = `No route ${c.req.method} ${new URL(c.req.url).pathname}`;
    if (new URL(c.req.url).pathname.startsWith("/api/")) {
      return c.json(errorBody("not_found", message), 404);
    }
    return c.html(`<!doctype html><title>Not found</title><p>${escapeHtml(message)}</p>`, 404);
  });
  app.onError((err, c) => {
    const { status, body } = toError(err);
    if (status === 500) o.log?.(`${c.req.method} ${c.req.path}: ${err.stack ?? err}`);
    return c.json(body, status);
  });
  return Object.assign(app, { openapi });
}
