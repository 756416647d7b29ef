/**
 * Filling in a template (template.ts): input values and role bindings in, the graph the store
 * creates (Store.createGraph) out. Pure, like the parser.
 */
import {
  checkGraph,
  type CreateGraphInput,
  GRAPH_KEY_MAX_CHARS,
  type GraphTaskInput,
  ValidationError,
} from "../store/mod.ts";
import { fill } from "./placeholders.ts";
import { INPUT_MAX_CHARS, PROFILE, PROFILE_RULE, type Template } from "./template.ts";

export interface RenderOptions {
  /** Input values for this run (`--input name=value`). */
  inputs?: Readonly<Record<string, string>>;
  /** Role bindings for this run (`--role role=profile`), over the file's `profile`s. */
  roles?: Readonly<Record<string, string>>;
  /** The tenant of nodes that name none (a worker's own, as its follow-ups get). */
  tenant?: string | null;
}

export interface RenderedInput {
  name: string;
  /** null when a required input was not given. */
  value: string | null;
  source: "given" | "default" | "empty" | "missing";
}

export interface RenderedRole {
  name: string;
  profile: string | null;
  source: "given" | "file" | "unbound";
}

export interface RenderedNode {
  id: string;
  role: string | null;
  after: string[];
  /** The node's task as the store takes it (assignee: its role's profile). */
  task: GraphTaskInput;
}

export interface Rendering {
  name: string;
  file: string;
  description: string;
  inputs: RenderedInput[];
  roles: RenderedRole[];
  nodes: RenderedNode[];
  /**
   * What keeps it from running, as `input "x"` and `role "y"`: required inputs without a value
   * (their placeholders stay `{{x}}`), and roles of nodes that have no profile.
   */
  missing: string[];
}

/**
 * renderTemplate fills in `t`: each input is its given value, else its default, else "" when
 * optional; each role's profile is the given binding, else the file's. A value for an input or
 * a binding for a role the template does not declare is refused (a misspelt name would else be
 * dropped without a word); what is missing is listed in `missing`, not refused, so that a
 * preview (`kanban template show`) works before every input is known.
 */
export function renderTemplate(t: Template, options: RenderOptions = {}): Rendering {
  const fail = (message: string) => new ValidationError(`${t.file}: ${message}`);
  const names = (o: object) => Object.keys(o).join(", ") || "none declared";
  const given = options.inputs ?? {};
  for (const [name, value] of Object.entries(given)) {
    if (!Object.hasOwn(t.inputs, name)) {
      throw fail(`no input ${JSON.stringify(name)} (inputs: ${names(t.inputs)})`);
    }
    if (value.length > INPUT_MAX_CHARS) {
      throw fail(`input "${name}": the value is longer than ${INPUT_MAX_CHARS} characters`);
    }
  }
  const binds = options.roles ?? {};
  for (const [name, profile] of Object.entries(binds)) {
    if (!Object.hasOwn(t.roles, name)) {
      throw fail(`no role ${JSON.stringify(name)} (roles: ${names(t.roles)})`);
    }
    if (!PROFILE.test(profile)) {
      throw fail(
        `role "${name}": profile ${JSON.stringify(profile)} is not a name (${PROFILE_RULE})`,
      );
    }
  }
  const missing: string[] = [];
  const inputs = Object.entries(t.inputs).map(([name, i]): RenderedInput => {
    if (Object.hasOwn(given, name)) return { name, value: given[name]!, source: "given" };
    if (i.default !== null) return { name, value: i.default, source: "default" };
    if (!i.required) return { name, value: "", source: "empty" };
    missing.push(`input "${name}"`);
    return { name, value: null, source: "missing" };
  });
  const roles = Object.entries(t.roles).map(([name, r]): RenderedRole => {
    if (Object.hasOwn(binds, name)) return { name, profile: binds[name]!, source: "given" };
    return r.profile !== null
      ? { name, profile: r.profile, source: "file" }
      : { name, profile: null, source: "unbound" };
  });
  const values = new Map(inputs.flatMap((i) => (i.value === null ? [] : [[i.name, i.value]])));
  const profiles = new Map(roles.map((r) => [r.name, r.profile]));
  const unbound = new Set<string>();
  const nodes = t.nodes.map((n): RenderedNode => {
    const assignee = n.role === null ? null : profiles.get(n.role) ?? null;
    if (n.role !== null && assignee === null) unbound.add(n.role);
    const task: GraphTaskInput = {
      title: fill(n.title, values),
      body: fill(n.body, values),
      assignee,
      tenant: n.tenant ?? options.tenant ?? null,
      review_required: n.review,
      ...(n.priority !== null ? { priority: n.priority as GraphTaskInput["priority"] } : {}),
      ...(n.needs !== null ? { needs: n.needs } : {}),
      ...(n.skills !== null ? { skills: n.skills } : {}),
      ...(n.workspace !== null ? { workspace: n.workspace } : {}),
      ...(n.max_runtime_seconds !== null ? { max_runtime_seconds: n.max_runtime_seconds } : {}),
    };
    return { id: n.id, role: n.role, after: n.after, task };
  });
  for (const role of unbound) missing.push(`role "${role}"`);
  return {
    name: t.name,
    file: t.file,
    description: t.description,
    inputs,
    roles,
    nodes,
    missing,
  };
}

/**
 * graphKey is the store's key for a run of template `name` with key `key`: `<name>:<key>`, so
 * that two templates run with the same key make two graphs.
 */
export function graphKey(name: string, key: string): string {
  const k = key.trim();
  const max = GRAPH_KEY_MAX_CHARS - name.length - 1;
  if (k === "") throw new ValidationError("The key is empty");
  if (k.length > max) {
    throw new ValidationError(
      `The key is longer than ${max} characters (with "${name}:" before it, ${GRAPH_KEY_MAX_CHARS})`,
    );
  }
  if (k.includes("/")) {
    throw new ValidationError(
      `The key ${
        JSON.stringify(k)
      } contains "/", which separates a graph's key from its nodes' ids`,
    );
  }
  return `${name}:${k}`;
}

/** graphOf is the store's input for a rendering: nodes become graph nodes, ids their refs. */
export function graphOf(r: Rendering, key: string): CreateGraphInput {
  return { key, nodes: r.nodes.map((n) => ({ ref: n.id, task: n.task, after: n.after })) };
}

/**
 * checkRendering runs the store's checks of a graph (lib/store/graph.ts: each task's fields,
 * cycles, limits) on a rendering, with errors that name the file and the node as the file
 * does: `release.toml: nodes[1] ("review"): priority is above 1000`.
 */
export function checkRendering(r: Rendering, key = `${r.name}:check`): void {
  try {
    checkGraph(graphOf(r, key));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const text = err.message.replace(/^Invalid graph: /, "").replace(
      /^node "([^"]*)":/,
      (all, id: string) => {
        const i = r.nodes.findIndex((n) => n.id === id);
        return i < 0 ? all : `nodes[${i}] (${JSON.stringify(id)}):`;
      },
    );
    throw new ValidationError(`${r.file}: ${text}`);
  }
}

/**
 * checkTemplate checks what only a filled-in template shows (cycles, bad labels, priorities,
 * workspaces, limits), filled with the defaults and with each required input's placeholder
 * left as written: what `kanban template validate` runs after parsing.
 */
export function checkTemplate(t: Template): Rendering {
  const r = renderTemplate(t);
  checkRendering(r);
  return r;
}
