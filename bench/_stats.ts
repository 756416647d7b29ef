/**
 * Small helpers for the benches: sample statistics, number formatting, the table's rows and
 * ratios, a seeded PRNG.
 */

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
}

/** summarize returns min, median, p90 and p99 (nearest rank) and max of `samples`. */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  const at = (i: number) => s[Math.min(s.length - 1, Math.max(0, i))]!;
  const mid = s.length / 2;
  const median = s.length % 2 === 1 ? at(Math.floor(mid)) : (at(mid - 1) + at(mid)) / 2;
  return {
    n: s.length,
    min: at(0),
    median,
    p90: at(Math.ceil(0.9 * s.length) - 1),
    p99: at(Math.ceil(0.99 * s.length) - 1),
    max: at(s.length - 1),
  };
}

/** int formats a whole number with thousands separators: 10000 -> "10,000". */
export function int(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function ms(n: number): string {
  return `${n.toFixed(1)} ms`;
}

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** mulberry32: a tiny seeded PRNG, so every run seeds the same board. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A rate: `n` things done at `perSecond`. */
export interface Rate {
  perSecond: number;
  n: number;
}

/** row is one line of a bench's table: a label, then its cells. */
export function row(label: string, ...cells: string[]): string {
  return `${label.padEnd(48)}${cells.join("  ")}`;
}

/** A rate as a ratio to the raw reference: `tx` transactions per unit (a cycle is two). */
export function ratio(perSecond: number, raw: Rate, tx = 1): string {
  return `${(perSecond * tx / raw.perSecond).toFixed(2)}x raw`;
}

/** A latency as the number of raw single-row transactions that fit in it. */
export function rawTx(msValue: number, raw: Rate): string {
  return `= ${int(msValue * raw.perSecond / 1000)} raw tx`;
}

export function rate(r: Rate, unit: string): string {
  return `${int(r.perSecond).padStart(7)} ${unit}`;
}
