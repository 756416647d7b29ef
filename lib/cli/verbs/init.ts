/**
 * `kanban init`: create the board (and the kanban home) if it does not exist yet, and a
 * commented sample config.toml if there is none.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { globals, session, UsageError } from "../context.ts";
import { boardUrlFile, resolveBoard } from "../../config/paths.ts";
import { boardLocation } from "../../store/location.ts";
import { configPath, SAMPLE_CONFIG } from "../../config/config.ts";
import { emit } from "../output.ts";

export function register(program: Command, ctx: CliContext): void {
  program.command("init")
    .description(
      "create the board (default: ~/.kanban/boards/default/board.db) and config.toml; " +
        "with --board NAME --db URL, board NAME lives in that server database",
    )
    .action(async (_opts, cmd) => {
      const flags = globals(cmd);
      const named = flags.board !== undefined && flags.db !== undefined
        ? { name: flags.board, path: boardLocation(flags.db) }
        : null;
      if (named !== null && named.path.driver === "sqlite") {
        throw new UsageError(
          `--board with --db records a server database's URL (postgres://...); a board file ` +
            `is --db PATH alone, or --board NAME alone for ~/.kanban/boards/NAME/board.db`,
        );
      }
      const board = resolveBoard(flags, ctx.env, ctx.cwd);
      const existed = existsSync(board.path);
      using s = session(ctx, cmd, { create: true });
      const info = await s.store.info();
      // recorded once the database opened and migrated: a wrong URL is not kept
      if (named !== null) recordUrl(ctx, named.name, board.path);
      const boardName = named?.name ?? board.name;
      const config = configPath(ctx.env);
      const wroteConfig = !existsSync(config);
      if (wroteConfig) {
        mkdirSync(dirname(config), { recursive: true });
        writeFileSync(config, SAMPLE_CONFIG, { flag: "wx" });
      }
      const name = boardName === null ? "" : ` "${boardName}"`;
      emit(ctx, s.json, {
        board: boardName,
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

/**
 * recordUrl makes board `name` one kept in a server database: its folder holds the URL (mode
 * 0600: it carries the password), so `--board NAME` and $KANBAN_BOARD open that database.
 * Recording the same URL again is a no-op; another URL, or a board file there, is refused.
 */
function recordUrl(ctx: CliContext, name: string, url: string): void {
  const current = resolveBoard({ board: name }, ctx.env, ctx.cwd);
  if (current.path === url) return;
  const file = boardUrlFile(name, ctx.env);
  if (existsSync(file)) {
    throw new UsageError(
      `Board "${name}" is already kept in another database (${file}); edit or remove that file ` +
        `to move it`,
    );
  }
  if (existsSync(current.path)) {
    throw new UsageError(
      `Board "${name}" is a board file (${current.path}): move it with kanban export and ` +
        `kanban import (docs/scale-out.md), or give another name`,
    );
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${url}\n`, { mode: 0o600, flag: "wx" });
}
