/**
 * Task-graph templates: a TOML file (docs/templates.md) that declares inputs, roles bound to
 * profiles, and nodes (a task each: title and body with `{{input}}` placeholders, a role, the
 * nodes it comes after). parseTemplate checks the file as written; render.ts fills it in and
 * makes the store's graph input. Pure: no board, no clock; reading a file is readTemplate's.
 */
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { ValidationError } from "../errors.ts";
import { bytesText, readCapped, TooLargeError } from "../readcap.ts";
import { parseDuration } from "../config/duration.ts";
import { GRAPH_MAX_NODES, REF_MAX_CHARS } from "../store/mod.ts";
import { INPUT_NAME, inputsUsed } from "./placeholders.ts";

/** The template format version this kanban reads (the file's `version`). */
export const TEMPLATE_VERSION = 1;
/** The largest template file read. */
export const TEMPLATE_MAX_BYTES = 256 * 1024;
/** The longest value an input may have (given or default), in characters. */
export const INPUT_MAX_CHARS = 20_000;
/** The most inputs and the most roles a template may declare. */
export const TEMPLATE_MAX_INPUTS = 50;
export const TEMPLATE_MAX_ROLES = 50;

/** The names of templates, roles and node ids. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME_MAX = REF_MAX_CHARS;
const NAME_RULE =
  `letters, digits, ".", "_" and "-", starting with a letter or digit, up to ${NAME_MAX}`;

/** A profile name, as a task's assignee is one (lib/store/input.ts). */
export const PROFILE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
export const PROFILE_RULE = 'letters, digits, ".", "_", "@" and "-", up to 100';

export interface TemplateInput {
  description: string;
  required: boolean;
  default: string | null;
}

export interface TemplateRole {
  description: string;
  /** The profile the role's tasks are assigned to, unless a run binds another. */
  profile: string | null;
}

export interface TemplateNode {
  id: string;
  title: string;
  body: string;
  role: string | null;
  after: string[];
  needs: string[] | null;
  skills: string[] | null;
  priority: number | string | null;
  tenant: string | null;
  workspace: string | null;
  max_runtime_seconds: number | null;
  review: boolean;
}

export interface Template {
  /** Where it was read from (named in every error). */
  file: string;
  version: number;
  /** Its `name`, else the file's name without `.toml`. */
  name: string;
  description: string;
  inputs: Record<string, TemplateInput>;
  roles: Record<string, TemplateRole>;
  nodes: TemplateNode[];
}

const str = (max: number, what: string) =>
  z.string().max(max, `${what} is longer than ${max} characters`);

const named = (what: string) =>
  z.string().max(NAME_MAX, `${what} is longer than ${NAME_MAX} characters`)
    .regex(NAME, `${what} may hold only ${NAME_RULE}`);

const Input = z.strictObject({
  description: str(1000, "description").default(""),
  required: z.boolean().optional(),
  default: str(INPUT_MAX_CHARS, "default").optional(),
});

const Role = z.strictObject({
  description: str(1000, "description").default(""),
  profile: z.string().regex(PROFILE, `a profile name holds ${PROFILE_RULE}`).optional(),
});

const Node = z.strictObject({
  id: named("id"),
  title: z.string(),
  body: z.string().default(""),
  role: z.string().optional(),
  after: z.array(z.string()).default([]),
  needs: z.array(z.string()).optional(),
  skills: z.array(z.string()).optional(),
  priority: z.union([z.number(), z.string()]).optional(),
  tenant: z.string().optional(),
  workspace: z.string().optional(),
  max_runtime: z.union([z.string(), z.number().int().positive()]).optional(),
  review: z.boolean().optional(),
});

const File = z.strictObject({
  version: z.number(),
  name: named("name").optional(),
  description: str(1000, "description").default(""),
  inputs: z.record(
    z.string().max(NAME_MAX).regex(
      INPUT_NAME,
      'an input name is a letter, then letters, digits, "_" or "-"',
    ),
    Input,
  ).default({}),
  roles: z.record(named("role name"), Role).default({}),
  nodes: z.array(Node).min(1, "a template needs at least one [[nodes]]"),
});

/**
 * where renders a zod path readably: `nodes[2] ("review").role`, `inputs.branch.default`. A
 * node is named by its id when it has one.
 */
function where(path: readonly PropertyKey[], raw: unknown): string {
  let out = "";
  let at: unknown = raw;
  for (const key of path) {
    if (typeof key === "number") {
      out += `[${key}]`;
      at = Array.isArray(at) ? at[key] : undefined;
      const id = (at as { id?: unknown } | undefined)?.id;
      if (out.startsWith("nodes") && typeof id === "string") out += ` (${JSON.stringify(id)})`;
    } else {
      // a key TOML would need quoted is shown quoted: inputs."no tes"
      const k = /^[A-Za-z0-9_-]+$/.test(String(key)) ? String(key) : JSON.stringify(String(key));
      out += `${out === "" ? "" : "."}${k}`;
      at = typeof at === "object" && at !== null
        ? (at as Record<string, unknown>)[key as string]
        : undefined;
    }
  }
  return out === "" ? "(top level)" : out;
}

/** issueText says what a zod issue found, in the words of a template's reader. */
function issueText(i: z.core.$ZodIssue): string {
  if (i.code === "unrecognized_keys") {
    return `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  if (i.code === "invalid_type") {
    return /received undefined$/.test(i.message)
      ? `missing (${i.expected === "array" ? "a list" : `a ${i.expected}`})`
      : i.message.replace(/^Invalid input: /, "");
  }
  if (i.code === "invalid_key" && i.issues[0] !== undefined) return i.issues[0].message;
  return i.message;
}

/** nodeAt names node `i` for a message: `nodes[2] ("review")`. */
const nodeAt = (i: number, id: string) => `nodes[${i}] (${JSON.stringify(id)})`;

/** stem is a file's name without its folder and `.toml`. */
function stem(file: string): string {
  return file.replace(/^.*\//, "").replace(/\.toml$/, "");
}

/**
 * parseTemplate reads template text. Every problem is a ValidationError naming `file`, the
 * place in it and the problem, e.g. `release.toml: nodes[2] ("review").role: no role
 * "reviewr" (roles: coder, reviewer)`. What only a filled-in graph can show (a cycle, a bad
 * label or priority) is checked by render.ts's checkTemplate.
 */
export function parseTemplate(text: string, file: string): Template {
  const fail = (message: string) => new ValidationError(`${file}: ${message}`);
  if (new TextEncoder().encode(text).length > TEMPLATE_MAX_BYTES) {
    throw fail(`larger than ${bytesText(TEMPLATE_MAX_BYTES)}, the largest template`);
  }
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw fail(`not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  // The version first: a newer file may have fields this kanban does not know.
  const version = raw["version"];
  if (version === undefined) {
    throw fail(`version is missing: a template begins with version = ${TEMPLATE_VERSION}`);
  }
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw fail(`version must be ${TEMPLATE_VERSION}, not ${JSON.stringify(version)}`);
  }
  if (version > TEMPLATE_VERSION) {
    throw fail(
      `version ${version} is newer than this kanban reads (version ${TEMPLATE_VERSION}): ` +
        "upgrade kanban to use this template",
    );
  }
  if (Array.isArray(raw["nodes"]) && raw["nodes"].length > GRAPH_MAX_NODES) {
    throw fail(`nodes: ${raw["nodes"].length} nodes; a template has at most ${GRAPH_MAX_NODES}`);
  }
  const r = File.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 5).map((i) => `${where(i.path, raw)}: ${issueText(i)}`);
    throw fail(issues.join("; "));
  }
  const f = r.data;
  const inputNames = Object.keys(f.inputs);
  const roleNames = Object.keys(f.roles);
  if (inputNames.length > TEMPLATE_MAX_INPUTS) {
    throw fail(
      `inputs: ${inputNames.length} inputs; a template has at most ${TEMPLATE_MAX_INPUTS}`,
    );
  }
  if (roleNames.length > TEMPLATE_MAX_ROLES) {
    throw fail(`roles: ${roleNames.length} roles; a template has at most ${TEMPLATE_MAX_ROLES}`);
  }
  const inputs: Record<string, TemplateInput> = {};
  for (const [name, i] of Object.entries(f.inputs)) {
    if (i.required === true && i.default !== undefined) {
      throw fail(
        `inputs.${name}: has a default, so it is never missing: drop required = true or the default`,
      );
    }
    inputs[name] = {
      description: i.description,
      required: i.default === undefined && i.required !== false,
      default: i.default ?? null,
    };
  }
  const roles: Record<string, TemplateRole> = {};
  for (const [name, role] of Object.entries(f.roles)) {
    roles[name] = { description: role.description, profile: role.profile ?? null };
  }
  const list = (names: string[]) => names.length > 0 ? names.join(", ") : "none declared";
  const seen = new Map<string, number>();
  const nodes = f.nodes.map((n, i): TemplateNode => {
    const at = nodeAt(i, n.id);
    const earlier = seen.get(n.id);
    if (earlier !== undefined) {
      throw fail(`${at}.id: nodes[${earlier}] has this id too; each node's id is its own`);
    }
    seen.set(n.id, i);
    for (const field of ["title", "body"] as const) {
      let used: string[];
      try {
        used = inputsUsed(n[field]);
      } catch (err) {
        throw fail(`${at}.${field}: ${(err as Error).message}`);
      }
      const unknown = used.find((u) => !(u in inputs));
      if (unknown !== undefined) {
        throw fail(
          `${at}.${field}: unknown placeholder {{${unknown}}} (inputs: ${list(inputNames)})`,
        );
      }
    }
    if (n.role !== undefined && !(n.role in roles)) {
      throw fail(`${at}.role: no role ${JSON.stringify(n.role)} (roles: ${list(roleNames)})`);
    }
    let maxRuntime: number | null = null;
    if (n.max_runtime !== undefined) {
      try {
        maxRuntime = typeof n.max_runtime === "number"
          ? n.max_runtime
          : parseDuration(n.max_runtime);
      } catch (err) {
        throw fail(`${at}.max_runtime: ${(err as Error).message}`);
      }
    }
    return {
      id: n.id,
      title: n.title,
      body: n.body,
      role: n.role ?? null,
      after: n.after,
      needs: n.needs ?? null,
      skills: n.skills ?? null,
      priority: n.priority ?? null,
      tenant: n.tenant ?? null,
      workspace: n.workspace ?? null,
      max_runtime_seconds: maxRuntime,
      review: n.review === true,
    };
  });
  for (const [i, n] of nodes.entries()) {
    const unknown = n.after.find((a) => !seen.has(a));
    if (unknown !== undefined) {
      throw fail(
        `${nodeAt(i, n.id)}.after: no node ${JSON.stringify(unknown)} (nodes: ${
          list([...seen.keys()])
        })`,
      );
    }
  }
  return {
    file,
    version,
    name: f.name ?? stem(file),
    description: f.description,
    inputs,
    roles,
    nodes,
  };
}

/** readTemplate reads and parses the template file at `path` (at most TEMPLATE_MAX_BYTES). */
export function readTemplate(path: string, shown = path): Template {
  let text: string;
  try {
    text = readCapped(path, TEMPLATE_MAX_BYTES, `"${shown}"`);
  } catch (err) {
    if (err instanceof TooLargeError) {
      throw new ValidationError(
        `${shown}: larger than ${bytesText(TEMPLATE_MAX_BYTES)}, the largest template`,
      );
    }
    throw new ValidationError(`${shown}: cannot read it: ${(err as Error).message}`);
  }
  return parseTemplate(text, shown);
}
