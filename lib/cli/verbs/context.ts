/**
 * `kanban context [ID]`: exactly what a worker receives for a task, byte for byte the prompt
 * the dispatcher pushes (and writes to run-<n>.prompt.md); `--context-only` prints just the
 * task's context section (structured, with `--json`).
 */
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "../../config/config.ts";
import { type PromptProfile, renderContext, workerPrompt } from "../../dispatch/prompt.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { emit, oneLine, print } from "../output.ts";
import { readTarget } from "../../tools/mod.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("context")
    .description("print exactly what a worker receives for a task (its prompt)")
    .argument("[id]", "task id or unique prefix (default: $KANBAN_TASK)")
    .option("--prompt", "the whole prompt: context and protocol (the default)")
    .option("--context-only", "only the task's context, without the worker protocol")
    .option("--profile <name>", "build the prompt for this profile (default: the task's assignee)")
    .option("--config <path>", "config file (default: $KANBAN_CONFIG or <home>/config.toml)")
    .action(async (id, opts, cmd) => {
      using s = session(ctx, cmd);
      const ref = readTarget(s.tools, id);
      if (opts.contextOnly) {
        if (opts.prompt || opts.profile !== undefined) {
          throw new UsageError("--context-only does not go with --prompt or --profile");
        }
        const c = await s.store.context(ref);
        emit(ctx, s.json, c, () => renderContext(c).trimEnd());
        return;
      }
      const config = loadConfig(ctx.env, opts.config);
      const task = await s.store.getTask(ref);
      const where = config.path ?? "config.toml (there is none)";
      const name = opts.profile ?? task.assignee;
      let profile: PromptProfile | undefined = name === null ? undefined : config.profiles[name];
      if (profile === undefined) {
        if (opts.profile !== undefined) throw new UsageError(`No profile "${name}" in ${where}`);
        // No worker starts for this task as it stands; show the built-in prompt all the same.
        ctx.stderr(
          `kanban: ${
            oneLine(
              name === null
                ? `task ${task.id} has no assignee`
                : `no profile "${name}" in ${where}`,
            )
          }: showing the built-in prompt\n`,
        );
        profile = { mcp: false };
      }
      const prompt = await workerPrompt(s.store, task.id, profile);
      if (s.json) emit(ctx, true, { task: task.id, profile: name, prompt }, () => "");
      // exactly the prompt (no newline added), but for a control character, which prints as its
      // stand-in (board text in it is escaped already; this covers config.toml's template)
      else print(ctx, prompt);
    });
}
