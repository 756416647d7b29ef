/**
 * `kanban template list|validate|show|run`: task-graph templates (docs/templates.md). A
 * template is a file path (an argument with a "/" or ending in `.toml`) or a NAME, the file
 * `$KANBAN_HOME/templates/NAME.toml`. `run` creates the whole graph in one transaction with
 * Store.createGraph, idempotent by `--key`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { KanbanError } from "../../store/mod.ts";
import { kanbanHome } from "../../config/paths.ts";
import { originActor } from "../../tools/_target.ts";
import { INPUT_MAX_CHARS, readTemplate, type Template } from "../../templates/template.ts";
import {
  checkRendering,
  checkTemplate,
  graphKey,
  graphOf,
  type Rendering,
  renderTemplate,
} from "../../templates/render.ts";
import { type CliContext, globals, session, UsageError } from "../context.ts";
import { collect } from "../parse.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";
import { decodeWorkerEnv, workerBindingOf } from "../../worker_env.ts";

const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** templatesDir is where named templates live: `$KANBAN_HOME/templates`. */
function templatesDir(ctx: CliContext): string {
  return join(kanbanHome(ctx.env), "templates");
}

/** namedTemplates lists the names of the templates in templatesDir, sorted. */
function namedTemplates(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".toml")).map((f) => f.slice(0, -5))
    .filter((n) => TEMPLATE_NAME.test(n)).sort();
}

/** loadTemplate reads the template an argument names: a file path, or a NAME. */
export function loadTemplate(ctx: CliContext, arg: string): Template {
  if (arg.includes("/") || arg.endsWith(".toml")) return readTemplate(resolve(ctx.cwd, arg), arg);
  const dir = templatesDir(ctx);
  const path = join(dir, `${arg}.toml`);
  if (!TEMPLATE_NAME.test(arg) || !existsSync(path)) {
    const known = namedTemplates(dir);
    throw new UsageError(
      `No template "${arg}" in ${dir} (${
        known.length > 0 ? `templates: ${known.join(", ")}` : "it has none"
      }); give a file path (with a "/" or ending in .toml) for a template elsewhere`,
    );
  }
  return readTemplate(path);
}

/** pairs reads repeated `--flag name=value` options; a name given twice is refused. */
export function pairs(flag: string, given: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of given) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag} ${JSON.stringify(item)}: write ${flag} NAME=VALUE`);
    const name = item.slice(0, eq);
    if (Object.hasOwn(out, name)) throw new UsageError(`${flag} ${name} is given twice`);
    out[name] = item.slice(eq + 1);
  }
  return out;
}

interface FillOptions {
  input: string[];
  inputFile: string[];
  role: string[];
}

/** The help of `--input-file`, the same wherever a template is filled. */
export const INPUT_FILE_HELP =
  "an input's value read from a UTF-8 file, for a long or many-line value (repeatable)";

/**
 * inputFiles reads `--input-file NAME=PATH` options: each input's value is the text of a
 * file (a path from the working directory). A file that cannot be read, is not UTF-8 text, or
 * is far longer than an input may be is refused, naming the option.
 */
function inputFiles(ctx: CliContext, given: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(pairs("--input-file", given))) {
    const what = `--input-file ${name}=${path}`;
    const full = resolve(ctx.cwd, path);
    let size: number;
    let bytes: Uint8Array | null;
    try {
      // read no more than an input can hold (UTF-8: at most 4 bytes a character)
      size = statSync(full).size;
      bytes = size > 4 * INPUT_MAX_CHARS ? null : readFileSync(full);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(
        `${what}: cannot read it (${code ?? (err as Error).message})${
          code === "ENOENT" ? `: no file ${full}` : ""
        }`,
      );
    }
    if (bytes === null) {
      throw new UsageError(
        `${what}: the file is ${size} bytes; an input is at most ${INPUT_MAX_CHARS} characters`,
      );
    }
    try {
      out[name] = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new UsageError(`${what}: the file is not UTF-8 text`);
    }
  }
  return out;
}

/** render renders a template with the `--input`, `--input-file` and `--role` options given. */
export function render(
  ctx: CliContext,
  t: Template,
  opts: FillOptions,
  tenant: string | null = null,
): Rendering {
  const inputs = pairs("--input", opts.input);
  for (const [name, value] of Object.entries(inputFiles(ctx, opts.inputFile))) {
    if (Object.hasOwn(inputs, name)) {
      throw new UsageError(`input ${name} is given by both --input and --input-file`);
    }
    inputs[name] = value;
  }
  return renderTemplate(t, { inputs, roles: pairs("--role", opts.role), tenant });
}

/** The summary line of a template: its name, file and description. */
function heading(r: Pick<Rendering, "name" | "file" | "description">): string {
  return `${r.name} (${r.file})${r.description ? `: ${r.description}` : ""}`;
}

function inputsText(r: Rendering): string[] {
  return r.inputs.map((i) =>
    i.source === "missing"
      ? `  ${i.name}  (required, not given)`
      : `  ${i.name} = ${JSON.stringify(i.value)}${i.source === "given" ? "" : ` (${i.source})`}`
  );
}

function rolesText(r: Rendering): string[] {
  return r.roles.map((role) =>
    `  ${role.name} -> ${role.profile ?? "(no profile: bind it with --role)"}${
      role.source === "given" ? " (given)" : ""
    }`
  );
}

/** showText is the rendered graph for a person: inputs, roles, then each node with its body. */
function showText(r: Rendering): string {
  const lines = [heading(r)];
  if (r.inputs.length > 0) lines.push("inputs:", ...inputsText(r));
  if (r.roles.length > 0) lines.push("roles:", ...rolesText(r));
  lines.push("nodes:");
  for (const n of r.nodes) {
    lines.push(`  ${n.id}: ${n.task.title}`);
    const who = n.task.assignee ?? (n.role ? `(role ${n.role} has no profile)` : "-");
    lines.push(`    assignee: ${who}${n.role && n.task.assignee ? ` (role ${n.role})` : ""}`);
    if (n.after.length > 0) lines.push(`    after: ${n.after.join(", ")}`);
    const extra: [string, unknown][] = [
      ["needs", n.task.needs?.join(", ")],
      ["priority", n.task.priority],
      ["tenant", n.task.tenant],
      ["workspace", n.task.workspace],
      ["max runtime", n.task.max_runtime_seconds && `${n.task.max_runtime_seconds}s`],
      ["review", n.task.review_required ? "required" : undefined],
    ];
    for (const [label, value] of extra) {
      if (value !== undefined && value !== null && value !== "") {
        lines.push(`    ${label}: ${value}`);
      }
    }
    const body = (n.task.body ?? "").trimEnd();
    if (body !== "") lines.push(...body.split("\n").map((l) => `    | ${l}`.trimEnd()));
  }
  if (r.missing.length > 0) lines.push(`missing before it can run: ${r.missing.join(", ")}`);
  return lines.join("\n");
}

/** refuseMissing is run's refusal of a rendering that lacks inputs or role bindings. */
export function refuseMissing(r: Rendering): void {
  if (r.missing.length === 0) return;
  const how = r.missing.map((m) => {
    const name = m.replace(/^\w+ "(.*)"$/, "$1");
    return m.startsWith("input") ? `${m} (--input ${name}=VALUE)` : `${m} (--role ${name}=PROFILE)`;
  });
  throw new UsageError(`Cannot run template "${r.name}": missing ${how.join(", ")}`);
}

export function register(program: Command, ctx: CliContext): void {
  const template = program.command("template")
    .description("task-graph templates: list, validate, show, run (docs/templates.md)");

  template.command("list")
    .description("list the templates in $KANBAN_HOME/templates")
    .action((_opts, cmd) => {
      const dir = templatesDir(ctx);
      const list = namedTemplates(dir).map((name) => {
        const file = join(dir, `${name}.toml`);
        try {
          const t = readTemplate(file);
          return { name, file, description: t.description, nodes: t.nodes.length };
        } catch (err) {
          if (!(err instanceof KanbanError)) throw err;
          return { name, file, error: err.message };
        }
      });
      emit(
        ctx,
        globals(cmd).json,
        list,
        () =>
          list.length === 0 ? `No templates in ${dir}.` : table([
            ["NAME", "NODES", "DESCRIPTION"],
            ...list.map((t) =>
              "error" in t
                ? [t.name, "-", `invalid: ${t.error}`]
                : [t.name, String(t.nodes), t.description]
            ),
          ]),
      );
    });

  template.command("validate")
    .description("check a template: its format, placeholders, roles, dependencies and limits")
    .argument(
      "<template>",
      "a file (with a / or ending in .toml) or a NAME in $KANBAN_HOME/templates",
    )
    .action((arg, _opts, cmd) => {
      const t = loadTemplate(ctx, arg);
      const r = checkTemplate(t);
      const out = {
        ok: true,
        name: t.name,
        file: t.file,
        version: t.version,
        description: t.description,
        nodes: t.nodes.length,
        inputs: t.inputs,
        roles: t.roles,
      };
      emit(ctx, globals(cmd).json, out, () =>
        [
          `ok: ${heading(r)}`,
          `${t.nodes.length} node${t.nodes.length === 1 ? "" : "s"}: ${
            t.nodes.map((n) => n.id).join(", ")
          }`,
          ...(r.inputs.length > 0 ? ["inputs:", ...inputsText(r)] : []),
          ...(r.roles.length > 0 ? ["roles:", ...rolesText(r)] : []),
        ].join("\n"));
    });

  template.command("show")
    .description("print the graph a template makes with these inputs, without creating it")
    .argument(
      "<template>",
      "a file (with a / or ending in .toml) or a NAME in $KANBAN_HOME/templates",
    )
    .option("--input <name=value>", "an input's value (repeatable)", collect, [])
    .option("--input-file <name=path>", INPUT_FILE_HELP, collect, [])
    .option("--role <role=profile>", "the profile a role's tasks go to (repeatable)", collect, [])
    .action((arg, opts, cmd) => {
      const r = render(ctx, loadTemplate(ctx, arg), opts);
      checkRendering(r);
      emit(ctx, globals(cmd).json, r, () => showText(r));
    });

  template.command("run")
    .description("create a template's tasks in one transaction, once per --key")
    .argument(
      "<template>",
      "a file (with a / or ending in .toml) or a NAME in $KANBAN_HOME/templates",
    )
    .requiredOption(
      "--key <key>",
      "names this run: the same key returns the tasks it made, with other inputs it is refused",
    )
    .option("--input <name=value>", "an input's value (repeatable)", collect, [])
    .option("--input-file <name=path>", INPUT_FILE_HELP, collect, [])
    .option("--role <role=profile>", "the profile a role's tasks go to (repeatable)", collect, [])
    .action(async (arg, opts, cmd) => {
      const t = loadTemplate(ctx, arg);
      const key = graphKey(t.name, opts.key);
      // a worker's follow-ups are in its tenant unless a node names one (as `create` does)
      const tenant = workerBindingOf(decodeWorkerEnv(ctx.env))?.tenant ?? null;
      const r = render(ctx, t, opts, tenant);
      refuseMissing(r);
      checkRendering(r, key);
      using s = session(ctx, cmd);
      const out = await s.store.createGraph(graphOf(r, key), originActor(s.tools));
      emit(ctx, s.json, out, () => {
        const head = out.created
          ? `created ${out.tasks.length} tasks from template ${t.name}, key ${out.key}`
          : `already created by key ${out.key}: ${out.tasks.length} tasks (nothing changed)`;
        const rows = out.tasks.map(({ ref, task }) => {
          const after = r.nodes.find((n) => n.id === ref)?.after ?? [];
          return [
            task.id,
            task.status,
            ref,
            task.assignee ?? "-",
            task.title + (after.length > 0 ? `  (after ${after.join(", ")})` : ""),
          ];
        });
        return `${head}\n${table([["ID", "STATUS", "NODE", "ASSIGNEE", "TITLE"], ...rows])}`;
      });
    });
}
