/**
 * What a dispatcher notices about the files it depends on between passes: config.toml edited
 * (reloaded, and what changed said in one line each) and the board file deleted or replaced
 * (another inode at its path: the dispatcher would go on writing to a file nobody reads).
 */
import { statSync } from "node:fs";
import type { Config } from "../config/config.ts";

/** fileStamp identifies a file's current content cheaply (null when it is not there). */
export function fileStamp(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}

/** fileIdentity is the device and inode at `path` (null when nothing is there). */
export function fileIdentity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * boardFileProblem says why the board file at `path` is no longer the one opened as
 * `identity`, or null while it still is.
 */
export function boardFileProblem(path: string, identity: string): string | null {
  const now = fileIdentity(path);
  if (now === identity) return null;
  return now === null
    ? `the board file ${path} was deleted`
    : `the board file ${path} was replaced by another file (inode ${identity} -> ${now})`;
}

const show = (v: unknown) => JSON.stringify(v) ?? "unset";

/** configChanges lists what differs between two configs, one short line per change. */
export function configChanges(before: Config, after: Config): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(before.dispatch), ...Object.keys(after.dispatch)]);
  for (const key of keys) {
    const a = (before.dispatch as Record<string, unknown>)[key];
    const b = (after.dispatch as Record<string, unknown>)[key];
    if (show(a) !== show(b)) out.push(`dispatch.${key}: ${show(a)} -> ${show(b)}`);
  }
  for (const name of Object.keys(before.profiles)) {
    if (!(name in after.profiles)) out.push(`profile ${name} removed`);
  }
  for (const [name, p] of Object.entries(after.profiles)) {
    const old = before.profiles[name];
    if (old === undefined) out.push(`profile ${name} added`);
    else if (show(old) !== show(p)) out.push(`profile ${name} changed`);
  }
  if (show(before.budgets) !== show(after.budgets)) out.push("budgets changed");
  return out;
}
