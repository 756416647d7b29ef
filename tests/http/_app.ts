/**
 * HTTP test helpers: a fresh board with the app in front of it, requests that carry the
 * token (or not), and the response shapes to check bodies against.
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import { type App, type AppOptions, createApp, LoginCodes } from "../../lib/http/mod.ts";
import { type Bundle, setup } from "../_setup.ts";

export const TOKEN = `kb_${"t".repeat(43)}`;
export const AUTH = { authorization: `Bearer ${TOKEN}` };
export const XSS = `<script>alert("x")</script><img src=x onerror=alert(1)>'"&`;

export interface AppBundle extends AsyncDisposable {
  b: Bundle;
  app: App;
  logins: LoginCodes;
  /** A request with the token (override headers with `headers`). */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** call() and parse the JSON body after checking the status. */
  ok<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    status?: number,
  ): Promise<T>;
  /** call() expecting an error: checks status and code, returns the message. */
  fails(
    method: string,
    path: string,
    body: unknown,
    status: number,
    code: string,
  ): Promise<string>;
}

export function appSetup(options: Partial<AppOptions> = {}): AppBundle {
  const b = setup();
  const logins = new LoginCodes();
  const app = createApp({
    store: b.store,
    token: TOKEN,
    logins,
    actor: "alice",
    now: b.clock.now,
    ...options,
  });
  const call = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    Promise.resolve(app.request(path, {
      method,
      headers: {
        ...AUTH,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined
        ? { body: typeof body === "string" ? body : JSON.stringify(body) }
        : {}),
    }));
  return {
    b,
    app,
    logins,
    call,
    ok: async <T>(method: string, path: string, body?: unknown, status = 200) => {
      const r = await call(method, path, body);
      const text = await r.text();
      assert.equal(r.status, status, `${method} ${path}: ${text}`);
      return JSON.parse(text) as T;
    },
    fails: async (method, path, body, status, code) => {
      const r = await call(method, path, body);
      const json = await r.json() as { error: { code: string; message: string } };
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(json)}`);
      assert.equal(json.error.code, code, json.error.message);
      return json.error.message;
    },
    [Symbol.asyncDispose]: () => b[Symbol.asyncDispose](),
  };
}

/** conforms checks `value` against a response shape (strict: no missing or extra fields). */
export function conforms(schema: z.ZodType, value: unknown): void {
  const r = schema.safeParse(value);
  assert.ok(r.success, r.success ? "" : JSON.stringify(r.error.issues.slice(0, 5)));
}
