/**
 * Helpers for tests that race real OS processes on one board. The parent starts N children,
 * waits until every child has printed a `{"ready":true}` line, then creates a "go" file; each
 * child polls for that file (the barrier) so that all of them start the contended part at once.
 * Not a test (the leading underscore keeps `deno test` away).
 */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository root: children run there so that package.json and node_modules resolve. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: string | null;
  /** stdout parsed as JSON lines, without the `ready` line. */
  lines: Record<string, unknown>[];
  stderr: string;
}

/**
 * race runs `script` (a path relative to this folder) once per argument list, releases them
 * together through `goFile`, and returns each child's exit status and JSON output lines.
 */
export async function race(
  script: string,
  argLists: string[][],
  goFile: string,
): Promise<ChildResult[]> {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const children = argLists.map((args) => {
    const child = spawn(Deno.execPath(), ["run", "-A", file, goFile, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let markReady!: () => void;
    let failReady!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('{"ready":true}\n')) markReady();
    });
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    const done = new Promise<ChildResult>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => {
        failReady(new Error(`child exited (${code ?? signal}) before it was ready:\n${stderr}`));
        const lines = stdout.split("\n").filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((l) => l["ready"] !== true);
        resolve({ code, signal, lines, stderr });
      });
    });
    return { ready, done };
  });
  let notReady: unknown = null;
  try {
    await Promise.all(children.map((c) => c.ready));
  } catch (err) {
    notReady = err;
  }
  // Release the children even when one failed early, so that none waits for its deadline.
  writeFileSync(goFile, "go");
  const results = await Promise.all(children.map((c) => c.done));
  if (notReady !== null) throw notReady;
  return results;
}

/**
 * Child side: announce readiness, then wait for the go file. The deadline only keeps an
 * orphaned child from lingering when its parent test died; it is not a timing assertion.
 */
export async function barrier(goFile: string, deadlineMs = 60_000): Promise<void> {
  console.log(JSON.stringify({ ready: true }));
  const start = Date.now();
  while (!existsSync(goFile)) {
    if (Date.now() - start > deadlineMs) throw new Error(`no go file after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
