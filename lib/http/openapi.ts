/**
 * The OpenAPI 3.1 document, generated from the route declarations (route.ts) and their zod
 * schemas with zod's own JSON Schema output. Request bodies and responses are components
 * named after their exports in schemas.ts and shapes.ts.
 */
import { z } from "zod";
import { VERSION } from "../version.ts";
import type { Doc } from "./route.ts";
import * as requests from "./schemas.ts";
import * as shapes from "./shapes.ts";

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: "invalid input (the message names the field)",
  401: "missing or wrong board token",
  403: "Host not allowed (DNS rebinding) or cross-origin write (CSRF)",
  404: "no such task or run",
  409: "refused by a rule: illegal transition (naming from and to), cycle, stale lease, ...",
  413: "request body too large",
  415: "request body is not JSON",
  500: "the board cannot be used: `corrupt`, `not_a_board`, `io_error`, or `internal` (logged)",
  503: "the board is locked by other writers (`busy`) or read-only for the server (`read_only`)",
  507: "the disk that holds the board is full (`disk_full`); nothing was changed",
};

/** named maps each zod schema `module` exports (and `keep` accepts) to its first export name. */
function named(
  module: Record<string, unknown>,
  keep: (s: z.ZodType) => boolean = () => true,
): Map<z.ZodType, string> {
  const out = new Map<z.ZodType, string>();
  for (const [name, value] of Object.entries(module)) {
    if (value instanceof z.ZodType && keep(value) && !out.has(value)) out.set(value, name);
  }
  return out;
}

function components(names: Map<z.ZodType, string>, io: "input" | "output"): Json {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of names) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  });
  for (const s of Object.values(schemas)) {
    delete (s as Json)["$schema"];
    delete (s as Json)["$id"];
  }
  return schemas;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function operationId(d: Doc): string {
  const words = d.path.replace(/^\/api\/v1/, "").split(/[/-]/).filter(Boolean)
    .map((w) => w.startsWith("{") ? `by_${w.slice(1, -1)}` : w);
  return [d.method, ...words].join("_").replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase());
}

function parameters(d: Doc): Json[] {
  const out: Json[] = [...d.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
    description: m[1] === "id" ? "task id or a unique prefix of one" : undefined,
  }));
  if (d.query) {
    const s = z.toJSONSchema(d.query, { io: "input", unrepresentable: "any" }) as Json;
    const required = new Set((s["required"] as string[] | undefined) ?? []);
    for (const [name, prop] of Object.entries((s["properties"] ?? {}) as Record<string, Json>)) {
      const { description, ...schema } = prop;
      out.push({ name, in: "query", required: required.has(name), schema, description });
    }
  }
  return out;
}

/** buildOpenApi makes the document for `docs`; a schema not exported by name is an error. */
export function buildOpenApi(docs: readonly Doc[]): Json {
  const used = new Set(docs.map((d) => d.body));
  const bodies = named(requests, (s) => used.has(s));
  const responses = named(shapes);
  const nameOf = (map: Map<z.ZodType, string>, s: z.ZodType, where: string) => {
    const name = map.get(s);
    if (name === undefined) throw new Error(`${where}: schema is not a named export`);
    return name;
  };
  const paths: Record<string, Json> = {};
  for (const d of docs) {
    const where = `${d.method.toUpperCase()} ${d.path}`;
    const api = d.path.startsWith("/api/");
    // Every API route may meet a board it cannot use; only writes can fill the disk.
    const board = api ? [500, 503, ...(d.method === "get" ? [] : [507])] : [];
    const errors = [...new Set([400, ...(api ? [401, 403] : []), ...board, ...(d.errors ?? [])])]
      .sort((a, b) => a - b);
    const ok: Json = { description: d.ok.description };
    if (d.ok.schema) {
      ok["content"] = {
        "application/json": { schema: ref(nameOf(responses, d.ok.schema, where)) },
      };
    } else if (d.ok.mediaType) {
      ok["content"] = { [d.ok.mediaType]: { schema: { type: "string" } } };
    }
    paths[d.path] ??= {};
    paths[d.path]![d.method] = {
      operationId: operationId(d),
      summary: d.summary,
      ...(d.description ? { description: d.description } : {}),
      tags: [d.tag],
      parameters: parameters(d),
      ...(d.body
        ? {
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: ref(nameOf(bodies, d.body, where)) },
            },
          },
        }
        : {}),
      responses: {
        [String(d.ok.status)]: ok,
        ...Object.fromEntries(errors.map((s) => [String(s), {
          description: STATUS_TEXT[s] ?? "error",
          content: { "application/json": { schema: ref("ErrorResponse") } },
        }])),
      },
      ...(api ? {} : { security: [] }),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "kanban",
      version: VERSION,
      description: "The board's HTTP API. Every /api route needs the board token (Bearer) or " +
        "the session cookie a one-time login link sets; see docs/http.md.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { cookie: [] }],
    paths,
    components: {
      schemas: { ...components(bodies, "input"), ...components(responses, "output") },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "the board token" },
        cookie: {
          type: "apiKey",
          in: "cookie",
          name: "kanban_<id>",
          description: "HttpOnly session cookie set by GET /login?t=<one-time code>",
        },
      },
    },
  };
}
