/**
 * `kanban init`: create the board (and the kanban home) if it does not exist yet, and a
 * commented sample config.toml if there is none.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { globals, session } from "../context.ts";
import { resolveBoard } from "../../config/paths.ts";
import { configPath, SAMPLE_CONFIG } from "../../config/config.ts";
import { emit } from "../output.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("init")
    .description("create the board (default: ~/.kanban/boards/default/board.db) and config.toml")
    .action(async (_opts, cmd) => {
      const board = resolveBoard(globals(cmd), ctx.env, ctx.cwd);
      const existed = existsSync(board.path);
      using s = session(ctx, cmd, { create: true });
      const info = await s.store.info();
      const config = configPath(ctx.env);
      const wroteConfig = !existsSync(config);
      if (wroteConfig) {
        mkdirSync(dirname(config), { recursive: true });
        writeFileSync(config, SAMPLE_CONFIG, { flag: "wx" });
      }
      const name = board.name === null ? "" : ` "${board.name}"`;
      emit(ctx, s.json, {
        board: board.name,
        ...info,
        created: !existed,
        config,
        config_created: wroteConfig,
      }, () =>
        [
          existed
            ? `Board${name} already initialised at ${info.path}`
            : `Initialised board${name} at ${info.path}`,
          wroteConfig
            ? `Wrote a sample config (profiles for the dispatcher) to ${config}`
            : `Config: ${config}`,
        ].join("\n"));
    });
}
