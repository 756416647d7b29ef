/**
 * Routes are declared once, with their zod schemas: the declaration registers the hono
 * handler, validates the request before the handler runs, and is what the OpenAPI document
 * is built from. A route cannot exist without being documented.
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Env } from "../config/paths.ts";
import { type Actor, parse, type Store } from "../store/mod.ts";
import { ApiError } from "./errors.ts";

/** ApiContext is what every group of routes works with. */
export interface ApiContext {
  store: Store;
  /** Who the API's writes are recorded as (the person who runs the server). */
  actor: Actor;
  /** Environment for config.toml and $PATH (the status route). */
  env: Env;
  now: () => number;
}

/** json answers `value` as JSON with `status`. */
export function json(c: Context, value: unknown, status: 200 | 201 | 202 = 200): Response {
  return c.json(value as object, status);
}

export type Method = "get" | "post" | "patch" | "delete";

/** Doc is what the OpenAPI document needs to know about one route. */
export interface Doc {
  method: Method;
  /** OpenAPI-style path (`/api/v1/tasks/{id}`). */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The success status and body (a schema, or a media type for non-JSON bodies). */
  ok: { status: number; schema?: z.ZodType; mediaType?: string; description: string };
  /** Error statuses this route can answer with (beyond 400/401/403, which every route has). */
  errors?: number[];
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Spec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined>
  extends Omit<Doc, "body" | "query"> {
  body?: B;
  query?: Q;
  handler: (
    c: Context,
    input: { params: Record<string, string>; body: Out<B>; query: Out<Q> },
  ) => Response | Promise<Response>;
}

/** readJson reads a JSON request body; an empty body reads as `{}`. */
async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "Send the request body as application/json");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(
      400,
      "invalid_input",
      `Request body is not valid JSON: ${(err as Error).message}`,
    );
  }
}

/** Routes collects the API's routes on a hono app, with their documentation. */
export class Routes {
  readonly docs: Doc[] = [];
  readonly #app: Hono;

  constructor(app: Hono) {
    this.#app = app;
  }

  add<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    spec: Spec<B, Q>,
  ): void {
    const { handler, ...doc } = spec;
    this.docs.push(doc as Doc);
    const honoPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
    this.#app.on(spec.method.toUpperCase(), honoPath, async (c) => {
      const query = spec.query ? parse(spec.query, c.req.query(), "query") : undefined;
      const body = spec.body ? parse(spec.body, await readJson(c), "request body") : undefined;
      return await handler(c, {
        params: c.req.param() as Record<string, string>,
        body: body as Out<B>,
        query: query as Out<Q>,
      });
    });
  }
}
