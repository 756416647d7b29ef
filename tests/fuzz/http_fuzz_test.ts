/**
 * Fuzzes the HTTP API in-process: every route of the app's own OpenAPI document (so new
 * routes are covered by themselves) gets live, bogus and hostile path ids, random query
 * strings, and bodies built from its request schema with wrong types and extra fields, or
 * bodies that are not JSON at all, carry the wrong content type, are too large or nest too
 * deep; now and then without the token, from another host or origin. Every answer must be
 * one of the statuses the API documents, never a 500, and every API error the JSON
 * `{error: {code, message}}` without a stack trace; the board must stay sound throughout.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { appSetup, TOKEN } from "../http/_app.ts";
import {
  anyJson,
  hostileString,
  idTok,
  Live,
  liveId,
  Long,
  nameStr,
  Nested,
  resolveDeep,
  resolveTok,
  type Tok,
} from "./_arbitraries.ts";
import {
  assertHealthy,
  assertNoLeak,
  CHECK_EVERY,
  fuzzParams,
  fuzzRuns,
  seedBoard,
} from "./_fuzz.ts";

/** Cases per run: 10,000, or $KANBAN_FUZZ_RUNS. */
const RUNS = fuzzRuns(10_000);
const SHOWN = RUNS.toLocaleString("en");

/**
 * The statuses the API answers with: the documented successes (202: a dispatch nudge,
 * 303: the login link's redirect) and refusals. Never 500.
 */
const ALLOWED = new Set([200, 201, 202, 204, 303, 400, 401, 403, 404, 409, 413, 415, 503]);

const MAX_BODY = 2 * 1024 * 1024;

// The routes, read from the OpenAPI document -------------------------------------------------

interface Schema {
  type?: string;
  enum?: string[];
  anyOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  pattern?: string;
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  required?: string[];
  $ref?: string;
}

interface Route {
  method: string;
  /** OpenAPI path, `{id}` for parameters. */
  path: string;
  params: string[];
  query: [string, Schema][];
  /** Query parameters the route requires. */
  required: string[];
  body: Schema | null;
}

interface OpenApi {
  paths: Record<
    string,
    Record<string, {
      parameters?: { name: string; in: string; required?: boolean; schema: Schema }[];
      requestBody?: { content: Record<string, { schema: Schema }> };
    }>
  >;
  components: { schemas: Record<string, Schema> };
}

function routesOf(doc: OpenApi): Route[] {
  const deref = (s: Schema): Schema =>
    s.$ref ? doc.components.schemas[s.$ref.replace("#/components/schemas/", "")]! : s;
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const params = op.parameters ?? [];
      const body = op.requestBody?.content["application/json"]?.schema;
      return {
        method: method.toUpperCase(),
        path,
        params: params.filter((p) => p.in === "path").map((p) => p.name),
        query: params.filter((p) => p.in === "query").map((p) => [p.name, p.schema] as const)
          .map(([n, s]) => [n, deref(s)] as [string, Schema]),
        required: params.filter((p) => p.in === "query" && p.required).map((p) => p.name),
        body: body ? deref(body) : null,
      };
    })
  );
}

// Values built from a schema, mixed with hostile ones ------------------------------------------

const textStr: fc.Arbitrary<Tok> = fc.oneof(
  { arbitrary: fc.lorem({ maxCount: 6 }), weight: 3 },
  { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), weight: 2 },
  { arbitrary: hostileString, weight: 1 },
  { arbitrary: fc.constantFrom(new Long("x", 20_001), new Long("é", 1024 * 1024)), weight: 1 },
);

/**
 * typed: a value of the kind the schema asks for (its name says what a string holds). Tame
 * values also keep to the schema's bounds, so that most tame requests succeed.
 */
function typed(name: string, s: Schema, tame = false): fc.Arbitrary<unknown> {
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.anyOf) return fc.oneof(...s.anyOf.map((x) => typed(name, x, tame)));
  switch (s.type) {
    case "string":
      if (/^(id|ids|parent|parents|child|task)$/.test(name)) return tame ? liveId : idTok;
      if (s.format === "date-time") {
        return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      }
      if (s.pattern === "^\\d+$") {
        return tame
          ? fc.integer({ min: 1, max: 100 }).map(String)
          : fc.oneof(fc.nat({ max: 2_000_000 }).map(String), fc.constantFrom("0", "1e3", ""));
      }
      if (s.pattern) return tame ? fc.constantFrom("coder", "reviewer", "acme", "a.b@c") : nameStr;
      if (name === "workspace") {
        return tame
          ? fc.constantFrom("scratch", "dir:/tmp")
          : fc.constantFrom("scratch", "worktree", "dir:/tmp", "dir:", "elsewhere");
      }
      return tame ? fc.lorem({ maxCount: 5 }) : textStr;
    case "integer":
    case "number": {
      const low = s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : s.minimum ?? -2000;
      const inRange = fc.integer({
        min: Math.max(low, -2000),
        max: Math.min(s.maximum ?? 2000, 2000),
      });
      return tame ? inRange : fc.oneof(
        inRange,
        fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, Date.parse("2030-01-01")),
        // either side of the last time a Date holds, and the largest safe integer
        fc.constantFrom(8.64e15, 8.64e15 + 1, -8.64e15 - 1, Number.MAX_SAFE_INTEGER),
      );
    }
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(typed(name, s.items ?? {}, tame), { minLength: tame ? 1 : 0, maxLength: 4 });
    case "object":
      if (s.properties) return objectFor(s, tame);
      return tame
        ? fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
        : fc.dictionary(fc.string({ maxLength: 6 }), anyJson, { maxKeys: 3 });
  }
  return anyJson;
}

/** field: usually the kind the schema asks for, otherwise any JSON value at all. */
function field(name: string, s: Schema, tame: boolean): fc.Arbitrary<unknown> {
  if (tame) return typed(name, s, true);
  return fc.oneof({ arbitrary: typed(name, s), weight: 5 }, { arbitrary: anyJson, weight: 1 });
}

/**
 * objectFor: some of the schema's fields (tame: its required ones always, and no unknown
 * field), otherwise now and then an unknown one too.
 */
function objectFor(s: Schema, tame = false): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(s.properties ?? {});
  const required = new Set(s.required ?? []);
  return fc.tuple(
    fc.tuple(
      ...props.map(([k, p]) =>
        tame && required.has(k)
          ? field(k, p, true)
          : fc.option(field(k, p, tame), { nil: undefined, freq: tame ? 2 : 3 })
      ),
    ),
    tame ? fc.constant(undefined) : fc.option(
      fc.tuple(fc.constantFrom("assigne", "__proto__", "constructor", "id", "status", ""), anyJson),
      { nil: undefined, freq: 8 },
    ),
  ).map(([values, extra]) => {
    const out: Record<string, unknown> = {};
    props.forEach(([k], i) => {
      if (values[i] !== undefined) out[k] = values[i];
    });
    if (extra) {
      Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true, writable: true });
    }
    return out;
  });
}

// Requests -------------------------------------------------------------------------------------

/** pct percent-encodes text as UTF-8 (lone surrogates too, which encodeURIComponent refuses). */
function pct(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    // a lone surrogate: encode the bytes TextEncoder makes of it (U+FFFD)
  }
  return [...new TextEncoder().encode(s)].map((b) =>
    /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
  ).join("");
}

/** Path segments and query text that go into the URL as they are: broken escapes and all. */
const RAW = ["%", "%zz", "%E0%A4%A", "%00", "%2F", "..", "%2e%2e", "%C0%AF", "%ff%fe", "a%20b"];

const segment = fc.oneof(
  { arbitrary: idTok.map((t) => ({ t, raw: false })), weight: 8 },
  { arbitrary: fc.constantFrom(...RAW).map((t) => ({ t: t as Tok, raw: true })), weight: 1 },
);

type Body =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "raw"; text: Tok }
  | { kind: "deep"; key: string; nested: Nested }
  | { kind: "huge" };

const CONTENT_TYPES = [
  "application/json; charset=utf-8",
  "application/vnd.kanban+json",
  "APPLICATION/JSON",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "json",
  "",
];

/** Header values must be Latin-1: hostile ones are kept to printable ASCII. */
const headerText = fc.oneof(
  fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
  fc.constantFrom("null", "http://evil.example", "http://localhost:1", "file://", "http://[::1]"),
);

type Guard =
  | { kind: "token" }
  | { kind: "no-token" }
  | { kind: "authorization"; value: string }
  | { kind: "cookie"; value: string }
  | { kind: "host"; value: string }
  | { kind: "origin"; value: string }
  | { kind: "cross-site" }
  | { kind: "last-event-id"; value: string };

interface HttpCase {
  route: Route;
  method: string;
  params: { t: Tok; raw: boolean }[];
  query: { key: Tok; value: unknown; raw: boolean }[];
  body: Body;
  contentType: string | null;
  guard: Guard;
}

/**
 * caseFor: requests to one route. A tame one is well-formed (token, JSON, live ids, a body
 * that keeps to the schema) so that the board keeps changing; the others are hostile.
 */
function caseFor(route: Route): fc.Arbitrary<HttpCase> {
  return fc.oneof({ arbitrary: hostileCase(route), weight: 2 }, {
    arbitrary: tameCase(route),
    weight: 1,
  });
}

function tameCase(route: Route): fc.Arbitrary<HttpCase> {
  return fc.record({
    route: fc.constant(route),
    method: fc.constant(route.method),
    params: fc.tuple(...route.params.map(() => liveId.map((t) => ({ t: t as Tok, raw: false })))),
    query: fc.tuple(
      fc.tuple(
        ...route.query.filter(([n]) => route.required.includes(n)).map(([name, s]) =>
          typed(name, s, true).map((value) => ({ key: name as Tok, value, raw: false }))
        ),
      ),
      fc.array(
        fc.oneof(
          fc.constant({ key: "archived" as Tok, value: "true" as unknown, raw: false }),
          ...route.query.filter(([n]) => !route.required.includes(n)).map(([name, s]) =>
            typed(name, s, true).map((value) => ({ key: name as Tok, value, raw: false }))
          ),
        ),
        { maxLength: route.query.length > route.required.length ? 2 : 0 },
      ),
    ).map(([required, optional]) => [...required, ...optional]),
    body: route.body
      ? objectFor(route.body, true).map((value) => ({ kind: "json" as const, value }))
      : fc.constant({ kind: "none" as const }),
    contentType: fc.constant("application/json"),
    guard: fc.constant({ kind: "token" as const }),
  });
}

function hostileCase(route: Route): fc.Arbitrary<HttpCase> {
  const queryPair = fc.oneof(
    ...route.query.map(([name, s]) =>
      typed(name, s).map((value) => ({ key: name as Tok, value, raw: false }))
    ),
    fc.tuple(hostileString, hostileString).map(([key, value]) => ({
      key,
      value: value as unknown,
      raw: false,
    })),
    fc.constantFrom(...RAW).map((t) => ({ key: "limit" as Tok, value: t as unknown, raw: true })),
  );
  const props = Object.keys(route.body?.properties ?? {});
  const body: fc.Arbitrary<Body> = fc.oneof(
    {
      arbitrary: (route.body ? objectFor(route.body) : anyJson).map((value) => ({
        kind: "json" as const,
        value,
      })),
      weight: 20,
    },
    { arbitrary: anyJson.map((value) => ({ kind: "json" as const, value })), weight: 3 },
    { arbitrary: fc.constant({ kind: "none" as const }), weight: 2 },
    {
      arbitrary: fc.oneof(hostileString, fc.json(), fc.constantFrom("title=x&y=1", '{"title":'))
        .map((text) => ({ kind: "raw" as const, text })),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(
        fc.constantFrom(...props, "metadata", "x"),
        fc.nat({ max: 50_000 }),
        fc.boolean(),
      ).map(([key, n, array]) => ({ kind: "deep" as const, key, nested: new Nested(n, array) })),
      weight: 1,
    },
    { arbitrary: fc.constant({ kind: "huge" as const }), weight: 1 },
  );
  const guard: fc.Arbitrary<Guard> = fc.oneof(
    { arbitrary: fc.constant({ kind: "token" as const }), weight: 60 },
    { arbitrary: fc.constant({ kind: "no-token" as const }), weight: 1 },
    {
      arbitrary: fc.oneof(
        headerText,
        fc.constantFrom("Bearer", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`),
      )
        .map((value) => ({ kind: "authorization" as const, value })),
      weight: 1,
    },
    { arbitrary: headerText.map((value) => ({ kind: "cookie" as const, value })), weight: 1 },
    {
      arbitrary: fc.constantFrom("evil.example", "localhost.evil", "127.0.0.2", "[::2]")
        .map((value) => ({ kind: "host" as const, value })),
      weight: 1,
    },
    { arbitrary: headerText.map((value) => ({ kind: "origin" as const, value })), weight: 1 },
    { arbitrary: fc.constant({ kind: "cross-site" as const }), weight: 1 },
    {
      arbitrary: headerText.map((value) => ({ kind: "last-event-id" as const, value })),
      weight: 1,
    },
  );
  return fc.record({
    route: fc.constant(route),
    method: fc.oneof(
      { arbitrary: fc.constant(route.method), weight: 30 },
      { arbitrary: fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"), weight: 1 },
    ),
    params: fc.tuple(...route.params.map(() => segment)),
    query: fc.array(queryPair, { maxLength: route.method === "GET" ? 4 : 1 }),
    body: route.method === "GET" ? fc.constant({ kind: "none" as const }) : body,
    contentType: fc.oneof(
      { arbitrary: fc.constant("application/json"), weight: 20 },
      { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 2 },
      { arbitrary: fc.constant(null), weight: 1 },
    ),
    guard,
  });
}

/** asText: a query value as text (placeholders resolved, other values as JSON prints them). */
function asText(v: unknown, ids: readonly string[]): string {
  if (typeof v === "string" || v instanceof Live || v instanceof Long || v instanceof Nested) {
    return resolveTok(v, ids);
  }
  return String(v);
}

interface Built {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function build(c: HttpCase, ids: readonly string[]): Built {
  let i = 0;
  const path = c.route.path.replace(/\{\w+\}/g, () => {
    const p = c.params[i++]!;
    const v = resolveTok(p.t, ids);
    return p.raw ? v : pct(v);
  });
  const query = c.query.map((q) => {
    const k = resolveTok(q.key, ids);
    const v = asText(q.value, ids);
    return q.raw ? `${pct(k)}=${v}` : `${pct(k)}=${pct(v)}`;
  }).join("&");
  const host = c.guard.kind === "host" ? c.guard.value : "localhost";
  const headers: Record<string, string> = {};
  if (c.guard.kind !== "no-token" && c.guard.kind !== "authorization") {
    if (c.guard.kind !== "cookie") headers["authorization"] = `Bearer ${TOKEN}`;
  }
  if (c.guard.kind === "authorization") headers["authorization"] = c.guard.value;
  if (c.guard.kind === "cookie") headers["cookie"] = c.guard.value;
  if (c.guard.kind === "origin") headers["origin"] = c.guard.value;
  if (c.guard.kind === "cross-site") headers["sec-fetch-site"] = "cross-site";
  if (c.guard.kind === "last-event-id") headers["last-event-id"] = c.guard.value;
  let body: string | undefined;
  switch (c.body.kind) {
    case "json":
      body = JSON.stringify(resolveDeep(c.body.value, ids));
      break;
    case "raw":
      body = resolveTok(c.body.text, ids);
      break;
    case "deep":
      body = `{${JSON.stringify(c.body.key)}:${c.body.nested.value}}`;
      break;
    case "huge":
      body = `{"title":"${"x".repeat(MAX_BODY)}"}`;
      break;
  }
  if (body !== undefined && c.contentType !== null) headers["content-type"] = c.contentType;
  // GET and HEAD requests cannot carry a body
  if (c.method === "GET" || c.method === "HEAD") body = undefined;
  return {
    method: c.method,
    url: `http://${host}${path}${query ? `?${query}` : ""}`,
    headers,
    body,
  };
}

// The checks ---------------------------------------------------------------------------------

function assertErrorBody(text: string): void {
  let v: { error?: { code?: unknown; message?: unknown } };
  try {
    v = JSON.parse(text);
  } catch {
    assert.fail("an error whose body is not JSON");
  }
  assert.deepEqual(Object.keys(v), ["error"], "an error body that is not {error}");
  assert.deepEqual(Object.keys(v.error ?? {}).sort(), ["code", "message"], "error without code");
  assert.ok(typeof v.error!.code === "string" && v.error!.code !== "", "empty error code");
  assert.ok(
    typeof v.error!.message === "string" && v.error!.message.trim() !== "",
    "empty error message",
  );
}

async function checkResponse(req: Built, res: Response): Promise<void> {
  assert.ok(ALLOWED.has(res.status), `status ${res.status}`);
  const type = res.headers.get("content-type") ?? "";
  if (type.startsWith("text/event-stream")) {
    assert.equal(res.status, 200);
    await res.body?.cancel();
    return;
  }
  const text = await res.text();
  assertNoLeak(text, "the response body");
  const api = new URL(req.url).pathname.startsWith("/api/");
  if (res.status >= 400 && (api || type.includes("json"))) {
    assert.match(type, /^application\/json/, "an API error that is not JSON");
    assertErrorBody(text);
  } else if (type.includes("json") && req.method !== "HEAD") {
    JSON.parse(text);
  }
}

// The test -------------------------------------------------------------------------------------

Deno.test(
  `the HTTP API survives ${SHOWN} hostile requests with documented statuses and a sound board`,
  async () => {
    const logged: string[] = [];
    const streams = new AbortController();
    await using a = appSetup({ log: (line) => logged.push(line), signal: streams.signal });
    const store = a.b.store;
    let ids = (await seedBoard(store, a.b.dir)).ids;
    const routes = routesOf(a.app.openapi as unknown as OpenApi);
    assert.ok(routes.length >= 25, `only ${routes.length} routes in the OpenAPI document`);
    const httpCase = fc.oneof(...routes.map(caseFor));
    let cases = 0;
    const byStatus: Record<number, number> = {};
    const started = performance.now();

    const property = fc.asyncProperty(httpCase, async (c) => {
      if (cases % 50 === 0) ids = (await store.listTasks({ archived: true })).map((t) => t.id);
      cases++;
      const req = build(c, ids);
      const res = await a.app.request(req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
      });
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      try {
        await checkResponse(req, res);
        assert.deepEqual(logged, [], "the server logged an internal error");
      } catch (err) {
        const cut = (t: string) => (t.length > 1500 ? `${t.slice(0, 1500)}...` : t);
        (err as Error).message += `\n  ${req.method} ${cut(req.url)}` +
          `\n  headers: ${JSON.stringify(req.headers)}\n  body: ${cut(req.body ?? "(none)")}` +
          `\n  status ${res.status}${
            logged.length > 0 ? `\n  log: ${cut(logged.join("\n"))}` : ""
          }`;
        logged.length = 0;
        throw err;
      }
      if (cases % CHECK_EVERY === 0) await assertHealthy(store, `after ${cases} requests`);
    });
    try {
      await fc.assert(property, fuzzParams(RUNS));
    } finally {
      streams.abort();
    }
    await assertHealthy(store, `after all ${cases} requests`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `http fuzz: ${cases} requests over ${routes.length} routes in ${seconds} s; ` +
        `by status: ${JSON.stringify(byStatus)}; ${ids.length} tasks on the board`,
    );
  },
);
