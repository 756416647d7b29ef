/**
 * The dashboard's files, embedded: the page, its stylesheet and its script (built from
 * lib/dashboard by scripts/bundle). Nothing is read from disk or the network at run time.
 */
import { createHash } from "node:crypto";
import script from "../../dist/dashboard/app.js" with { type: "text" };
import page from "../dashboard/index.html" with { type: "text" };
import inboxStyle from "../dashboard/inbox.css" with { type: "text" };
import reviewStyle from "../dashboard/review.css" with { type: "text" };
import statsStyle from "../dashboard/stats.css" with { type: "text" };
import baseStyle from "../dashboard/styles.css" with { type: "text" };

/** One stylesheet: the page's, then each view's. */
const style = [baseStyle, reviewStyle, inboxStyle, statsStyle].join("\n");

export interface Asset {
  body: string;
  type: string;
  etag: string;
}

/** A content hash, so that a browser revalidates cheaply and never runs a stale script. */
function etag(text: string): string {
  return `"${createHash("sha256").update(text).digest("base64url").slice(0, 22)}"`;
}

function asset(body: string, type: string): Asset {
  return { body, type, etag: etag(body) };
}

export const DASHBOARD_PAGE = asset(page, "text/html; charset=utf-8");

export const ASSETS: Readonly<Record<string, Asset>> = {
  "app.js": asset(script, "text/javascript; charset=utf-8"),
  "app.css": asset(style, "text/css; charset=utf-8"),
};
