/**
 * Profiles turn a task into a command line. Presets give the headless argv of common agent
 * CLIs (stdin is closed and no TTY is given, so each runs its non-interactive mode); a plain
 * `command` gives any argv. Placeholders are replaced whole-argument-safe: the prompt is
 * one argv element, never passed through a shell.
 */
import type { PresetName, Profile } from "../config/config.ts";

/** PRESETS: the argv each agent CLI gets (docs/agents.md explains each choice). */
export const PRESETS: Record<PresetName, string[]> = {
  // print mode; stream-json makes steady output, which the stall detector counts as progress
  "claude-code": [
    "claude",
    "-p",
    "{prompt}",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "bypassPermissions",
  ],
  // non-interactive exec; may edit files in its workspace
  codex: ["codex", "exec", "--sandbox", "workspace-write", "--skip-git-repo-check", "{prompt}"],
  // -p is headless mode; --yolo accepts tool calls without asking
  gemini: ["gemini", "--yolo", "--output-format", "stream-json", "-p", "{prompt}"],
  // a single query, no approval prompts
  hermes: ["hermes", "chat", "--yolo", "-q", "{prompt}"],
  // run one prompt and exit
  opencode: ["opencode", "run", "{prompt}"],
};

export type Vars = Record<
  "prompt" | "task" | "workspace" | "run" | "profile" | "board" | "kanban",
  string
>;

/** renderArgv builds a profile's argv for one run. */
export function renderArgv(profile: Profile, vars: Vars): string[] {
  const template = profile.command ?? PRESETS[profile.preset!];
  return [...template, ...profile.args].map((arg) =>
    arg.replace(
      /\{([a-z_]+)\}/g,
      (whole, name: string) => name in vars ? vars[name as keyof Vars] : whole,
    )
  );
}

/** PROTOCOL is the part of every prompt that tells a worker how to use the board. */
export const PROTOCOL = `## How to work on this task

You are a worker on a kanban board. Your task is above; the board is reachable through the
\`kanban\` command (already on your PATH, bound to this task: no id or token needed).

1. Orient: read the task, the handoffs from parent tasks, and earlier attempts (if this is a
   retry, do not repeat what failed). \`kanban show --json\` prints everything.
2. Work in your current directory (the task's workspace).
3. On long steps, run \`kanban heartbeat --note "what you are doing"\` every few minutes.
4. If you need a person to decide or provide something, run
   \`kanban block "one clear question"\` and stop.
5. Work outside this task's scope goes into follow-up tasks for the right profile:
   \`kanban create "title" --assignee PROFILE --body "..."\` (add \`--parent ID\` to order it).
6. Finish with \`kanban complete --summary "what you did, for the next person" --metadata
   '{"key": "value"}'\` (metadata: machine-readable results such as files, URLs, numbers).
   Exit after completing. Exiting without complete or block counts as a failed attempt.
`;

/** buildPrompt is the pushed prompt: the task's context, then the protocol. */
export function buildPrompt(context: string, profile: Profile): string {
  if (profile.prompt !== undefined) {
    return profile.prompt.replaceAll("{context}", context).replaceAll("{protocol}", PROTOCOL);
  }
  return `${context}\n${PROTOCOL}`;
}
