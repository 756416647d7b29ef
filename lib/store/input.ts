/**
 * Input schemas shared by every surface: whatever reaches the store is checked here, so the
 * CLI, the tools and the HTTP API refuse the same things with the same messages.
 */
import { UsageInput } from "./usage.ts";
import { z } from "zod";
import { ValidationError } from "./errors.ts";
import { PRIORITY_MAX, PRIORITY_MIN, PRIORITY_NAMES, PRIORITY_WORDS } from "./priority.ts";
import { BLOCK_KINDS, type BlockOptions } from "./blocks.ts";

/** BODY_MAX_BYTES caps a task body (UTF-8): 1 MiB. */
export const BODY_MAX_BYTES = 1024 * 1024;
export const TEXT_MAX_CHARS = 20_000;
export const METADATA_MAX_BYTES = 64 * 1024;
/** The longest idempotency key (the schema's CHECK says the same). */
export const KEY_MAX_CHARS = 200;
/** The furthest a JavaScript Date reaches either side of 1970 (ms): times past it have no ISO form. */
export const MAX_TIME_MS = 8.64e15;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

export const name = (what: string) =>
  z.string().trim().min(1, `${what} is empty`).max(100, `${what} is longer than 100 characters`)
    .regex(NAME, `${what} may hold only letters, digits, ".", "_", "@" and "-"`);

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** noNul refuses NUL: SQLite stores it, but node:sqlite reads the text back cut short there. */
export const noNul = (s: string) => !s.includes("\0");

export const title = z.string().trim().min(1, "title is empty")
  .max(500, "title is longer than 500 characters")
  .refine((s) => !/[\r\n]/.test(s), "title must be one line")
  .refine(noNul, "title contains a NUL character");

export const body = z.string().refine(
  (s) => s.length <= BODY_MAX_BYTES && bytes(s) <= BODY_MAX_BYTES,
  `body is larger than ${BODY_MAX_BYTES} bytes (1 MiB)`,
).refine(noNul, "body contains a NUL character");

export const text = (what: string, required = false) =>
  z.string().max(TEXT_MAX_CHARS, `${what} is longer than ${TEXT_MAX_CHARS} characters`)
    .refine((s) => !required || s.trim().length > 0, `${what} is empty`)
    .refine(noNul, `${what} contains a NUL character`);

const PRIORITY_WHAT = `a whole number from ${PRIORITY_MIN} to ${PRIORITY_MAX}, or ${
  PRIORITY_WORDS.join(", ")
}`;

/** The input schema: a number in range or one of the names (JSON Schema: anyOf integer, enum). */
export const priority = z.union([
  z.number().int(`priority must be ${PRIORITY_WHAT}`)
    .min(PRIORITY_MIN, `priority is below ${PRIORITY_MIN}`)
    .max(PRIORITY_MAX, `priority is above ${PRIORITY_MAX}`),
  z.enum(PRIORITY_WORDS),
], { error: `priority must be ${PRIORITY_WHAT}` })
  .transform((p) => typeof p === "string" ? PRIORITY_NAMES[p] : p)
  .describe(
    `higher runs first: ${PRIORITY_WHAT} (${
      PRIORITY_WORDS.map((n) => `${n} ${PRIORITY_NAMES[n]}`).join(", ")
    })`,
  );

/**
 * METADATA_MAX_DEPTH bounds nesting: SQLite's json_valid() (the CHECK on the column) refuses
 * more than 1000 levels, and no real result needs more than a few.
 */
export const METADATA_MAX_DEPTH = 100;

/** depth measures how deeply a JSON value nests, without recursion (no stack to overflow). */
function depth(value: unknown): number {
  let max = 0;
  const todo: [unknown, number][] = [[value, 1]];
  while (todo.length > 0) {
    const [v, d] = todo.pop()!;
    if (v === null || typeof v !== "object") continue;
    max = Math.max(max, d);
    for (const x of Object.values(v)) todo.push([x, d + 1]);
  }
  return max;
}

export const metadata = z.record(z.string(), z.unknown()).refine(
  (m) => depth(m) <= METADATA_MAX_DEPTH,
  { message: `metadata nests deeper than ${METADATA_MAX_DEPTH} levels`, abort: true },
).refine(
  (m) => bytes(JSON.stringify(m)) <= METADATA_MAX_BYTES,
  `metadata is larger than ${METADATA_MAX_BYTES} bytes`,
);

export type WorkspaceSpec = { kind: "scratch" | "worktree"; path: null } | {
  kind: "dir";
  path: string;
};

export const workspace = z.string().trim().transform((s, ctx): WorkspaceSpec => {
  if (s === "scratch" || s === "worktree") return { kind: s, path: null };
  if (s.startsWith("dir:") && s.length > 4) {
    const path = s.slice(4);
    if (path.startsWith("/")) return { kind: "dir", path };
  }
  ctx.addIssue({
    code: "custom",
    message: `workspace "${s}" is not scratch, worktree or dir:/absolute/path`,
  });
  return z.NEVER;
});

/** The labels a host must offer to run a task (dispatch.labels). */
const labels = z.array(name("label")).max(20, "more than 20 labels");

/** How many rounds of review a task gets before a person decides (reviews.ts). */
const reviewRounds = z.number().int("review rounds must be a whole number")
  .min(1, "review rounds must be at least 1").max(20, "review rounds must be at most 20");

/**
 * The placeholders a completion gate's argv may use (docs/gates.md): no `{prompt}` and no
 * `{run}`, since a gate is not a worker and is given no prompt or run of its own.
 */
export const GATE_PLACEHOLDERS = ["task", "workspace", "profile", "board", "kanban"];
/** The longest a completion gate may run: a day (ms). */
export const GATE_TIMEOUT_MAX_MS = 86_400_000;
/** The most rounds a completion gate may send a task back to its worker. */
export const GATE_ROUNDS_MAX = 20;
// the defaults live in a leaf module the dashboard bundles too
export { GATE_ROUNDS_DEFAULT, GATE_TIMEOUT_DEFAULT_MS } from "./gate_text.ts";

/**
 * A gate's argv: a program and its arguments, only GATE_PLACEHOLDERS among its `{name}`s; or
 * none (`[]`): the task has no gate, not even its profile's.
 */
export const gateArgv = z.array(
  z.string().max(4096, "a gate argument is longer than 4096 characters")
    .refine(noNul, "a gate argument contains a NUL character"),
).max(256, "a gate has more than 256 arguments")
  .refine((a) => a.length === 0 || a[0]!.trim() !== "", "a gate's program is empty")
  .superRefine((args, ctx) => {
    for (const a of args) {
      for (const [, name] of a.matchAll(/\{([a-z_]+)\}/g)) {
        if (GATE_PLACEHOLDERS.includes(name!)) continue;
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder {${name}} (known in a gate: ${
            GATE_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")
          })`,
        });
      }
    }
  });
const gateTimeout = z.number().int("gate timeout must be a whole number of ms")
  .min(1000, "gate timeout must be at least 1s")
  .max(GATE_TIMEOUT_MAX_MS, "gate timeout must be at most 1d");
const gateRounds = z.number().int("gate rounds must be a whole number")
  .min(1, "gate rounds must be at least 1")
  .max(GATE_ROUNDS_MAX, `gate rounds must be at most ${GATE_ROUNDS_MAX}`);

export const CreateTaskInput = z.object({
  title,
  body: body.default(""),
  assignee: name("assignee").nullish(),
  parents: z.array(z.string()).default([]),
  priority: priority.default(0),
  tenant: name("tenant").nullish(),
  workspace: workspace.prefault("scratch"),
  skills: z.array(name("skill")).max(50, "more than 50 skills").default([]),
  needs: labels.default([]),
  max_runtime_seconds: z.number().int().positive("max runtime must be positive").nullish(),
  triage: z.boolean().default(false),
  not_before: z.number().int().min(-MAX_TIME_MS, "not_before is out of range")
    .max(MAX_TIME_MS, "not_before is out of range").nullish(),
  review_required: z.boolean().default(false),
  reviewer: name("reviewer").nullish(),
  review_rounds: reviewRounds.nullish(),
  /** The completion gate (gates.ts): a person's only; its time limit (ms) and rounds. */
  gate: gateArgv.nullish(),
  gate_timeout_ms: gateTimeout.nullish(),
  gate_rounds: gateRounds.nullish(),
  idempotency_key: z.string().trim().min(1, "idempotency key is empty")
    .max(KEY_MAX_CHARS, `idempotency key is longer than ${KEY_MAX_CHARS} characters`)
    // SQLite's length() stops at a NUL, so the board's CHECK would refuse it as empty
    // deno-lint-ignore no-control-regex
    .refine((k) => !/[\u0000-\u001f\u007f]/.test(k), "idempotency key contains a control character")
    .nullish(),
  created_by: z.string().trim().min(1).max(100).optional(),
});
export type CreateTaskInput = z.input<typeof CreateTaskInput>;
/** A CreateTaskInput as parse() returns it: defaults filled in, workspace and priority read. */
export type ParsedCreateTask = z.output<typeof CreateTaskInput>;

export const EditTaskInput = z.object({
  title: title.optional(),
  body: body.optional(),
  priority: priority.optional(),
  needs: labels.optional(),
  /** The profile that reviews the task's work (reviews.ts); null: none. */
  reviewer: name("reviewer").nullable().optional(),
  /** Rounds of review before a person decides; null: the default. */
  review_rounds: reviewRounds.nullable().optional(),
  /** The completion gate (gates.ts); null: none (its time limit and rounds go with it). */
  gate: gateArgv.nullable().optional(),
  /** The gate's time limit in ms; null: the default. */
  gate_timeout_ms: gateTimeout.nullable().optional(),
  /** Failed gates before the task is blocked; null: the default. */
  gate_rounds: gateRounds.nullable().optional(),
}).refine((p) => Object.values(p).some((v) => v !== undefined), "nothing to change");
export type EditTaskInput = z.input<typeof EditTaskInput>;

export const CompleteInput = z.object({
  summary: text("summary").optional(),
  metadata: metadata.optional(),
  result: text("result").optional(),
  /** What the run used, as the worker reports it (usage.ts: output read from a CLI wins). */
  usage: UsageInput.optional(),
});
export type CompleteInput = z.input<typeof CompleteInput>;

/**
 * What each object parse() returned was parsed with. A write parses its input once: a surface
 * that validated a request with the store's schema, or with an extension of it made by
 * extendInput(), passes the parsed value on unchanged, and the store's parse() of it returns it
 * as it is. Parsed values are not modified afterwards (every surface builds new objects).
 */
const PARSED = new WeakMap<object, z.ZodType>();

/** The store schema that each extendInput() schema extends. */
const BASE = new WeakMap<z.ZodType, z.ZodType>();

type Shape<B> = B extends z.ZodObject<infer S> ? S : never;

/**
 * extendInput is the store's input schema `base` as a surface takes it: strict (an unknown
 * field is refused), with the surface's own `fields` added (a tool's `id`) and the base's
 * fields described for its readers (`docs`). Describing copies a field without changing what
 * it accepts, so a value this schema parsed is one the store accepts without parsing it again.
 */
export function extendInput<B extends z.ZodObject, X extends z.ZodRawShape>(
  base: B,
  fields: X,
  docs: { [K in keyof Shape<B>]?: string } = {},
): z.ZodObject<B["shape"] & X, z.core.$strict> {
  const shape = base.shape as Record<string, z.ZodType>;
  const overlap = Object.keys(fields).filter((k) => k in shape);
  if (overlap.length > 0) {
    throw new Error(`extendInput: ${overlap.join(", ")} would replace the store's own fields`);
  }
  const described = Object.fromEntries(
    Object.entries(docs).map(([k, text]) => [k, shape[k]!.describe(text as string)]),
  ) as Partial<Shape<B>>;
  const schema = base.extend({ ...described, ...fields }).strict();
  BASE.set(schema, base);
  return schema as unknown as z.ZodObject<B["shape"] & X, z.core.$strict>;
}

/** parsedWith tells whether `value` is the output of `schema` (or of an extension of it). */
function parsedWith(value: unknown, schema: z.ZodType): boolean {
  if (typeof value !== "object" || value === null) return false;
  const by = PARSED.get(value);
  return by !== undefined && (by === schema || BASE.get(by) === schema);
}

/** parse validates `value`, turning zod's issues into one ValidationError line. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  if (parsedWith(value, schema)) return value as z.output<S>;
  const r = schema.safeParse(value);
  if (r.success) {
    if (typeof r.data === "object" && r.data !== null) PARSED.set(r.data, schema);
    return r.data;
  }
  const issues = r.error.issues.map((i) => {
    const at = i.path.length > 0 && !i.message.startsWith(String(i.path[0]))
      ? `${i.path.join(".")}: `
      : "";
    return `${at}${i.message}`;
  });
  throw new ValidationError(`Invalid ${what}: ${issues.join("; ")}`);
}

/** The fields of a block besides its reason, as the API and the agent tools take them. */
export const BlockFields = {
  kind: z.enum(BLOCK_KINDS).optional().describe(
    "needs_input (default): a question for a person; dependency: wait for the task `on`, " +
      "back in the queue when it finishes; transient: retried later, not counted as a " +
      "failure; capability: another profile should take it",
  ),
  on: z.string().min(1, "on is empty").optional()
    .describe("dependency: the id of the task to wait for"),
  retry_after_seconds: z.number().int().positive().optional()
    .describe("transient: seconds before the retry (default: the failure backoff)"),
  profile: z.string().optional()
    .describe("capability: the profile that should take the task (none: to triage)"),
};

/** blockOptions picks a block's options out of an input with BlockFields (undefined left out). */
export function blockOptions(input: {
  kind?: BlockOptions["kind"];
  on?: string | undefined;
  retry_after_seconds?: number | undefined;
  profile?: string | undefined;
}): BlockOptions {
  const out: BlockOptions = {};
  if (input.kind !== undefined) out.kind = input.kind;
  if (input.on !== undefined) out.on = input.on;
  if (input.retry_after_seconds !== undefined) {
    out.retry_after_seconds = input.retry_after_seconds;
  }
  if (input.profile !== undefined) out.profile = input.profile;
  return out;
}
