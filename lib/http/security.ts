/**
 * The server's defences, as hono middleware: strict headers on every response, a Host check
 * (DNS rebinding: a hostile page whose name resolves to 127.0.0.1 still sends its own name),
 * an Origin check on writes (CSRF), and the board token on every API route (a Bearer header,
 * or the HttpOnly cookie that a one-time login link sets).
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { isServed } from "../runtime.ts";
import { ApiError } from "./errors.ts";
import { sameSecret, sessionCookie } from "./token.ts";

/** CSP allows only this origin's own files: no inline scripts or styles, no framing. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/**
 * securityHeaders puts SECURITY_HEADERS on every response, errors and 404s included; a
 * download's policy adds `sandbox`.
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
    // A file served for download (an attachment) is sandboxed, should it ever be rendered.
    if (c.res.headers.get("Content-Disposition")?.startsWith("attachment")) {
      c.res.headers.set("Content-Security-Policy", `${CSP}; sandbox`);
    }
    // Board data and login responses must not sit in any cache.
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  };
}

/** normalizeHost lowercases a host name and drops IPv6 brackets and a trailing dot. */
export function normalizeHost(name: string): string {
  return name.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
}

/** splitHost parses a Host header (`name`, `name:port`, `[v6]:port`); null when malformed. */
export function splitHost(header: string): { name: string; port: string | null } | null {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!m) return null;
  return { name: normalizeHost(m[1]!), port: m[2] ?? null };
}

/** isLoopback tells whether a host name or address stays on this machine. */
export function isLoopback(host: string): boolean {
  const h = normalizeHost(host);
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** LOOPBACK_NAMES are always allowed in the Host header. */
export const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"] as const;

/**
 * requestHost is the request's Host header. A request made in-process (`app.request()` in
 * tests) may have none: it stands for the host of its URL. One that came over the network
 * (serve() marks those) names its own, or is refused in hostGuard.
 */
function requestHost(c: Context): string | null {
  const header = c.req.header("host");
  if (header !== undefined) return header;
  if (isServed(c.env)) return null;
  return new URL(c.req.url).host;
}

/**
 * hostGuard refuses a request unless its Host header names one of `allowed` (any port): 403
 * for another name (DNS rebinding), 400 for a missing, empty or malformed Host (HTTP/1.1
 * requires one; an HTTP/1.0 client may send none, and under Bun its URL cannot even be read).
 */
export function hostGuard(allowed: readonly string[]): MiddlewareHandler {
  const names = new Set(allowed.map(normalizeHost));
  const use = `use ${[...names].join(", ")} (kanban serve --allow-host NAME adds one)`;
  return async (c, next) => {
    const header = requestHost(c);
    if (header === null || header.trim() === "") {
      throw new ApiError(
        400,
        "missing_host",
        `The request has ${header === null ? "no" : "an empty"} Host header: send the name ` +
          `you reach this server by (HTTP/1.1 requires it); ${use}`,
      );
    }
    const host = splitHost(header);
    if (host === null) {
      throw new ApiError(400, "invalid_host", `Host "${header}" is not a host name; ${use}`);
    }
    if (!names.has(host.name)) {
      throw new ApiError(403, "forbidden_host", `Host "${header}" is not allowed; ${use}`);
    }
    await next();
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const defaultPort = (scheme: string) => (scheme === "https:" ? "443" : "80");

/**
 * originGuard refuses a write (any method but GET/HEAD/OPTIONS) sent from another origin:
 * its Origin header must name the host and port of the Host header. Without an Origin header, a browser's
 * `Sec-Fetch-Site: cross-site` (or `same-site`) is refused too; clients like curl send
 * neither and are judged by their token alone.
 */
export function originGuard(): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return await next();
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      const host = splitHost(requestHost(c) ?? "");
      let url: URL | null = null;
      try {
        url = origin === "null" ? null : new URL(origin);
      } catch { /* refused below */ }
      const same = url !== null && host !== null && (url.protocol === "http:" ||
        url.protocol === "https:") &&
        normalizeHost(url.hostname) === host.name &&
        // The scheme is not compared: a TLS proxy in front turns https into http. A Host
        // without a port came through such a proxy (or port 80): the Origin has none either.
        (host.port === null
          ? url.port === ""
          : (url.port || defaultPort(url.protocol)) === host.port);
      if (!same) {
        throw new ApiError(
          403,
          "forbidden_origin",
          `Cross-origin write refused: Origin "${origin}" is not http://${requestHost(c)}`,
        );
      }
    } else {
      const site = c.req.header("sec-fetch-site");
      if (site === "cross-site" || site === "same-site") {
        throw new ApiError(403, "forbidden_origin", `Cross-site write refused (${site})`);
      }
    }
    await next();
  };
}

/** authenticated tells whether the request carries the board token or its session cookie. */
export function authenticated(c: Context, token: string): boolean {
  const auth = c.req.header("authorization");
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m !== null && sameSecret(m[1]!, token);
  }
  const cookie = sessionCookie(token);
  const got = getCookie(c, cookie.name);
  return got !== undefined && sameSecret(got, cookie.value);
}

/** requireToken answers 401 unless the request is authenticated. */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (!authenticated(c, token)) {
      c.header("WWW-Authenticate", 'Bearer realm="kanban"');
      throw new ApiError(
        401,
        "unauthorized",
        "Missing or wrong board token: send `Authorization: Bearer <token>` " +
          "(the token is in the file kanban serve names) or log in with the link it prints",
      );
    }
    await next();
  };
}
