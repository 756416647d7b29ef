/**
 * `kanban skills list|show|install`: the agent skills kanban ships (skills/ in the source,
 * embedded in the binary). `install` writes <dir>/<name>/SKILL.md where agent CLIs look for
 * skills (default ~/.claude/skills) and never replaces a file that differs without --force.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import type { Command } from "@commander-js/extra-typings";
import { type Skill, SKILLS } from "../../../skills/mod.ts";
import { expandHome } from "../../config/paths.ts";
import { diskFullError, KanbanError } from "../../store/mod.ts";
import { readCapped, TooLargeError } from "../../readcap.ts";
import { type CliContext, globals, UsageError } from "../context.ts";
import { emit, ReportedError } from "../output.ts";
import { table } from "../render.ts";

/** skillNamed returns the shipped skill `name` or fails with a usage error listing them. */
function skillNamed(name: string): Skill {
  const skill = SKILLS.find((s) => s.name === name);
  if (!skill) {
    throw new UsageError(
      `Unknown skill "${name}" (known: ${SKILLS.map((s) => s.name).join(", ")})`,
    );
  }
  return skill;
}

/** skillsDir is where `install` writes: --to DIR (~ expanded), or ~/.claude/skills. */
function skillsDir(ctx: CliContext, to: string | undefined): string {
  const home = ctx.env["HOME"];
  if (to !== undefined) {
    if (to.startsWith("~") && !home) throw new UsageError(`Cannot expand "${to}": HOME is not set`);
    return resolve(ctx.cwd, expandHome(to, ctx.env));
  }
  if (!home) throw new UsageError("HOME is not set: give the folder with --to DIR");
  return join(home, ".claude", "skills");
}

export type InstallAction = "installed" | "unchanged" | "replaced" | "kept";

/**
 * readsAs tells whether the file at `path` holds exactly `text`, reading one byte more than
 * `text` at most: a longer file differs, however long (or endless) it is.
 */
function readsAs(path: string, text: string): boolean {
  try {
    return readCapped(path, new TextEncoder().encode(text).length, `"${path}"`) === text;
  } catch (err) {
    if (err instanceof TooLargeError) return false;
    throw err;
  }
}

/**
 * installSkill writes one SKILL.md unless a different file is there (then it is kept, unless
 * `force`). The write goes to a temporary file first, so a reader never sees half a file.
 */
export function installSkill(dir: string, skill: Skill, force: boolean): {
  path: string;
  action: InstallAction;
} {
  const path = join(dir, skill.name, "SKILL.md");
  let action: InstallAction = "installed";
  if (existsSync(path)) {
    if (readsAs(path, skill.text)) return { path, action: "unchanged" };
    if (!force) return { path, action: "kept" };
    action = "replaced";
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, skill.text);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk must not leave a half-written temporary file behind.
    rmSync(tmp, { force: true });
    throw diskFullError(path, err) ?? err;
  }
  return { path, action };
}

export function register(program: Command, ctx: CliContext): void {
  const skills = program.command("skills")
    .description("the agent skills kanban ships for agent CLIs (list, show, install)");

  skills.command("list")
    .description("list the skills kanban ships")
    .action((_opts, cmd) => {
      const list = SKILLS.map(({ name, description }) => ({ name, description }));
      emit(
        ctx,
        globals(cmd).json,
        list,
        () => table([["NAME", "DESCRIPTION"], ...list.map((s) => [s.name, s.description])]),
      );
    });

  skills.command("show")
    .description("print one skill's SKILL.md exactly as shipped")
    .argument("<name>", `skill name (${SKILLS.map((s) => s.name).join(", ")})`)
    .action((name, _opts, cmd) => {
      const skill = skillNamed(name);
      if (globals(cmd).json) emit(ctx, true, skill, () => "");
      else ctx.stdout(skill.text); // the file itself, byte for byte
    });

  skills.command("install")
    .description("write the skills where agent CLIs look for them (default: ~/.claude/skills)")
    .argument("[names...]", "skills to install (default: all)")
    .option("--to <dir>", "skills folder to write <name>/SKILL.md into (see docs/agents.md)")
    .option("--force", "replace a SKILL.md that differs from the shipped one")
    .action((names, opts, cmd) => {
      const json = globals(cmd).json;
      const chosen = names.length > 0 ? names.map(skillNamed) : [...SKILLS];
      const dir = skillsDir(ctx, opts.to);
      const results = chosen.map((skill) => {
        try {
          return { name: skill.name, ...installSkill(dir, skill, opts.force === true) };
        } catch (err) {
          // a file where a folder should be, no permission, a full disk
          throw new KanbanError(
            "cannot_write",
            `Cannot install skill "${skill.name}" into ${dir}: ${(err as Error).message}`,
          );
        }
      });
      const kept = results.filter((r) => r.action === "kept");
      if (json) ctx.stdout(`${JSON.stringify(results)}\n`);
      else {
        for (const r of results) {
          if (r.action === "kept") {
            ctx.stderr(
              `kanban: kept ${r.path}: it differs from the shipped ${r.name} (--force replaces it)\n`,
            );
          } else ctx.stdout(`${r.action} ${r.name}: ${r.path}\n`);
        }
      }
      if (kept.length > 0) {
        throw new ReportedError(`${kept.length} skill file(s) differ and were kept`);
      }
    });
}
