/**
 * What a finished worker's log says: the usage its CLI reported in machine-readable output,
 * and its last words (the last non-empty lines, as a person reads them), which a failed
 * run's error carries so that `exit code 1` comes with the CLI's own reason.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { Buffer } from "node:buffer";
import { LOG_MAX_BYTES } from "../config/config.ts";
import { readCapped } from "../readcap.ts";
import type { Usage } from "../store/mod.ts";
import type { Preset } from "./presets/mod.ts";
import { clip } from "./presets/_json.ts";
import { runFile } from "./logs.ts";

/** How many of the last lines a failed run's error quotes, and how long each may be. */
export const LAST_WORDS = { lines: 3, chars: 300 };

/** How much of a log's end holds its last words (a few lines, even long JSON ones). */
const TAIL_BYTES = 64 * 1024;

/** readLogText reads a run's whole log, its rotated part first; null when neither exists. */
export function readLogText(path: string): string | null {
  const parts = [`${path}.1`, path].filter((p) => existsSync(p));
  if (parts.length === 0) return null;
  return parts.map((p) => {
    try {
      return readEnd(p, LOG_PART_MAX);
    } catch {
      return ""; // removed meanwhile
    }
  }).join("");
}

/**
 * A log part is read up to this size (log_max_bytes' own maximum): a worker can write more
 * between two rotations, and then its end is what counts (usage and last words are there).
 */
const LOG_PART_MAX = LOG_MAX_BYTES.max;
/** A run file a worker writes (a CLI's usage file) is read up to this size, else ignored. */
const RUN_FILE_MAX = 16 * 1024 ** 2;

/** readEnd reads a file, or only its last `max` bytes when it is longer. */
function readEnd(path: string, max: number): string {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, max);
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, size - length + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** logLines reads a run's log (its rotated part first) as lines; none when it is gone. */
export function logLines(path: string | null): string[] {
  return path === null ? [] : readLogText(path)?.split(/\r?\n/) ?? [];
}

/** tailLines reads the lines of a log's last `bytes` (the first may be cut short). */
export function tailLines(path: string | null, bytes = TAIL_BYTES): string[] {
  if (path === null || !existsSync(path)) return [];
  let fd: number | null = null;
  try {
    const size = statSync(path).size;
    // a log just rotated may hold nothing yet: its last words are in the rotated part
    if (size === 0) return tailLines(existsSync(`${path}.1`) ? `${path}.1` : null, bytes);
    const length = Math.min(size, bytes);
    const buf = Buffer.alloc(length);
    fd = openSync(path, "r");
    readSync(fd, buf, 0, length, size - length);
    return buf.toString("utf8").split(/\r?\n/);
  } catch {
    return [];
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** What a finished worker left: its usage, and (for a failed run) its last words. */
export interface RunOutput {
  usage: Usage | null;
  lastWords: string | null;
  /** A failed run's output lines as read for its last words (its end at least), to be read again. */
  tail?: string[];
}

/**
 * runOutput reads what the dispatcher records when a worker exits, reading only what it needs:
 * the whole log and the run's own files when the preset reads usage from them, and only the
 * log's end for a failed run's last words. A reported run of a command profile reads nothing.
 */
export function runOutput(
  logPath: string | null,
  preset: Preset | undefined,
  failed: boolean,
): RunOutput {
  const lines = preset?.usage ? logLines(logPath) : null;
  const file = (name: string): string | null => {
    if (logPath === null) return null;
    try {
      return readCapped(runFile(logPath, name), RUN_FILE_MAX, `run file ${name}`);
    } catch {
      return null;
    }
  };
  const usage = lines === null ? null : usageOf(lines, preset, file);
  if (!failed) return { usage, lastWords: null };
  const tail = lines ?? tailLines(logPath);
  return { usage, lastWords: lastWords(tail, preset), tail };
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
export function usageOf(
  lines: readonly string[],
  preset: Preset | undefined,
  file: (name: string) => string | null = () => null,
): Usage | null {
  if (!preset?.usage) return null;
  try {
    return preset.usage(lines, file);
  } catch {
    return null;
  }
}
