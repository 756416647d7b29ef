/** Runs the compiled dist/kanban as a real process against a private KANBAN_HOME. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { tempDir } from "../_setup.ts";

/** dist/kanban, or another build named by KANBAN_E2E_BINARY (a private build while developing). */
export const BINARY = process.env["KANBAN_E2E_BINARY"] ??
  fileURLToPath(new URL("../../dist/kanban", import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BinaryHome extends Disposable {
  home: string;
  kanban(args: string[], env?: Record<string, string>): Result;
  /** kanban --json, parsed; fails the test on a non-zero exit. */
  json<T = Record<string, unknown>>(args: string[], env?: Record<string, string>): T;
}

export function binaryHome(): BinaryHome {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run scripts/build first`);
  const tmp = tempDir("kanban-e2e-");
  const kanban = (args: string[], env: Record<string, string> = {}): Result => {
    const r = spawnSync(BINARY, args, {
      env: { PATH: "/usr/bin:/bin", HOME: tmp.dir, KANBAN_HOME: tmp.dir, USER: "e2e", ...env },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    home: tmp.dir,
    kanban,
    json: <T>(args: string[], env?: Record<string, string>): T => {
      const r = kanban([...args, "--json"], env);
      if (r.code !== 0) {
        throw new Error(`kanban ${args.join(" ")} exited ${r.code}: ${r.stdout}${r.stderr}`);
      }
      return JSON.parse(r.stdout) as T;
    },
    [Symbol.dispose]: () => tmp[Symbol.dispose](),
  };
}
