/**
 * `kanban status`: the health of the board's dispatching: dispatchers and their last pass,
 * running workers, caps in use, the ready queue, and warnings worth a person's attention.
 */
import { statSync } from "node:fs";
import type { Command } from "@commander-js/extra-typings";
import { type Config, loadConfig } from "../../config/config.ts";
import { PRESETS } from "../../dispatch/profiles.ts";
import { findProgram } from "../../dispatch/spawn.ts";
import { KanbanError } from "../../store/mod.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";

const ago = (iso: string | null, now: number) =>
  iso === null ? null : Math.max(0, Math.round((now - Date.parse(iso)) / 1000));

export function register(program: Command, ctx: CliContext): void {
  program.command("status")
    .description("dispatcher health: dispatchers, workers, caps, queue, warnings")
    .action(async (_opts, cmd) => {
      using s = session(ctx, cmd);
      const now = ctx.now();
      const warnings: string[] = [];
      let config: Config | null = null;
      try {
        config = loadConfig(ctx.env);
      } catch (err) {
        warnings.push(`config: ${err instanceof KanbanError ? err.message : String(err)}`);
      }
      const dispatchers = (await s.store.dispatchers()).map((d) => ({
        ...d,
        last_tick_age_s: ago(d.last_tick, now),
        holds_board: d.active && d.lease_expires !== null && Date.parse(d.lease_expires) > now,
      }));
      const runs = await s.store.openRuns();
      const workers = await Promise.all(runs.map(async (r) => {
        const task = await s.store.getTask(r.task_id);
        let lastOutput: string | null = null;
        try {
          if (r.log_path) lastOutput = statSync(r.log_path).mtime.toISOString();
        } catch { /* no log yet */ }
        return {
          run: r.id,
          task: r.task_id,
          title: task.title,
          profile: r.profile,
          pid: r.pid,
          host: r.host,
          started_at: r.started_at,
          age_s: ago(r.started_at, now),
          last_output_at: lastOutput,
          heartbeat_at: r.heartbeat_at,
          lease_expires: r.lease_expires,
        };
      }));
      const queue = await s.store.readyQueue();
      const ready = queue.reduce((n, q) => n + q.ready, 0);
      const claimable = queue.reduce((n, q) => n + q.claimable, 0);
      const oldest = queue.map((q) => q.oldest_ready_at).filter((x): x is string => x !== null)
        .sort()[0] ?? null;
      const profiles = config?.profiles ?? {};
      const caps = {
        max_workers: config?.dispatch.max_workers ?? null,
        running: runs.length,
        profiles: Object.entries(profiles).map(([name, p]) => ({
          profile: name,
          running: runs.filter((r) => r.profile === name).length,
          max_concurrent: p.max_concurrent,
        })),
      };
      const active = dispatchers.find((d) => d.holds_board);
      if (!active && claimable > 0) {
        warnings.push(
          `${claimable} task(s) ready to run but no dispatcher holds this board (run "kanban dispatch")`,
        );
      }
      const poll = (config?.dispatch.poll_interval ?? 2000) / 1000;
      if (active && (active.last_tick_age_s ?? 0) > 3 * poll + 5) {
        warnings.push(
          `dispatcher ${active.id} has not completed a pass for ${active.last_tick_age_s}s`,
        );
      }
      const waited = ago(oldest, now);
      if (waited !== null && waited > 600 && claimable > 0) {
        warnings.push(
          `stuck queue: the oldest ready task has waited ${Math.round(waited / 60)} min`,
        );
      }
      for (const q of queue) {
        if (q.assignee === null) {
          warnings.push(`${q.ready} ready task(s) have no assignee, so no profile runs them`);
        } else if (config && !(q.assignee in profiles)) {
          warnings.push(
            `${q.ready} ready task(s) for "${q.assignee}", which has no profile in config.toml`,
          );
        }
      }
      for (const [name, p] of Object.entries(profiles)) {
        const program = p.command?.[0] ?? PRESETS[p.preset!][0]!;
        if (findProgram(program, ctx.env["PATH"] ?? "") === null) {
          warnings.push(`profile ${name}: command "${program}" is not found or not executable`);
        }
      }
      const tripped = (await s.store.listTasks({ statuses: ["blocked"] }))
        .filter((t) => /consecutive failed attempts/.test(t.blocked_reason ?? ""));
      for (const t of tripped) {
        warnings.push(`breaker tripped: ${t.id} (${t.assignee ?? "-"}): ${t.blocked_reason}`);
      }
      // Notifications (lib/store/subscriptions.ts): a disabled subscription needs a person.
      for (const sub of await s.store.listSubscriptions()) {
        if (sub.state !== "disabled") continue;
        warnings.push(
          `notification ${sub.id} (${sub.kind} ${sub.target}) disabled after ${sub.failures} ` +
            `failures: ${sub.last_error ?? "-"}; fix it, then "kanban notify enable ${sub.id}"`,
        );
      }
      const status = {
        board: s.store.path,
        dispatchers,
        workers,
        caps,
        queue: { ready, claimable, oldest_ready_at: oldest, by_assignee: queue },
        warnings,
      };
      emit(ctx, s.json, status, () => {
        const out: string[] = [`board ${status.board}`, ""];
        out.push(
          dispatchers.length === 0 ? "dispatchers: none seen in the last hour" : "dispatchers:",
        );
        for (const d of dispatchers) {
          out.push(
            `  ${d.id}  ${
              d.holds_board ? "active" : d.stopped_at ? "stopped" : "standby"
            }  last pass ${d.last_tick_age_s}s ago`,
          );
        }
        out.push("", `workers: ${runs.length}${caps.max_workers ? `/${caps.max_workers}` : ""}`);
        if (workers.length > 0) {
          out.push(table([
            ["  RUN", "TASK", "PROFILE", "PID", "AGE", "LAST OUTPUT", "TITLE"],
            ...workers.map((w) => [
              `  ${w.run}`,
              w.task,
              w.profile ?? "-",
              String(w.pid ?? "-"),
              `${w.age_s}s`,
              w.last_output_at ? `${ago(w.last_output_at, now)}s ago` : "-",
              w.title,
            ]),
          ]));
        }
        for (const p of caps.profiles) out.push(`  ${p.profile}: ${p.running}/${p.max_concurrent}`);
        out.push(
          "",
          `queue: ${ready} ready (${claimable} claimable now)${
            oldest ? `, oldest since ${oldest}` : ""
          }`,
        );
        out.push(
          "",
          warnings.length === 0 ? "no warnings" : "warnings:",
          ...warnings.map((w) => `  ! ${w}`),
        );
        return out.join("\n");
      });
    });
}
