/**
 * The supervision services, in the order a pass runs them after the lease service (which
 * gates the pass: a standby dispatcher runs nothing else). To add one: a new file here with a
 * class implementing `Service` (its name, `runOnce(now)` and its report, a part of PassReport),
 * built from what it needs in `passServices()` below, at its place in the list.
 */
import type { BoardRef, Env } from "../../config/paths.ts";
import type { Store } from "../../store/mod.ts";
import { AdoptService } from "./adopt.ts";
import { BudgetService } from "./budgets.ts";
import { DecomposeService } from "./decompose.ts";
import { FillService } from "./fill.ts";
import { HoldService } from "./hold.ts";
import { LivenessService } from "./liveness.ts";
import { NotifyService } from "./notify.ts";
import { PromoteService } from "./promote.ts";
import { QueueService } from "./queue.ts";
import { QuotaService } from "./quota.ts";
import { ReapService } from "./reap.ts";
import { RoutinesService } from "./routines.ts";
import type { Clock, ConfigSource, Service } from "./service.ts";
import type { WorkerTable } from "./workers.ts";
import type { PressureReader } from "../pressure.ts";

export { LeaseService } from "./lease.ts";
export type { LeaseReport } from "./lease.ts";
export { type Clock, type Now, readNow, type Service } from "./service.ts";
export { type Worker, WorkerTable } from "./workers.ts";
export { HoldService, NotifyService, QueueService };

/** What the services of a pass are built from. */
export interface PassDeps {
  store: Store;
  config: ConfigSource;
  clock: Clock;
  workers: WorkerTable;
  board: BoardRef;
  host: string;
  kanbanBin: string;
  env?: Env | undefined;
  /** The dispatcher's worker socket (workers then get no board location), or null. */
  socket: string | null;
  draining: () => boolean;
  log: (line: string) => void;
  /** Reads the machine's memory and load (default: /proc; pressure.ts). */
  pressure?: PressureReader | undefined;
}

/** The services the dispatcher keeps a handle on (to settle or reset them). */
export interface Kept {
  notify: NotifyService;
  queue: QueueService;
  hold: HoldService;
}

/**
 * passServices builds the pass's services in their order: reap exited workers, adopt or end
 * runs without a known worker, watch liveness and renew leases, read the profiles' holds and
 * stop workers stuck on an account limit (holding their profile), fire due routines, promote due
 * tasks, hand settled triage tasks to the orchestrator (decompose.auto), judge the budgets
 * (stopping the runs of spent ones), claim and spawn within the caps, budgets and holds (unless the
 * machine is under pressure), record why ready tasks are held, report the
 * ready queue's missing profiles, start a notification round.
 */
export function passServices(deps: PassDeps): { list: Service[]; kept: Kept } {
  const { store, config, workers, log } = deps;
  const queue = new QueueService({ store, config });
  const budgets = new BudgetService({ store, config, workers, host: deps.host, log });
  const quota = new QuotaService({ store, config, workers, host: deps.host, log });
  const notify = new NotifyService({ store, clock: deps.clock, log });
  const fill = new FillService({
    store,
    config,
    workers,
    board: deps.board,
    host: deps.host,
    kanbanBin: deps.kanbanBin,
    env: deps.env,
    socket: deps.socket,
    draining: deps.draining,
    log,
    pressure: deps.pressure,
    budgets: budgets.gate,
    quota: quota.gate,
  });
  const hold = new HoldService({
    store,
    config,
    workers,
    host: deps.host,
    pressure: () => fill.pressure,
    draining: deps.draining,
    quota: quota.gate,
  });
  const list: Service[] = [
    new ReapService({
      store,
      config,
      workers,
      host: deps.host,
      log,
      quota: quota.gate,
      gates: { board: deps.board, socket: deps.socket, kanbanBin: deps.kanbanBin, env: deps.env },
    }),
    new AdoptService({ store, config, workers, host: deps.host, log }),
    new LivenessService({ store, config, workers }),
    quota,
    new RoutinesService({ store, log }),
    new PromoteService({ store }),
    new DecomposeService({ store, config, log }),
    budgets,
    fill,
    hold,
    queue,
    notify,
  ];
  return { list, kept: { notify, queue, hold } };
}
