/**
 * The HTML side: the dashboard page and its two embedded files, the one-time login link that
 * sets the session cookie, and the API route that makes a new login link. The server puts no
 * board text in HTML (the dashboard fetches it as JSON and renders it as text or sanitized
 * markdown); the pages carry no inline script or style (the CSP would block them anyway).
 */
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { type Asset, ASSETS, DASHBOARD_PAGE } from "./assets.ts";
import { LOGIN_CODE_TTL_MS, type LoginCodes } from "./login.ts";
import type { Context } from "hono";
import { ApiError } from "./errors.ts";
import { json, type Routes } from "./route.ts";
import { authenticated } from "./security.ts";
import * as shapes from "./shapes.ts";
import { sessionCookie } from "./token.ts";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** escapeHtml makes text safe to put between tags and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** page wraps escaped `body` HTML in a document whose title is escaped here. */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
</head>
<body>
${body}
</body>
</html>
`;
}

const SESSION_DAYS = 30;

const LOGIN_HELP = `<p>Open the one-time login link that <code>kanban serve</code> printed.
A link works once, for ${LOGIN_CODE_TTL_MS / 60_000} minutes: <code>kanban login</code> prints a
new one (or ask the API for <code>POST /api/v1/login-codes</code>).</p>`;

export interface PageOptions {
  token: string;
  logins: LoginCodes;
}

/** serveAsset answers an embedded file, or 304 when the browser has this version. */
function serveAsset(c: Context, a: Asset): Response {
  const headers = { "Content-Type": a.type, "ETag": a.etag, "Cache-Control": "no-cache" };
  if (c.req.header("if-none-match") === a.etag) return new Response(null, { status: 304, headers });
  return new Response(a.body, { status: 200, headers });
}

export function pageRoutes(r: Routes, o: PageOptions): void {
  r.add({
    method: "get",
    path: "/",
    tag: "pages",
    summary: "The dashboard (log in first with the one-time link that `kanban serve` prints)",
    ok: { status: 200, mediaType: "text/html", description: "the page" },
    handler: (c) => {
      if (!authenticated(c, o.token)) {
        return c.html(page("kanban: log in", `<h1>Log in</h1>\n${LOGIN_HELP}`), 401);
      }
      return serveAsset(c, DASHBOARD_PAGE);
    },
  });

  r.add({
    method: "get",
    path: "/assets/{name}",
    tag: "pages",
    summary: "The dashboard's script (app.js) and stylesheet (app.css), embedded in the binary",
    description: "Served with an ETag; they hold no board data, so they need no token.",
    ok: { status: 200, mediaType: "text/javascript", description: "the file" },
    errors: [404],
    handler: (c, { params }) => {
      const a = Object.hasOwn(ASSETS, params["name"]!) ? ASSETS[params["name"]!] : undefined;
      if (a === undefined) throw new ApiError(404, "not_found", `No asset "${params["name"]}"`);
      return serveAsset(c, a);
    },
  });

  r.add({
    method: "get",
    path: "/login",
    tag: "pages",
    summary: "Use a one-time login code: sets the session cookie and redirects to /",
    description: "A code works once, for 10 minutes; an expired, used or unknown code gets a " +
      "401 page that says which and how to get a new link.",
    query: z.object({ t: z.string().optional().describe("the one-time code") }),
    ok: { status: 303, mediaType: "text/html", description: "logged in; redirect to /" },
    handler: (c, { query }) => {
      const result = query.t === undefined ? "unknown" : o.logins.use(query.t);
      if (result === "expired") {
        return c.html(
          page(
            "kanban: login link expired",
            `<h1>This login link has expired</h1>\n<p>A login link works for ` +
              `${LOGIN_CODE_TTL_MS / 60_000} minutes after it is made.</p>\n${LOGIN_HELP}`,
          ),
          401,
        );
      }
      if (result !== "ok") {
        return c.html(
          page(
            "kanban: login link used",
            `<h1>This login link is not valid</h1>\n<p>It was used already, or it belongs to ` +
              `another run of <code>kanban serve</code>.</p>\n${LOGIN_HELP}`,
          ),
          401,
        );
      }
      const cookie = sessionCookie(o.token);
      setCookie(c, cookie.name, cookie.value, {
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
        maxAge: SESSION_DAYS * 86_400,
        secure: new URL(c.req.url).protocol === "https:",
      });
      return c.redirect("/", 303);
    },
  });

  r.add({
    method: "post",
    path: "/api/v1/login-codes",
    tag: "auth",
    summary: "Make a new one-time login link (for another browser)",
    ok: { status: 201, schema: shapes.LoginLink, description: "the link's path" },
    handler: (c) => json(c, { path: `/login?t=${o.logins.issue()}` }, 201),
  });
}
