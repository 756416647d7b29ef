/** kanban's entry point: runs the CLI and is the only place that exits the process. */
import process from "node:process";
import { Buffer } from "node:buffer";
import { runCli } from "./lib/cli/program.ts";

runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
    return Buffer.concat(chunks).toString("utf8");
  },
  now: Date.now,
}).then((code) => {
  process.exitCode = code;
});
