/**
 * What a finished worker's log says: the usage its CLI reported in machine-readable output,
 * and its last words (the last non-empty lines, as a person reads them), which a failed
 * run's error carries so that `exit code 1` comes with the CLI's own reason.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Usage } from "../store/mod.ts";
import type { Preset } from "./presets/mod.ts";
import { clip } from "./presets/_json.ts";

/** How many of the last lines a failed run's error quotes, and how long each may be. */
export const LAST_WORDS = { lines: 3, chars: 300 };

/** logLines reads a run's log (its rotated part first) as lines; none when it is gone. */
export function logLines(path: string | null): string[] {
  if (path === null) return [];
  const parts = [`${path}.1`, path].filter((p) => existsSync(p));
  if (parts.length === 0) return [];
  const text = parts.map((p) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  }).join("");
  return text.split(/\r?\n/);
}

/** readableLine is one log line as a person reads it (through the preset), or null. */
export function readableLine(line: string, preset: Preset | undefined): string | null {
  let out: string | null = line;
  if (preset?.readable) {
    try {
      out = preset.readable(line);
    } catch {
      out = line;
    }
  }
  // control characters (terminal escapes) never reach an error, a prompt or a terminal
  return out === null ? null : out.replace(ESCAPES, "").replace(CONTROLS, " ").trim();
}

// deno-lint-ignore no-control-regex -- matching control characters is the point
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** lastWords is the last non-empty readable lines of a log, capped, joined by " | ". */
export function lastWords(lines: readonly string[], preset: Preset | undefined): string | null {
  const out: string[] = [];
  for (let i = lines.length - 1; i >= 0 && out.length < LAST_WORDS.lines; i--) {
    const r = readableLine(lines[i]!, preset);
    if (!r) continue;
    out.unshift(clip(r, LAST_WORDS.chars));
  }
  return out.length === 0 ? null : out.join(" | ");
}

/** usageOf reads usage through the preset; malformed output (or a parser bug) is no usage. */
export function usageOf(lines: readonly string[], preset: Preset | undefined): Usage | null {
  if (!preset?.usage) return null;
  try {
    return preset.usage(lines);
  } catch {
    return null;
  }
}
