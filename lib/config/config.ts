/**
 * config.toml: how the dispatcher runs (caps, timeouts, where workspaces and logs go) and the
 * profiles that say which agent CLI runs for which assignee. Validated with zod; every error
 * names the file, the key and the problem.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { KanbanError } from "../errors.ts";
import { BUDGET_METRICS, budgetScope, budgetWindow } from "../store/budget_kinds.ts";
import { bytesText, readCapped, TooLargeError } from "../readcap.ts";
import { type Env, expandHome, kanbanHome } from "./paths.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "./duration.ts";
import { MCP_PRESETS, PRESET_NAMES } from "../dispatch/presets/mod.ts";
import { defaultMaxWorkers, memTotal, type PressureLimits } from "../dispatch/pressure.ts";

/** The placeholders an argv template may use. */
export const PLACEHOLDERS = ["prompt", "task", "workspace", "run", "profile", "board", "kanban"];

export {
  GATE_PLACEHOLDERS,
  GATE_ROUNDS_DEFAULT,
  GATE_ROUNDS_MAX,
  GATE_TIMEOUT_DEFAULT_MS,
} from "../store/input.ts";
import { GATE_PLACEHOLDERS, GATE_ROUNDS_MAX } from "../store/input.ts";

export { MCP_PRESETS, PRESET_NAMES, type PresetName } from "../dispatch/presets/mod.ts";

/** The placeholders a prompt template (`prompt`, `prompt_file`) may use. */
export const PROMPT_PLACEHOLDERS = ["context", "protocol"];
const KNOWN_PLACEHOLDERS = PROMPT_PLACEHOLDERS.map((p) => `{${p}}`).join(", ");

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * duration is a setting written `"90s"`, `"2h"` or as a number of seconds, returned in ms,
 * and at most `maxSeconds`: every setting has a limit past which a pass cannot use it (a
 * timer over 2^31-1 ms fires at once, a deadline past the year 275760 is no date) or that
 * no board needs (docs/configuration.md gives each limit and why). The error quotes the value
 * as written, after the file and key.
 */
function duration(maxSeconds: number) {
  return z.union([z.string(), z.number().int().positive()]).transform((v, ctx) => {
    let seconds: number;
    try {
      seconds = typeof v === "number" ? v : parseDuration(v);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
    if (seconds > maxSeconds) {
      ctx.addIssue({
        code: "custom",
        message: `${JSON.stringify(v)} is longer than the maximum ${formatDuration(maxSeconds)}`,
      });
      return z.NEVER;
    }
    return seconds * 1000;
  });
}

/** size is a setting written `"10MB"` or as a number of bytes, between min and max bytes. */
function size(minBytes: number, maxBytes: number) {
  return z.union([z.string(), z.number().int().positive()]).transform((v, ctx) => {
    let bytes: number;
    try {
      bytes = typeof v === "number" ? v : parseSize(v);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
    const bound = bytes < minBytes
      ? `smaller than the minimum ${formatSize(minBytes)}`
      : bytes > maxBytes
      ? `larger than the maximum ${formatSize(maxBytes)}`
      : null;
    if (bound !== null) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(v)} is ${bound}` });
      return z.NEVER;
    }
    return bytes;
  });
}

/**
 * LIMITS: the longest value of each duration setting, in seconds (docs/configuration.md).
 * A run's own limits are compared with a clock, never set as timers, so they may be long;
 * the settings that are timers or leases stay far below 2^31-1 ms (24.8 days).
 */
export const LIMITS = {
  /** A timer; board writes wake the dispatcher anyway. */
  poll_interval: HOUR,
  /** Renewed while a worker lives: a long lease only delays the recovery of a lost run. */
  lease: DAY,
  /** A crashed dispatcher's board waits this long for a standby to take over. */
  dispatcher_lease: HOUR,
  backoff: DAY,
  max_backoff: 7 * DAY,
  /** Shutdown waits this long for a worker's group; service managers stop waiting sooner. */
  stop_grace: 10 * MINUTE,
  exit_grace: HOUR,
  max_runtime: 30 * DAY,
  stall_timeout: 30 * DAY,
} as const;

/**
 * log_max_bytes: under 1 KB nearly every line rotates the log; over 128 MB a run's log (two
 * parts) no longer fits the one string the dispatcher reads usage from when the run ends.
 */
export const LOG_MAX_BYTES = { min: 1024, max: 128 * 1024 ** 2 } as const;

const argv = z.array(z.string()).min(1, "must name a program").superRefine((args, ctx) => {
  for (const a of args) {
    for (const m of a.matchAll(/\{([a-z_]+)\}/g)) {
      if (!PLACEHOLDERS.includes(m[1]!)) {
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder {${m[1]}} (known: ${
            PLACEHOLDERS.map((p) => `{${p}}`).join(", ")
          })`,
        });
      }
    }
  }
});

/** unknownPlaceholders lists the `{name}` placeholders in `text` that are not in `known`. */
function unknownPlaceholders(text: string, known: string[]): string[] {
  return [...text.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!).filter((n) => !known.includes(n));
}

/** A worker's memory limit (memory_limit): at least 16 MB, at most 1 TB. */
export const MEMORY_LIMIT = { min: 16 * 1024 ** 2, max: 1024 ** 4 } as const;

/**
 * min_free_memory: `"10%"` (of MemTotal), a size (`"2GB"`, or bytes), or 0 (off); returned as
 * PressureLimits["min_free_memory"].
 */
const minFreeMemory = z.union([z.string(), z.number().int().nonnegative()]).transform(
  (v, ctx): PressureLimits["min_free_memory"] => {
    if (v === 0 || v === "0") return null;
    if (typeof v === "number") return { bytes: v };
    const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(v.trim());
    if (pct) {
      const percent = Number(pct[1]);
      if (percent >= 100) {
        ctx.addIssue({ code: "custom", message: `"${v}" must be under 100% (0 turns it off)` });
        return z.NEVER;
      }
      return percent === 0 ? null : { percent };
    }
    try {
      return { bytes: parseSize(v) };
    } catch {
      ctx.addIssue({
        code: "custom",
        message: `"${v}" is neither a share of memory (like "10%") nor a size (like "2GB")`,
      });
      return z.NEVER;
    }
  },
);

/** A gate's argv: a program and its arguments, with only GATE_PLACEHOLDERS. */
const gateArgv = z.array(z.string()).min(1, "must name a program").superRefine((args, ctx) => {
  for (const a of args) {
    for (const name of unknownPlaceholders(a, GATE_PLACEHOLDERS)) {
      ctx.addIssue({
        code: "custom",
        message: `unknown placeholder {${name}} (known in a gate: ${
          GATE_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")
        })`,
      });
    }
  }
});

/** The longest a completion gate may run (gate_timeout): a day. */
export const GATE_TIMEOUT_MAX = DAY;

/** The longest profile description (the board's roster takes as much: lib/store/plans.ts). */
export const DESCRIPTION_MAX = 300;

/** The most rounds of review a profile may give (the board takes as many: lib/store/reviews.ts). */
export const REVIEW_ROUNDS_MAX = 20;

const Profile = z.object({
  /** One line: what the profile is good at, for the orchestrator that plans work. */
  description: z.string().max(DESCRIPTION_MAX, {
    message: `at most ${DESCRIPTION_MAX} characters (one line: what it is good at)`,
  }).refine((s) => !/[\r\n]/.test(s), { message: "one line (no line breaks)" }).optional(),
  preset: z.enum(PRESET_NAMES).optional(),
  command: argv.optional(),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  max_concurrent: z.number().int().positive().default(1),
  max_runtime: duration(LIMITS.max_runtime).optional(),
  stall_timeout: duration(LIMITS.stall_timeout).optional(),
  prompt: z.string().optional(),
  prompt_file: z.string().min(1).optional(),
  mcp: z.boolean().default(false),
  /** The profile whose worker reviews this profile's work (lib/store/reviews.ts). */
  reviewer: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, "is not a profile name")
    .optional(),
  /** Rounds of review before a person decides. */
  review_rounds: z.number().int("a whole number").min(1, "at least 1").max(
    REVIEW_ROUNDS_MAX,
    `at most ${REVIEW_ROUNDS_MAX}`,
  ).optional(),
  /** A person approves this profile's work last (after its reviewer, if any). */
  require_approval: z.boolean().default(false),
  /** A command that must succeed before this profile's tasks reach done (docs/gates.md). */
  gate: gateArgv.optional(),
  /** How long the gate may run (GATE_TIMEOUT_DEFAULT_MS when unset), in ms. */
  gate_timeout: duration(GATE_TIMEOUT_MAX).optional(),
  /** Failed gates that send the task back to its worker before it is blocked. */
  gate_rounds: z.number().int("a whole number").min(1, "at least 1").max(
    GATE_ROUNDS_MAX,
    `at most ${GATE_ROUNDS_MAX}`,
  ).optional(),
  /** The memory.max of each of this profile's workers' cgroups (dispatch.memory_limit otherwise). */
  memory_limit: size(MEMORY_LIMIT.min, MEMORY_LIMIT.max).optional(),
}).strict().refine((p) => (p.preset === undefined) !== (p.command === undefined), {
  message: "give exactly one of preset or command",
}).refine(
  (p) => p.gate !== undefined || (p.gate_timeout === undefined && p.gate_rounds === undefined),
  {
    message: "gate_timeout and gate_rounds need a gate",
  },
).refine((p) => p.prompt === undefined || p.prompt_file === undefined, {
  message: "give at most one of prompt or prompt_file",
}).refine((p) => !p.mcp || (MCP_PRESETS as readonly string[]).includes(p.preset ?? ""), {
  message: `mcp = true works with the presets ${
    MCP_PRESETS.join(", ")
  }; other agent CLIs read MCP servers from their own config files (docs/agents.md)`,
}).superRefine((p, ctx) => {
  for (const name of unknownPlaceholders(p.prompt ?? "", PROMPT_PLACEHOLDERS)) {
    ctx.addIssue({
      code: "custom",
      path: ["prompt"],
      message: `unknown placeholder {${name}} (known: ${KNOWN_PLACEHOLDERS})`,
    });
  }
});

const Dispatch = z.object({
  /**
   * This host's identity on the board (default: its hostname): one dispatcher per host runs,
   * and a host judges by pid only the workers of runs that name it.
   */
  host: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._:@-]+$/, {
    message: "letters, digits and . _ : @ - only",
  }).optional(),
  /** The labels this host offers: it claims only tasks whose `needs` are all among them. */
  labels: z.array(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, {
      message: "a label is letters, digits and . _ - (at most 100)",
    }),
  ).max(50).default([]),
  /** Workers at once on this host; unset: one per 2 GiB of MemTotal, 1 to 8 (pressure.ts). */
  max_workers: z.number().int().positive().optional(),
  /** New workers wait while less memory than this is free, swap in use counted against it. */
  min_free_memory: minFreeMemory.prefault("10%"),
  /** New workers wait while the 1-minute load average per core is above this (0: off). */
  max_load: z.number().nonnegative().default(4).transform((n) => n === 0 ? null : n),
  /** The memory.max of each worker's cgroup (where workers run in one); unset: no limit. */
  memory_limit: size(MEMORY_LIMIT.min, MEMORY_LIMIT.max).optional(),
  poll_interval: duration(LIMITS.poll_interval).prefault("2s"),
  lease: duration(LIMITS.lease).prefault("120s"),
  dispatcher_lease: duration(LIMITS.dispatcher_lease).prefault("15s"),
  failure_limit: z.number().int().positive().default(3),
  backoff: duration(LIMITS.backoff).prefault("30s"),
  max_backoff: duration(LIMITS.max_backoff).prefault("3600s"),
  stop_grace: duration(LIMITS.stop_grace).prefault("10s"),
  max_runtime: duration(LIMITS.max_runtime).prefault("7200s"),
  stall_timeout: duration(LIMITS.stall_timeout).prefault("900s"),
  exit_grace: duration(LIMITS.exit_grace).prefault("30s"),
  transient_exit_code: z.number().int().min(1).max(255).default(75),
  /**
   * Retries of a rate limit, quota or failed sign-in in a row, at the end of a running worker's
   * output, after which its CLI counts as stuck on it: the worker is stopped and its profile
   * held (lib/dispatch/quota.ts).
   */
  quota_retries: z.number().int().min(1).max(20).default(3),
  /**
   * How workers are contained so that nothing they start outlives their run: "auto" (a cgroup
   * v2 per run where the host allows it, else the process group), "cgroup" (refuse to start
   * without), "group" (the process group, plus the run's token in the environment).
   */
  containment: z.enum(["auto", "cgroup", "group"]).default("auto"),
  /**
   * How workers reach the board: "direct" (they open the board file themselves) or "socket"
   * (through this dispatcher's unix socket, with their run's token: lib/dispatch/
   * worker_socket.ts). Default: direct for a board file, socket for a server database, whose
   * URL holds its password (direct is refused there).
   */
  worker_access: z.enum(["direct", "socket"]).optional(),
  workspaces: z.string().optional(),
  logs: z.string().optional(),
  log_max_bytes: size(LOG_MAX_BYTES.min, LOG_MAX_BYTES.max).prefault("10MB"),
  repository: z.string().optional(),
}).strict().superRefine((d, ctx) => {
  // The dispatcher renews its runs' leases during passes, and between passes on an idle board
  // it sleeps poll_interval: a longer sleep than the lease lets every run's lease lapse.
  if (d.poll_interval > d.lease) {
    ctx.addIssue({
      code: "custom",
      path: ["poll_interval"],
      message: `${formatDuration(d.poll_interval / 1000)} is longer than dispatch.lease (${
        formatDuration(d.lease / 1000)
      }): the runs' leases would lapse between passes (keep it under a third of lease)`,
    });
  }
});

/**
 * Decomposition (docs/decompose.md): which profile makes plans, who reviews their results,
 * whether a person approves a plan first, and whether triage tasks are decomposed unasked.
 */
const Decompose = z.object({
  /** The orchestrator profile (default: the profile named "orchestrator", if there is one). */
  profile: z.string().min(1).optional(),
  review: z.enum(["orchestrator", "person"]).default("person"),
  approval: z.boolean().default(false),
  /** Decompose every unassigned triage task of the board that no one touched for `settle`. */
  auto: z.boolean().default(false),
  /** How long a triage task rests untouched before it is decomposed unasked. */
  settle: duration(30 * DAY).prefault("5m"),
}).strict();

/**
 * ATTACHMENT_SIZES: the caps on attachments (lib/store/attachments.ts checks them). One file
 * at most 48 MiB: its export line, in base64, stays under what an import reads per line.
 */
export const ATTACHMENT_SIZES = {
  max: 48 * 1024 ** 2,
  taskMax: 100 * 48 * 1024 ** 2,
} as const;

/** [attachments]: the size caps of the files attached to tasks. */
const Attachments = z.object({
  /** The largest attachment. */
  max_bytes: size(1, ATTACHMENT_SIZES.max).prefault("25MB"),
  /** The most bytes of all of one task's attachments together. */
  task_max_bytes: size(1, ATTACHMENT_SIZES.taskMax).prefault("100MB"),
}).strict();

/** attachmentLimits is the [attachments] section as the store's caps (AttachmentLimits). */
export function attachmentLimits(
  a: z.output<typeof Attachments>,
): { maxBytes: number; taskMaxBytes: number } {
  return { maxBytes: a.max_bytes, taskMaxBytes: a.task_max_bytes };
}

/**
 * A budget declared in config.toml (docs/budgets.md): the same fields as `kanban budget add`,
 * its scope and window written as on the command line. A dispatcher puts it on the board.
 */
/** readable checks a string with `read` (which throws on what it cannot read), as `message`. */
const readable = (read: (text: string) => unknown, message: string) =>
  z.string().refine((text) => {
    try {
      read(text);
      return true;
    } catch {
      return false;
    }
  }, message);

const BudgetConfig = z.strictObject({
  scope: readable(budgetScope, "board, profile:NAME, tenant:NAME or task:ID"),
  metric: z.enum(BUDGET_METRICS),
  cap: z.number().positive("cap must be above 0"),
  window: readable(budgetWindow, "run, day, week, month, or hours like 5h"),
  soft: z.boolean().default(false),
});
export type BudgetConfig = z.output<typeof BudgetConfig>;

const ConfigFile = z.object({
  dispatch: Dispatch.prefault({}),
  decompose: Decompose.prefault({}),
  attachments: Attachments.prefault({}),
  profiles: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, "bad profile name"), Profile)
    .default({}),
  budgets: z.record(z.string(), BudgetConfig).default({}),
}).strict();

export type Profile = z.output<typeof Profile>;
export type DecomposeConfig = z.output<typeof Decompose>;
export type DispatchConfig = Omit<z.output<typeof Dispatch>, "max_workers"> & {
  workspaces: string;
  logs: string;
  /** The cap in effect: config.toml's, or the one derived from the machine's memory. */
  max_workers: number;
  /** Where max_workers came from: config.toml, or the machine's memory (defaultMaxWorkers). */
  max_workers_from: "config" | "memory";
};
export interface Config {
  /** The file the settings came from, or null when there is none (defaults). */
  path: string | null;
  dispatch: DispatchConfig;
  decompose: DecomposeConfig;
  attachments: z.output<typeof Attachments>;
  profiles: Record<string, Profile>;
  /** Budgets declared in the file, by name (checked whole by the store when put on the board). */
  budgets: Record<string, BudgetConfig>;
}

/** ConfigError is a config.toml problem; its message names file, key and problem. */
export class ConfigError extends KanbanError {
  constructor(message: string) {
    super("config", message);
  }
}

export function configPath(env: Env): string {
  return env["KANBAN_CONFIG"] || join(kanbanHome(env), "config.toml");
}

/**
 * parseConfig validates config text; `file` names it in errors. `machineMemory` gives the
 * host's MemTotal for the default max_workers (tests pass their own).
 */
export function parseConfig(
  text: string,
  file: string,
  env: Env,
  machineMemory: () => number | null = memTotal,
): Config {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  const r = ConfigFile.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues.map((i) => {
      const key = i.path.join(".") || "(top level)";
      const msg = i.code === "unrecognized_keys"
        ? `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => `"${k}"`).join(", ")}`
        : i.message;
      return `${file}: ${key}: ${msg}`;
    });
    throw new ConfigError(first.join("; "));
  }
  const home = kanbanHome(env);
  const expand = (p: string) => resolve(expandHome(p, env));
  const profiles: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(r.data.profiles)) {
    if (p.reviewer === name) {
      throw new ConfigError(
        `${file}: profiles.${name}.reviewer: a profile cannot review its own work (name another)`,
      );
    }
    profiles[name] = p.prompt_file === undefined
      ? p
      : { ...p, prompt: readPromptFile(file, `profiles.${name}.prompt_file`, p.prompt_file, env) };
  }
  return {
    path: file,
    dispatch: {
      ...r.data.dispatch,
      max_workers: r.data.dispatch.max_workers ?? defaultMaxWorkers(machineMemory()),
      max_workers_from: r.data.dispatch.max_workers === undefined ? "memory" : "config",
      workspaces: expand(r.data.dispatch.workspaces ?? join(home, "workspaces")),
      logs: expand(r.data.dispatch.logs ?? join(home, "logs")),
      ...(r.data.dispatch.repository ? { repository: expand(r.data.dispatch.repository) } : {}),
    },
    decompose: r.data.decompose,
    attachments: r.data.attachments,
    profiles,
    budgets: r.data.budgets,
  };
}

/**
 * readPromptFile reads a profile's prompt template: `~` is the home directory and a relative
 * path is relative to the config file's folder. It is read once, when the config is loaded.
 */
function readPromptFile(file: string, key: string, path: string, env: Env): string {
  const full = resolve(dirname(resolve(file)), expandHome(path, env));
  let text: string;
  try {
    text = readCapped(full, PROMPT_FILE_MAX_BYTES, `"${full}"`);
  } catch (err) {
    if (err instanceof TooLargeError) {
      throw new ConfigError(
        `${file}: ${key}: "${full}" is larger than ${
          bytesText(err.limit)
        }, the largest prompt template`,
      );
    }
    throw new ConfigError(`${file}: ${key}: cannot read "${full}": ${(err as Error).message}`);
  }
  const unknown = unknownPlaceholders(text, PROMPT_PLACEHOLDERS);
  if (unknown.length > 0) {
    throw new ConfigError(
      `${file}: ${key}: "${full}" has unknown placeholder {${
        unknown[0]
      }} (known: ${KNOWN_PLACEHOLDERS})`,
    );
  }
  return text;
}

/** The largest config file and prompt template read (both are read whole, when loaded). */
export const CONFIG_MAX_BYTES = 1024 * 1024;
export const PROMPT_FILE_MAX_BYTES = 1024 * 1024;

/** loadConfig reads `$KANBAN_CONFIG` or `<home>/config.toml`; a missing file means defaults. */
export function loadConfig(env: Env, path = configPath(env)): Config {
  if (!existsSync(path)) return { ...parseConfig("", path, env), path: null };
  let text: string;
  try {
    text = readCapped(path, CONFIG_MAX_BYTES, `"${path}"`);
  } catch (err) {
    if (err instanceof TooLargeError) {
      throw new ConfigError(`${path}: larger than ${bytesText(err.limit)}: not a config file`);
    }
    throw new ConfigError(`${path}: cannot read it: ${(err as Error).message}`); // a folder, say
  }
  return parseConfig(text, path, env);
}

/** SAMPLE_CONFIG is what `kanban init` writes: every setting, commented. */
export const SAMPLE_CONFIG = `# kanban configuration. Durations: 90s, 30m, 2h. Sizes: 512KB, 10MB.
# Reference: docs/configuration.md

[dispatch]
# host = "build-1"           # this host's identity on the board (default: its hostname)
# labels = ["macos", "gpu"]  # what this host offers: tasks created with --needs run only here
# max_workers = 4            # workers at once on this host, all profiles together
#                            # (unset: one per 2GB of memory, 1 to 8)
# min_free_memory = "10%"    # new workers wait while less memory is free (swap in use counts
#                            # against it): a share of memory, a size ("2GB"), or 0 (off)
# max_load = 4               # new workers wait while the 1-minute load per core is above (0: off)
# memory_limit = "4GB"       # memory.max of each worker's cgroup, where workers run in one
# poll_interval = "2s"       # timer wake-up; any board write wakes the dispatcher at once
# lease = "2m"               # a run's lease; heartbeats and a live, progressing worker renew it
# dispatcher_lease = "15s"   # one dispatcher per host runs; a standby takes over after this
# failure_limit = 3          # consecutive failed attempts before a task is blocked
# backoff = "30s"            # wait before retry n: backoff * 2^(n-1), at most max_backoff
# max_backoff = "1h"
# stop_grace = "10s"         # SIGTERM to the worker's process group, then SIGKILL after this
# max_runtime = "2h"         # default per run (a task's --max-runtime wins)
# stall_timeout = "15m"      # no output and no heartbeat for this long: stopped as stalled
# exit_grace = "30s"         # a worker that reported but keeps running is stopped after this
# transient_exit_code = 75   # exit code meaning "retry later", not counted as a failure
# quota_retries = 3          # a running CLI that retries a 429, quota or 401 this many times in
#                            # a row is stopped and its profile held (docs/quotas.md)
# containment = "auto"       # auto | cgroup | group: a cgroup v2 per run where the host allows it
# worker_access = "direct"   # direct | socket: how workers reach the board (default: direct for a
#                            # board file, socket for PostgreSQL: workers never get its password)
# workspaces = "~/.kanban/workspaces"
# logs = "~/.kanban/logs"
# log_max_bytes = "10MB"     # a run's log is rotated (one old part kept) past this size
# repository = "/srv/repo"   # git repository for tasks created with --workspace worktree

# Files attached to tasks (kanban attach) are kept in the board, for every host.
# [attachments]
# max_bytes = "25MB"          # the largest attachment (at most 48MB)
# task_max_bytes = "100MB"    # all of one task's attachments together

# A profile says how a worker starts for tasks assigned to it (kanban create --assignee NAME).
# Use a preset (claude-code, codex, copilot, gemini, hermes, opencode, qwen) or your own command.
# Placeholders: {prompt} {task} {workspace} {run} {profile} {board} {kanban}

# Decomposition (docs/decompose.md): kanban decompose ID asks an orchestrator profile to split
# a triage task into a plan of tasks for the profiles below (each profile's description says
# what it is good at). Nothing is decomposed unless asked, or unless auto is on.
# [decompose]
# profile = "orchestrator"   # the profile that makes plans (default: one named orchestrator)
# review = "person"          # person | orchestrator: who reviews once the plan's tasks are done
# approval = false           # a person approves each plan before any of its tasks runs
# auto = false               # decompose unassigned triage tasks unasked, once untouched for settle
# settle = "5m"

# [profiles.coder]
# description = "writes and tests TypeScript"  # one line, for the orchestrator's roster
# preset = "claude-code"
# args = ["--model", "sonnet"]  # appended to the preset's argv
# max_concurrent = 2
# max_runtime = "1h"
# stall_timeout = "10m"
# memory_limit = "4GB"          # memory.max of each of its workers' cgroups
# env = { ANTHROPIC_LOG = "error" }
# mcp = true                    # also hand the CLI kanban's MCP server (every preset but hermes)
# prompt_file = "coder.md"      # own prompt template, {context} and {protocol} replaced
#                               # (relative to this file; or prompt = "..."; docs/agents.md)
# reviewer = "critic"           # critic's workers review coder's work (docs/review.md)
# review_rounds = 3             # rounds of review before a person decides
# require_approval = false      # true: a person approves last
# gate = ["sh", "-c", "gh pr checks"]  # must succeed before a task is done (docs/gates.md)
# gate_timeout = "10m"
# gate_rounds = 3               # failed gates before the task is blocked

# [profiles.script]
# command = ["/usr/local/bin/my-agent", "--task", "{task}", "--prompt", "{prompt}"]
# max_concurrent = 4

# Budgets this host declares (docs/budgets.md); the dispatcher puts them on the board.
# [budgets.coder-5h]
# scope = "profile:coder"       # board, profile:NAME, tenant:NAME or task:ID
# metric = "tokens"             # tokens, input_tokens, ..., cost_usd, runs, wall_seconds
# cap = 2_000_000
# window = "5h"                 # run, day, week, month, or hours like 5h (rolling)
# soft = false                  # true: warn only
`;
