/** `kanban dispatch`: the supervisor that claims ready tasks and runs their workers. */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hostname } from "node:os";
import process from "node:process";
import type { Command } from "@commander-js/extra-typings";
import { configPath, loadConfig } from "../../config/config.ts";
import { resolveBoard } from "../../config/paths.ts";
import { BoardGoneError, Dispatcher, type PassReport } from "../../dispatch/dispatcher.ts";
import { KanbanError } from "../../store/mod.ts";
import { selfBinary } from "../../runtime.ts";
import { WORKER_VARS } from "../../worker_env.ts";
import { type CliContext, globals, session, UsageError } from "../context.ts";
import { emit } from "../output.ts";
import { collect } from "../parse.ts";
import { DEFAULT_PORT, IDLE_TIMEOUT_HELP, parseIdleTimeout, parsePort, startWeb } from "./serve.ts";
import { shownLocation } from "../../store/shown.ts";

/** kanbanBinary is what workers call: $KANBAN_BIN, this binary, or the repo's dist/kanban. */
export function kanbanBinary(env: Record<string, string | undefined>): string {
  const fromEnv = env[WORKER_VARS.bin];
  if (fromEnv) return fromEnv;
  const self = selfBinary();
  if (self) return self;
  const dev = fileURLToPath(new URL("../../../dist/kanban", import.meta.url));
  if (existsSync(dev)) return dev;
  throw new UsageError(
    "Cannot tell which kanban binary workers should call: set KANBAN_BIN (or run scripts/build)",
  );
}

function passText(r: PassReport): string {
  const lines: string[] = [];
  if (r.dry_run) lines.push("dry run: nothing was changed");
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (!r.active && !r.dry_run) {
    lines.push(`standing by: dispatcher ${r.standby_for ?? "?"} runs for this host`);
  }
  for (const s of r.spawned) {
    lines.push(`started run ${s.run} for ${s.task} (${s.profile}, pid ${s.pid})`);
  }
  for (const s of r.would_spawn) lines.push(`would start ${s.task} (${s.profile}): ${s.title}`);
  for (const h of r.quota_held) {
    lines.push(
      `profile ${h.profile} held ${h.until === null ? "until released" : `until ${h.until}`}: ` +
        `${h.kind} (${h.reason})`,
    );
  }
  for (const s of r.spawn_failed) lines.push(`spawn failed for ${s.task}: ${s.error}`);
  for (const s of r.reaped) lines.push(`run ${s.run} (${s.task}) ended: ${s.outcome}`);
  for (const s of r.ended) lines.push(`run ${s.run} (${s.task}): ${s.outcome} (${s.reason})`);
  for (const s of r.adopted) {
    lines.push(`${r.dry_run ? "would adopt" : "adopted"} run ${s.run} (${s.task}), pid ${s.pid}`);
  }
  for (const s of r.stopping) lines.push(`stopping run ${s.run} (${s.task}): ${s.reason}`);
  for (const f of r.routines_fired) {
    lines.push(
      `routine ${f.routine} fired for ${f.occurrence}${f.catch_up ? " (catch-up)" : ""}: ` +
        f.tasks.join(", "),
    );
  }
  for (const f of r.routines_failed) lines.push(`routine ${f.routine} failed: ${f.error}`);
  for (const f of r.would_fire) {
    lines.push(`would fire routine ${f.routine} (due ${f.next_at}, catch-up ${f.catch_up})`);
  }
  if (r.promoted > 0) lines.push(`promoted ${r.promoted} scheduled task(s)`);
  for (const m of r.missing_profiles) {
    lines.push(
      `${m.ready} ready task(s) for ${
        m.assignee === null ? "no assignee" : `"${m.assignee}"`
      }: no profile in config.toml`,
    );
  }
  for (const c of r.capped) {
    lines.push(`profile ${c.profile} is at its cap (${c.running}/${c.max})`);
  }
  if (r.pressure?.held) lines.push(`holding new workers: ${r.pressure.detail}`);
  const from = r.max_workers_from === "memory" ? " (max_workers from the machine's memory)" : "";
  lines.push(`${r.workers}/${r.max_workers} workers${from}`);
  return lines.join("\n");
}

export function register(program: Command, ctx: CliContext): void {
  program.command("dispatch")
    .description("run the dispatcher: claim ready tasks and supervise their workers")
    .option("--once", "do one pass and exit (for cron)")
    .option("--dry-run", "report what a pass would do; change nothing")
    .option("--stop-workers", "on SIGTERM/SIGINT stop running workers instead of waiting for them")
    .option("--config <path>", "config file (default: $KANBAN_CONFIG or <home>/config.toml)")
    .option("--serve", "also serve the dashboard and HTTP API, as kanban serve does")
    .option("--host <addr>", "with --serve: address to bind", "127.0.0.1")
    .option("--port <n>", "with --serve: port (0: any free port)", parsePort, DEFAULT_PORT)
    .option("--public", "with --serve: allow a non-loopback address")
    .option("--allow-host <name>", "with --serve: also accept this Host name (repeatable)", collect)
    .option("--rotate-token", "with --serve: replace the board token (clients log in again)")
    .option("--idle-timeout <seconds>", `with --serve: ${IDLE_TIMEOUT_HELP}`, parseIdleTimeout)
    .action(async (opts, cmd) => {
      if (opts.serve && (opts.once || opts.dryRun)) {
        throw new UsageError("--serve goes with the long-running dispatcher, not --once/--dry-run");
      }
      const configFile = opts.config ?? configPath(ctx.env);
      const config = loadConfig(ctx.env, configFile);
      const board = resolveBoard(globals(cmd), ctx.env, ctx.cwd);
      using s = session(ctx, cmd);
      const log = (line: string) => ctx.stderr(`${new Date().toISOString()} ${line}\n`);
      const dispatcher = new Dispatcher({
        store: s.store,
        config,
        board,
        kanbanBin: kanbanBinary(ctx.env),
        env: ctx.env,
        dryRun: opts.dryRun === true,
        log,
        configFile,
        loadConfig: () => loadConfig(ctx.env, configFile),
        ...(config.dispatch.host !== undefined ? { host: config.dispatch.host } : {}),
        // cron runs `--once` every minute: one stable identity per host, not one per run
        ...(opts.once ? { id: `${config.dispatch.host ?? hostname()}:once` } : {}),
      });
      if (opts.once || opts.dryRun) {
        const report = await dispatcher.runOnce();
        await dispatcher.settle();
        dispatcher.detach();
        await dispatcher.closeSocket();
        if (opts.once && report.active) await s.store.releaseDispatchLease(dispatcher.id);
        emit(ctx, s.json, report, () => passText(report));
        return;
      }
      const stop = new AbortController();
      let signals = 0;
      const onSignal = (sig: string) => {
        signals++;
        if (signals === 1) {
          log(
            `${sig}: no new claims; ${
              opts.stopWorkers ? "stopping" : "waiting for"
            } ${dispatcher.workerCount} worker(s)`,
          );
          stop.abort();
          if (opts.stopWorkers) dispatcher.stopWorkers();
        } else {
          log(`${sig} again: stopping every worker now`);
          dispatcher.stopWorkers();
        }
      };
      const onTerm = () => onSignal("SIGTERM");
      const onInt = () => onSignal("SIGINT");
      process.on("SIGTERM", onTerm);
      process.on("SIGINT", onInt);
      // config.toml is also reloaded when it changes; SIGHUP forces it (e.g. a prompt_file edit)
      process.on("SIGHUP", () => dispatcher.reloadConfig());
      log(
        `dispatcher ${dispatcher.id} on ${shownLocation(board.path)} (${
          Object.keys(config.profiles).length
        } profile(s), config ${config.path ?? "defaults"})`,
      );
      log(`workers are contained by ${dispatcher.containment.why}`);
      for (const w of dispatcher.warnings) log(`warning: ${w}`);
      // One connection for both: the change feed sees the server's writes on it as well.
      const web = opts.serve ? await startWeb(ctx, board, opts, log, s.store) : null;
      if (web) log(`serving ${web.url}; log in (the link works once): ${web.loginUrl}`);
      try {
        await dispatcher.run(stop.signal, (r) => {
          if (s.json) ctx.stdout(`${JSON.stringify(r)}\n`);
        });
      } catch (err) {
        if (err instanceof BoardGoneError) throw new KanbanError("board_gone", err.message);
        throw err;
      } finally {
        // The handlers stay: removing one restores the default action, and a runtime may
        // still deliver a signal that arrived during shutdown, killing the process.
        await web?.stop();
        log("dispatcher stopped");
      }
    });
}
