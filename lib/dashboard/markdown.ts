/// <reference lib="dom" />
/**
 * Board text is markdown written by people and agents, so it is untrusted: marked turns it
 * into HTML and DOMPurify keeps only inert markup (no scripts, handlers, javascript: links,
 * forms or frames). Links open in a new tab without the board as referrer. Images load only
 * from data: URLs: the dashboard fetches nothing from elsewhere (a remote image in a task
 * body would tell its host who reads the board, and when), and the CSP would block it anyway.
 */
import DOMPurify from "dompurify";
import { marked } from "marked";

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
  if (node.tagName === "IMG") {
    const src = node.getAttribute("src") ?? "";
    if (!/^data:image\//i.test(src)) {
      node.removeAttribute("src");
      node.removeAttribute("srcset");
      node.setAttribute("title", `image not loaded: ${src}`);
    }
  }
});

const cache = new Map<string, string>();

/** markdown renders untrusted markdown to sanitized HTML. */
export function markdown(text: string): string {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const html = DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: true }), {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe"],
    FORBID_ATTR: ["style"],
  });
  if (cache.size > 500) cache.clear();
  cache.set(text, html);
  return html;
}
