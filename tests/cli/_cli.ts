/**
 * Runs the CLI in-process (the same runCli() that main.ts calls) against a private
 * KANBAN_HOME, capturing stdout, stderr and the exit code.
 */
import { runCli } from "../../lib/cli/program.ts";
import { tempDir } from "../_setup.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON. */
  json<T = Record<string, unknown>>(): T;
}

export interface CliHome extends Disposable {
  home: string;
  run(args: string[], env?: Record<string, string>, stdin?: string): Promise<CliResult>;
}

/** cliHome makes a KANBAN_HOME with an initialised default board. */
export async function cliHome(options: { init?: boolean } = {}): Promise<CliHome> {
  const tmp = tempDir("kanban-cli-");
  const run = async (args: string[], env: Record<string, string> = {}, stdin = "") => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      env: { KANBAN_HOME: tmp.dir, USER: "tester", ...env },
      cwd: tmp.dir,
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
      readStdin: () => Promise.resolve(stdin),
      now: () => Date.parse("2026-03-01T12:00:00Z"),
    });
    return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
  };
  if (options.init !== false) {
    const r = await run(["init"]);
    if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  }
  return { home: tmp.dir, run, [Symbol.dispose]: () => tmp[Symbol.dispose]() };
}

/** idOf creates a task and returns its id. */
export async function create(h: CliHome, ...args: string[]): Promise<string> {
  const r = await h.run(["create", ...args, "--json"]);
  if (r.code !== 0) throw new Error(`create failed: ${r.stdout}${r.stderr}`);
  return r.json<{ id: string }>().id;
}
