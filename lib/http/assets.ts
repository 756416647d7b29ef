/**
 * The dashboard's files, embedded: the page, its stylesheet and its script (built from
 * lib/dashboard by scripts/bundle). Nothing is read from disk or the network at run time.
 */
import script from "../../dist/dashboard/app.js" with { type: "text" };
import page from "../dashboard/index.html" with { type: "text" };
import style from "../dashboard/styles.css" with { type: "text" };

export interface Asset {
  body: string;
  type: string;
  etag: string;
}

/** A short content hash, so that a browser revalidates cheaply and never runs a stale script. */
function etag(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return `"${(h >>> 0).toString(36)}-${text.length.toString(36)}"`;
}

function asset(body: string, type: string): Asset {
  return { body, type, etag: etag(body) };
}

export const DASHBOARD_PAGE = asset(page, "text/html; charset=utf-8");

export const ASSETS: Readonly<Record<string, Asset>> = {
  "app.js": asset(script, "text/javascript; charset=utf-8"),
  "app.css": asset(style, "text/css; charset=utf-8"),
};
