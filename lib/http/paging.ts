/**
 * Paging of the API's lists. A list route answers one page (a default size, a maximum the
 * client may ask for) and keeps its JSON shape, a plain array: when more items follow, a
 * `Link: <...offset=N...>; rel="next"` header (RFC 8288, as GitHub's API does) names the next
 * page, and its absence means this page is the last.
 */
import type { Context } from "hono";

export interface Page {
  limit: number;
  offset: number;
}

/** pageOf reads `limit` and `offset` from a parsed query, with the route's default size. */
export function pageOf(
  query: { limit?: number | undefined; offset?: number | undefined },
  size: number,
): Page {
  return { limit: query.limit ?? size, offset: query.offset ?? 0 };
}

/**
 * paged answers the first `page.limit` of `items` (read with one more than the limit, so
 * that a further item means a next page) and sets the Link header when there is more.
 */
export function paged<T>(c: Context, items: T[], page: Page): T[] {
  if (items.length <= page.limit) return items;
  const url = new URL(c.req.url);
  url.searchParams.set("offset", String(page.offset + page.limit));
  url.searchParams.set("limit", String(page.limit));
  c.header("Link", `<${url.pathname}${url.search}>; rel="next"`);
  return items.slice(0, page.limit);
}
