/** kanban's entry point: runs the CLI and is the only place that exits the process. */
import process from "node:process";
import { runCli } from "./lib/cli/program.ts";
import { readStreamCapped } from "./lib/readcap.ts";
import type { TerminalContext } from "./lib/cli/output.ts";
import { terminalText } from "./lib/cli/sanitize.ts";

const ctx: TerminalContext = {
  env: process.env,
  cwd: process.cwd(),
  stdout: (s) => process.stdout.write(s),
  // Everything on stderr is text for a person (JSON errors go to stdout): no control character
  // from board text (in an error, a warning, a dispatcher's log line) reaches the terminal.
  stderr: (s) => process.stderr.write(terminalText(s)),
  // capped while reading: `--body-file - < /dev/zero` fails fast instead of filling memory
  readStdin: (max, what) => readStreamCapped(process.stdin, max, what),
  stdinStream: () => process.stdin,
  now: Date.now,
  stdoutIsTerminal: process.stdout.isTTY === true,
};

runCli(process.argv.slice(2), ctx).then((code) => {
  process.exitCode = code;
});
