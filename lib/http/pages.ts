/**
 * The HTML side: a placeholder home page (the dashboard comes later), the one-time login link
 * that sets the session cookie, and the API route that makes a new login link. Every piece of
 * board text goes through escapeHtml(); the pages carry no inline script or style (the CSP
 * would block them anyway).
 */
import { setCookie } from "hono/cookie";
import { z } from "zod";
import type { TaskSummary } from "../store/mod.ts";
import type { LoginCodes } from "./login.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
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
const PER_COLUMN = 20;

function taskItem(t: TaskSummary): string {
  const who = [t.assignee, t.tenant].filter((x) => x !== null).map((x) => escapeHtml(x!));
  return `<li><code>${escapeHtml(t.id)}</code> ${escapeHtml(t.title)}${
    who.length > 0 ? ` <small>(${who.join(", ")})</small>` : ""
  }${t.blocked_reason ? ` <em>${escapeHtml(t.blocked_reason)}</em>` : ""}</li>`;
}

async function home(api: ApiContext): Promise<string> {
  const tasks = await api.store.listTasks({});
  const groups = new Map<string, TaskSummary[]>();
  for (const t of tasks) groups.set(t.status, [...(groups.get(t.status) ?? []), t]);
  const columns = [...groups].map(([status, list]) =>
    `<section><h2>${escapeHtml(status)} (${list.length})</h2><ul>${
      list.slice(0, PER_COLUMN).map(taskItem).join("")
    }</ul></section>`
  );
  const head = await api.store.eventHead();
  const events = await api.store.eventsSince(Math.max(0, head - 20), 20);
  const recent = events.reverse().map((e) =>
    `<li>${escapeHtml(e.at)} ${escapeHtml(e.kind)} ${escapeHtml(e.task_id ?? "-")} by ${
      escapeHtml(e.actor)
    }</li>`
  );
  return page(
    "kanban",
    `<h1>kanban</h1>
<p>Board <code>${escapeHtml(api.store.path)}</code>: ${tasks.length} open tasks. The dashboard
is coming; meanwhile the API is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
${columns.join("\n")}
<h2>Recent events</h2>
<ul>${recent.join("")}</ul>`,
  );
}

const LOGIN_HELP = `<p>Open the one-time login link that <code>kanban serve</code> printed.
A link works once; restart <code>kanban serve</code> (or ask the API for
<code>POST /api/v1/login-codes</code>) for a new one.</p>`;

export interface PageOptions {
  token: string;
  logins: LoginCodes;
}

export function pageRoutes(r: Routes, api: ApiContext, o: PageOptions): void {
  r.add({
    method: "get",
    path: "/",
    tag: "pages",
    summary: "The board page (a placeholder until the dashboard lands)",
    ok: { status: 200, mediaType: "text/html", description: "the page" },
    handler: async (c) => {
      if (!authenticated(c, o.token)) {
        return c.html(page("kanban: log in", `<h1>Log in</h1>\n${LOGIN_HELP}`), 401);
      }
      return c.html(await home(api));
    },
  });

  r.add({
    method: "get",
    path: "/login",
    tag: "pages",
    summary: "Use a one-time login code: sets the session cookie and redirects to /",
    query: z.object({ t: z.string().optional().describe("the one-time code") }),
    ok: { status: 303, mediaType: "text/html", description: "logged in; redirect to /" },
    handler: (c, { query }) => {
      if (query.t === undefined || !o.logins.consume(query.t)) {
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
