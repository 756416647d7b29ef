/**
 * Profiles turn a task into a command line. Presets give the headless argv of common agent
 * CLIs (stdin is closed and no TTY is given, so each runs its non-interactive mode); a plain
 * `command` gives any argv. Placeholders are replaced whole-argument-safe: the prompt is
 * one argv element, never passed through a shell.
 */
import type { Profile } from "../config/config.ts";
import type { Env } from "../config/paths.ts";
import { findProgram } from "./spawn.ts";
import { type Launch, type LaunchContext, type Preset, PRESETS } from "./presets/mod.ts";

export { PRESETS, WORKER_ENV } from "./presets/mod.ts";

export type Vars = Record<
  "prompt" | "task" | "workspace" | "run" | "profile" | "board" | "kanban",
  string
>;

/** programOf is the program a profile starts (its command's, or its preset's CLI). */
export function programOf(profile: Profile): string {
  return profile.command?.[0] ?? PRESETS[profile.preset!].argv[0]!;
}

/**
 * renderArgv builds a profile's argv for one run: the preset's argv (or the profile's
 * command), the profile's args, then what the preset adds for this run (`launch`).
 */
export function renderArgv(profile: Profile, vars: Vars, added: Launch = {}): string[] {
  const template = profile.command ?? PRESETS[profile.preset!].argv;
  return [...template, ...profile.args].map((arg) =>
    arg.replace(
      /\{([a-z_]+)\}/g,
      (whole, name: string) => name in vars ? vars[name as keyof Vars] : whole,
    )
  ).concat(added.args ?? []);
}

/**
 * profileWarnings says, before any task is claimed, what will keep a profile's workers from
 * running here: a program that is not on the worker's PATH, and each preset's own checks
 * (Claude Code as root, say). `kanban status`, `dispatch --dry-run` and the dispatcher's
 * start-up log print them.
 */
export function profileWarnings(profiles: Record<string, Profile>, env: Env): string[] {
  const out: string[] = [];
  for (const [name, p] of Object.entries(profiles)) {
    const workerEnv = { ...env, ...p.env };
    const program = programOf(p);
    if (findProgram(program, workerEnv["PATH"] ?? "") === null) {
      out.push(`profile ${name}: command "${program}" is not found or not executable`);
    }
    for (const w of presetOf(p)?.check?.(workerEnv, p) ?? []) out.push(`profile ${name}: ${w}`);
  }
  return out;
}

/** presetOf is a profile's preset (undefined for a command profile, or no profile). */
export function presetOf(profile: Profile | undefined): Preset | undefined {
  return profile?.preset === undefined ? undefined : PRESETS[profile.preset];
}

/** presetLaunch is what the profile's preset adds to one run (nothing for a command). */
export function presetLaunch(profile: Profile, ctx: LaunchContext): Launch {
  return presetOf(profile)?.launch?.(ctx) ?? {};
}
