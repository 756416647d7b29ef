/**
 * Priorities: whole numbers, higher runs first, four of them named. Every surface reads the
 * names (CLI, MCP, HTTP, dashboard) and shows a priority by its name when it has one. No zod
 * here: the dashboard bundles this file (the input schema is in input.ts).
 */
export const PRIORITY_NAMES = { low: -1, normal: 0, high: 1, urgent: 2 } as const;
export type PriorityName = keyof typeof PRIORITY_NAMES;
export const PRIORITY_WORDS = Object.keys(PRIORITY_NAMES) as [PriorityName, ...PriorityName[]];

export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;

/** priorityText shows a priority by its name when it has one, else as its number. */
export function priorityText(p: number): string {
  return PRIORITY_WORDS.find((k) => PRIORITY_NAMES[k] === p) ?? String(p);
}

/** priorityFromText reads a name (any case) or a whole number; null for anything else. */
export function priorityFromText(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (Object.hasOwn(PRIORITY_NAMES, s)) return PRIORITY_NAMES[s as PriorityName]; // not "constructor"
  return /^[+-]?\d+$/.test(s) ? Number(s) : null;
}
