/**
 * Helpers for presets that read JSON-lines output (malformed lines are skipped, never thrown)
 * and turn it into short lines for people.
 */

export type Json = Record<string, unknown>;

/** objects yields each line of `lines` that is a JSON object. */
export function* objects(lines: readonly string[]): Generator<Json> {
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (v !== null && typeof v === "object" && !Array.isArray(v)) yield v as Json;
    } catch {
      // not JSON (a stray line of plain text): skipped
    }
  }
}

/** object parses one line as a JSON object, or null. */
export function object(line: string): Json | null {
  for (const o of objects([line])) return o;
  return null;
}

/** field reads a nested field: field(o, "usage", "input_tokens"). */
export function field(o: unknown, ...path: string[]): unknown {
  let v = o;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Json)[k];
  }
  return v;
}

/** count reads a non-negative integer (0 when absent or not one). */
export function count(v: unknown): number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/** text reads a string (null when absent or not one). */
export function text(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** clip squeezes a text to one line of at most `max` characters (a person reads it at a glance). */
export function clip(s: string, max = 200): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
