/**
 * The commander program: global options, the verb registry, and `runCli()`, which runs one
 * command line and returns its exit code (only main.ts exits the process).
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { KanbanError } from "../store/mod.ts";
import { VERSION } from "../version.ts";
import { runtimeName, sqliteVersion } from "../runtime.ts";
import type { CliContext } from "./context.ts";
import { exitCodeOf } from "./exit_codes.ts";
import { refuseInWorker } from "./confine.ts";
import { oneLine, ReportedError } from "./output.ts";
import { VERBS } from "./verbs/mod.ts";

export function versionText(): string {
  return `kanban ${VERSION} (SQLite ${sqliteVersion()}, ${runtimeName()})`;
}

/** buildProgram makes a fresh command tree (one per run: commander keeps parse state). */
export function buildProgram(ctx: CliContext) {
  const program = new Command()
    .name("kanban")
    .description("A durable task board for a person and a fleet of AI agents.")
    .option("--json", "print machine-readable JSON (errors too, on stdout)")
    .option("--board <name>", 'board name (default: $KANBAN_BOARD or "default")')
    .option("--db <path>", "board file, sqlite: or postgres:// URL (overrides --board, $KANBAN_DB)")
    .version(versionText(), "-V, --version", "print the version and the SQLite version")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => ctx.stdout(s),
      writeErr: (s) => ctx.stderr(s),
      outputError: () => {}, // runCli prints one line itself (or a JSON error)
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  for (const register of VERBS) register(program, ctx);
  // One refusal point for every verb a worker may not run (lib/cli/confine.ts): hooks of the
  // program run before the action of any command under it, so a new verb is refused by default.
  program.hook("preAction", (_program, action) => refuseInWorker(ctx.env, action));
  return program;
}

export type Program = ReturnType<typeof buildProgram>;

function errorCode(err: CommanderError): string {
  return err.code.replace(/^commander\./, "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** runCli runs one command line (argv without the executable) and returns the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const json = argv.includes("--json");
  const fail = (code: string, message: string, exit: number) => {
    if (json) ctx.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    else ctx.stderr(`kanban: ${oneLine(message)}\n`);
    return exit;
  };
  try {
    await buildProgram(ctx).parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
        err.code === "commander.help"
      ) return 0;
      // commander puts its "(Did you mean ...?)" suggestion on a line of its own
      const message = err.message.replace(/^error: /, "").replaceAll("\n", " ");
      return fail(errorCode(err), `${message} (see kanban --help)`, 2);
    }
    if (err instanceof ReportedError) return exitCodeOf(err.code);
    if (err instanceof KanbanError) return fail(err.code, err.message, exitCodeOf(err.code));
    const e = err instanceof Error ? err : new Error(String(err));
    if (ctx.env["KANBAN_DEBUG"]) ctx.stderr(`${e.stack}\n`);
    return fail("internal", `internal error: ${e.message}`, 1);
  }
}
