/** `kanban init`: create the board (and the kanban home) if it does not exist yet. */
import { existsSync } from "node:fs";
import type { Command } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { globals, session } from "../context.ts";
import { resolveBoard } from "../../config/paths.ts";
import { emit } from "../output.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("init")
    .description("create the board (default: ~/.kanban/boards/default/board.db)")
    .action(async (_opts, cmd) => {
      const board = resolveBoard(globals(cmd), ctx.env, ctx.cwd);
      const existed = existsSync(board.path);
      using s = session(ctx, cmd, { create: true });
      const info = await s.store.info();
      emit(
        ctx,
        s.json,
        { board: board.name, ...info, created: !existed },
        () =>
          existed
            ? `Board already initialised at ${info.path}`
            : `Initialised board ${board.name ?? ""} at ${info.path}`.replace(
              "board  at",
              "board at",
            ),
      );
    });
}
