/**
 * Machine pressure: how much memory and CPU this host has left, read from /proc/meminfo and
 * /proc/loadavg, and whether that is too little to start another worker (config.toml's
 * `dispatch.min_free_memory` and `dispatch.max_load`). Running workers are never touched: the
 * fill service only holds new ones (services/fill.ts).
 *
 * Memory counts swap: the memory a new worker can have is `MemAvailable` minus the swap in use
 * (`SwapTotal - SwapFree`), because pages already pushed out to swap must come back before the
 * running workers can use them. A guard that looked at MemAvailable alone let a swapping
 * machine start worker after worker until the OOM killer ran.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** One reading of the machine (bytes; load is the 1-minute load average). */
export interface MachineSample {
  mem_total: number;
  mem_available: number;
  swap_total: number;
  swap_free: number;
  /** The 1-minute load average (all cores together). */
  load1: number;
  cores: number;
}

/** The thresholds of config.toml's [dispatch] section (null: that check is off). */
export interface PressureLimits {
  /** Hold new workers when less memory than this is free (bytes, or a share of MemTotal). */
  min_free_memory: { bytes: number } | { percent: number } | null;
  /** Hold new workers when the 1-minute load per core is above this. */
  max_load: number | null;
}

/** What the pressure check says: held or not, why in words, and the figures it judged. */
export interface Pressure {
  held: boolean;
  /** "memory", "load", or null when not held. */
  reason: "memory" | "load" | null;
  /** One line for the log and status ("free memory 512MB is under 10% of 8GB"). */
  detail: string | null;
  /** Free memory counting swap in use (bytes); null when /proc/meminfo could not be read. */
  free_bytes: number | null;
  /** The 1-minute load per core; null when unknown. */
  load_per_core: number | null;
}

/** A pressure reader: the fill service calls it once per pass (tests inject their own). */
export type PressureReader = () => MachineSample | null;

/**
 * parseMeminfo reads the fields pressure needs from /proc/meminfo's text (kB values), or null
 * when MemTotal or MemAvailable is missing (a kernel before 3.14, or not Linux). A missing
 * swap line counts as no swap.
 */
export function parseMeminfo(text: string): Omit<MachineSample, "load1" | "cores"> | null {
  const kb = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB\\s*$`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = kb("MemTotal");
  const available = kb("MemAvailable");
  if (total === null || available === null || total <= 0) return null;
  const swapTotal = kb("SwapTotal") ?? 0;
  return {
    mem_total: total,
    mem_available: available,
    swap_total: swapTotal,
    swap_free: Math.min(kb("SwapFree") ?? swapTotal, swapTotal),
  };
}

/** parseLoadavg reads the 1-minute load average from /proc/loadavg's text, or null. */
export function parseLoadavg(text: string): number | null {
  const first = text.trim().split(/\s+/)[0] ?? "";
  if (!/^\d+(\.\d+)?$/.test(first)) return null;
  return Number(first);
}

/** readText reads a whole small /proc file, or null when it cannot. */
function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/**
 * readMachine reads this host's memory and load from `proc` (default /proc), or null when
 * /proc/meminfo is missing or unreadable (pressure then holds nothing, and says so once).
 */
export function readMachine(proc = "/proc"): MachineSample | null {
  const mem = parseMeminfo(readText(`${proc}/meminfo`) ?? "");
  if (mem === null) return null;
  const load = parseLoadavg(readText(`${proc}/loadavg`) ?? "");
  return { ...mem, load1: load ?? 0, cores: Math.max(1, availableParallelism()) };
}

/** freeBytes is the memory a new worker can have: MemAvailable minus the swap in use. */
export function freeBytes(s: MachineSample): number {
  return s.mem_available - (s.swap_total - s.swap_free);
}

/** mib writes bytes as whole MiB for a log line. */
const mib = (bytes: number): string => `${Math.round(bytes / 1024 ** 2)}MB`;

/** judgePressure says whether `sample` is over `limits` (memory is judged first). */
export function judgePressure(sample: MachineSample | null, limits: PressureLimits): Pressure {
  if (sample === null) {
    return { held: false, reason: null, detail: null, free_bytes: null, load_per_core: null };
  }
  const free = freeBytes(sample);
  const perCore = Math.round((sample.load1 / sample.cores) * 100) / 100;
  const out: Pressure = {
    held: false,
    reason: null,
    detail: null,
    free_bytes: free,
    load_per_core: perCore,
  };
  const min = limits.min_free_memory;
  if (min !== null) {
    const floor = "bytes" in min ? min.bytes : Math.floor(sample.mem_total * min.percent / 100);
    if (free < floor) {
      const swapUsed = sample.swap_total - sample.swap_free;
      const what = "bytes" in min ? mib(floor) : `${min.percent}% of ${mib(sample.mem_total)}`;
      return {
        ...out,
        held: true,
        reason: "memory",
        detail: `free memory ${mib(Math.max(0, free))} (available ${
          mib(sample.mem_available)
        } minus ${mib(swapUsed)} of swap in use) is under min_free_memory ${what}`,
      };
    }
  }
  if (limits.max_load !== null && perCore > limits.max_load) {
    return {
      ...out,
      held: true,
      reason: "load",
      detail:
        `load ${sample.load1} on ${sample.cores} core(s) is ${perCore} per core, over max_load ${limits.max_load}`,
    };
  }
  return out;
}

/** One worker per this much of MemTotal when max_workers is not set. */
export const BYTES_PER_WORKER = 2 * 1024 ** 3;
/** The most workers the memory-derived default allows (set max_workers to go past it). */
export const MAX_DEFAULT_WORKERS = 8;
/** The default when the machine's memory is unknown (no /proc/meminfo). */
export const FALLBACK_MAX_WORKERS = 4;

/**
 * defaultMaxWorkers is max_workers when config.toml does not set it: one worker per 2 GiB of
 * MemTotal, at least 1 and at most 8 (4 when the memory is unknown).
 */
export function defaultMaxWorkers(memTotal: number | null): number {
  if (memTotal === null || !Number.isFinite(memTotal)) return FALLBACK_MAX_WORKERS;
  return Math.min(MAX_DEFAULT_WORKERS, Math.max(1, Math.floor(memTotal / BYTES_PER_WORKER)));
}

/** memTotal is this host's MemTotal in bytes, or null when /proc/meminfo cannot be read. */
export function memTotal(proc = "/proc"): number | null {
  return parseMeminfo(readText(`${proc}/meminfo`) ?? "")?.mem_total ?? null;
}
