/**
 * `kanban gc`: removes what long-finished tasks leave behind: the scratch folders and git
 * worktrees of archived tasks (never a shared `dir:` workspace), their run log folders and
 * attachments, run logs older than the cutoff, and the events of finished tasks (see
 * Store.pruneEvents and Store.pruneAttachments).
 * Made for cron: silent on success, errors on stderr and exit code 1.
 */
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "../../config/config.ts";
import { boardKey, resolveBoard } from "../../config/paths.ts";
import { removeWorkspace, workspacePath } from "../../workspace/workspace.ts";
import type { GcCandidate, Store } from "../../store/mod.ts";
import { type CliContext, globals, session } from "../context.ts";
import { emit, ReportedError } from "../output.ts";
import { parseDuration } from "../parse.ts";

const DEFAULT_OLDER_THAN = "30d";

/** age reads `--older-than`: a duration, or 0 for "everything finished up to now". */
function age(text: string): number {
  return text.trim() === "0" ? 0 : parseDuration(text) * 1000;
}

export interface GcReport {
  dry_run: boolean;
  /** Tasks finished at or before this time were collected. */
  cutoff: string;
  /** Finished (done or archived) tasks past the cutoff. */
  tasks: number;
  /** Workspaces (scratch folders, worktrees) removed. */
  workspaces: number;
  /** Run log files (logs, rotated parts, prompts) removed. */
  logs: number;
  /** Events removed. */
  events: number;
  /** Attachments of archived tasks removed, and their bytes. */
  attachments: number;
  attachment_bytes: number;
  /** What could not be removed (gc goes on with the rest and exits 1). */
  errors: string[];
}

interface Sweep {
  dryRun: boolean;
  removed: string[];
  errors: string[];
}

function attempt(sw: Sweep, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    sw.errors.push(`cannot remove ${what}: ${(err as Error).message}`);
  }
}

/** Workspaces of archived tasks; a task unarchived since the candidates were read is skipped. */
async function sweepWorkspaces(
  store: Store,
  tasks: GcCandidate[],
  settings: { root: string; repository?: string | undefined },
  sw: Sweep,
): Promise<number> {
  let n = 0;
  for (const t of tasks) {
    if (t.status !== "archived" || t.workspace.startsWith("dir:")) continue;
    const path = workspacePath(t.workspace, t.id, settings);
    if (!existsSync(path)) continue;
    if (sw.dryRun) {
      sw.removed.push(path);
      n++;
      continue;
    }
    if ((await store.getTask(t.id)).status !== "archived") continue;
    attempt(sw, `workspace ${path} of ${t.id}`, () => {
      if (removeWorkspace(t.workspace, t.id, settings) !== null) {
        sw.removed.push(path);
        n++;
      }
    });
  }
  return n;
}

const TASK_DIR = /^t_[0-9a-f]{8}$/;
/** A run's files: `run-<id>.log`, its rotated part `run-<id>.log.1`, `run-<id>.prompt.md`. */
const RUN_FILE = /^run-(\d+)\./;

/**
 * Run logs under `<logs>/<board>/<task>/`: the whole folder of an archived candidate, and
 * elsewhere each run file last written at or before the cutoff, unless its run is still open.
 */
function sweepLogs(
  root: string,
  archived: Set<string>,
  openRuns: Set<string>,
  cutoffMs: number,
  sw: Sweep,
): number {
  if (!existsSync(root)) return 0;
  let n = 0;
  for (const dir of readdirSync(root)) {
    if (!TASK_DIR.test(dir)) continue;
    const folder = join(root, dir);
    let files: string[];
    try {
      files = readdirSync(folder);
    } catch {
      continue; // not a folder, or gone meanwhile
    }
    if (archived.has(dir)) {
      attempt(sw, `log folder ${folder}`, () => {
        if (!sw.dryRun) rmSync(folder, { recursive: true, force: true });
        sw.removed.push(folder);
        n += files.length;
      });
      continue;
    }
    let left = files.length;
    for (const name of files) {
      const run = RUN_FILE.exec(name);
      if (!run || openRuns.has(`${dir}/${Number(run[1])}`)) continue;
      const file = join(folder, name);
      attempt(sw, `log ${file}`, () => {
        if (statSync(file).mtimeMs > cutoffMs) return;
        if (!sw.dryRun) rmSync(file, { force: true });
        sw.removed.push(file);
        n++;
        left--;
      });
    }
    if (left === 0 && !sw.dryRun) {
      try {
        rmdirSync(folder); // only when empty: a new run may have just started writing here
      } catch {
        // not empty after all: keep it
      }
    }
  }
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  program.command("gc")
    .description(
      "remove workspaces, logs and attachments of archived tasks, old run logs, and events of finished tasks",
    )
    .option("--dry-run", "report what would be removed; change nothing")
    .option(
      "--older-than <age>",
      `only what finished (or was last written) this long ago (default ${DEFAULT_OLDER_THAN}; 0 = up to now)`,
      age,
    )
    .option("--verbose", "print what was removed and a summary")
    .option("--config <path>", "config file (default: $KANBAN_CONFIG or <home>/config.toml)")
    .action(async (opts, cmd) => {
      const config = loadConfig(ctx.env, opts.config);
      const board = resolveBoard(globals(cmd), ctx.env, ctx.cwd);
      using s = session(ctx, cmd);
      const dryRun = opts.dryRun === true;
      const olderThan = opts.olderThan ?? age(DEFAULT_OLDER_THAN);
      const key = boardKey(board);
      const candidates = await s.store.gcCandidates(olderThan);
      const archived = candidates.tasks.filter((t) => t.status === "archived");
      const sw: Sweep = { dryRun, removed: [], errors: [] };

      const workspaces = await sweepWorkspaces(s.store, archived, {
        root: join(config.dispatch.workspaces, key),
        repository: config.dispatch.repository,
      }, sw);
      const openRuns = new Set((await s.store.openRuns()).map((r) => `${r.task_id}/${r.id}`));
      const logs = sweepLogs(
        join(config.dispatch.logs, key),
        new Set(archived.map((t) => t.id)),
        openRuns,
        Date.parse(candidates.cutoff),
        sw,
      );
      const pruned = await s.store.pruneEvents(olderThan, dryRun);
      const files = await s.store.pruneAttachments(olderThan, dryRun);
      const report: GcReport = {
        dry_run: dryRun,
        cutoff: candidates.cutoff,
        tasks: candidates.tasks.length,
        workspaces,
        logs,
        events: pruned.events,
        attachments: files.attachments,
        attachment_bytes: files.bytes,
        errors: sw.errors,
      };

      for (const e of sw.errors) ctx.stderr(`kanban: gc: ${e}\n`);
      if (s.json || opts.verbose || dryRun) {
        const verb = dryRun ? "would remove" : "removed";
        emit(ctx, s.json, report, () =>
          [
            ...(opts.verbose ? sw.removed.map((p) => `${verb} ${p}`) : []),
            `${
              dryRun ? "dry run: " : ""
            }${verb} ${workspaces} workspace(s), ${logs} log file(s), ` +
            `${report.attachments} attachment(s) and ${report.events} event(s) ` +
            `(${report.tasks} task(s) finished by ${report.cutoff})`,
          ].join("\n"));
      }
      if (sw.errors.length > 0) {
        throw new ReportedError(`gc could not remove ${sw.errors.length} item(s)`);
      }
    });
}
