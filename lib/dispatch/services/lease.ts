/**
 * The lease service: takes or renews this dispatcher's lease (one dispatcher per host runs;
 * others of the same host stand by) and the board's lead, and, leading, applies a step of the
 * wall clock to the board's deadlines. Only the leader moves deadlines, so a step is applied
 * once (lib/store/dispatchers.ts).
 *
 * Both decisions are made on this process's monotonic clock: a holder seen ticking within a
 * lease period keeps the board even if a wall-clock step makes its lease look expired, and one
 * not seen ticking for a lease period loses it even if a step back makes it look unexpired.
 */
import process from "node:process";
import {
  type Dispatcher as Holder,
  holderKey,
  type ShiftResult,
  type Store,
  type Takeover,
} from "../../store/mod.ts";
import { type ConfigSource, DISPATCHER_ACTOR, type Now, type Service } from "./service.ts";

/** A jump between the wall and monotonic clocks at least this big is a clock step. */
export const CLOCK_STEP_MS = 2_000;

export interface LeaseReport {
  /** This dispatcher runs for its host (the rest of the pass runs only then). */
  active: boolean;
  /** It also leads the board: it runs the board-wide services and applies clock steps. */
  leader: boolean;
  /** The dispatcher of this host that runs when this one stands by. */
  standby_for: string | null;
  took_over_from: string | null;
  /** A step of the wall clock seen this pass, and the deadlines moved by it. */
  clock_step?: ShiftResult;
}

export interface LeaseDeps {
  store: Store;
  config: ConfigSource;
  me: { id: string; host: string; pid?: number };
  log: (line: string) => void;
}

export class LeaseService implements Service<LeaseReport> {
  readonly name = "lease";
  readonly #d: LeaseDeps;
  /** wall - monotonic at the last pass, to see a step of the wall clock. */
  #clockOffset: number | null = null;
  /** The holder of the board's lease as last seen ticking, by the monotonic clock. */
  #holderSeen: { id: string; tick: string; at: number } | null = null;

  constructor(deps: LeaseDeps) {
    this.#d = deps;
  }

  async runOnce(now: Now): Promise<LeaseReport> {
    const { store, me } = this.#d;
    const step = this.#clockStep(now);
    const leaseMs = this.#d.config().dispatch.dispatcher_lease;
    const lease = await store.acquireDispatchLease(
      { id: me.id, host: me.host, pid: me.pid ?? process.pid },
      leaseMs,
      { takeover: this.#takeover(now, leaseMs) },
    );
    if (!lease.active) {
      this.#sawHolder(lease.holder, now);
      return {
        active: false,
        leader: false,
        standby_for: lease.holder?.id ?? null,
        took_over_from: null,
      };
    }
    this.#holderSeen = null;
    const report: LeaseReport = {
      active: true,
      leader: lease.leader,
      standby_for: null,
      took_over_from: lease.tookOverFrom,
    };
    if (step !== 0 && !lease.leader) {
      // The board's deadlines are shifted once, by the leader: a step of this host's clock
      // alone moves only what this host measures, on its monotonic clock already.
      this.#d.log(
        `the wall clock stepped by ${Math.round(step / 1000)}s; the leader ` +
          `dispatcher shifts the board's deadlines, not this one`,
      );
    }
    if (step !== 0 && lease.leader) {
      const shifted = await store.shiftDeadlines(step, DISPATCHER_ACTOR);
      report.clock_step = shifted;
      this.#d.log(
        `the wall clock stepped by ${Math.round(step / 1000)}s; shifted ${shifted.retries} ` +
          `retry backoff(s), ${shifted.leases} lease(s), ${shifted.notifications} ` +
          `notification retry(ies) by the same amount`,
      );
    }
    if (lease.tookOverFrom) {
      this.#d.log(`took over from ${lease.tookOverFrom}, this host's dispatcher before`);
    }
    if (lease.ledFrom) this.#d.log(`took the board's lead from ${lease.ledFrom}`);
    return report;
  }

  /**
   * #clockStep returns how far the wall clock jumped against the monotonic clock since the last
   * pass (0 below CLOCK_STEP_MS: drift and slewing are not steps).
   */
  #clockStep(now: Now): number {
    const offset = now.wall - now.mono;
    const last = this.#clockOffset;
    this.#clockOffset = offset;
    if (last === null) return 0;
    const step = offset - last;
    return Math.abs(step) >= CLOCK_STEP_MS ? Math.round(step) : 0;
  }

  /** #takeover: may this pass take the board from its holder? (see the file's comment) */
  #takeover(now: Now, leaseMs: number): Takeover {
    const seen = this.#holderSeen;
    if (seen === null) return "expired";
    return now.mono - seen.at < leaseMs ? "never" : { unchanged: seen.tick };
  }

  #sawHolder(holder: Holder | null, now: Now): void {
    if (holder === null) {
      this.#holderSeen = null;
      return;
    }
    const tick = holderKey(holder);
    const seen = this.#holderSeen;
    if (seen === null || seen.id !== holder.id || seen.tick !== tick) {
      this.#holderSeen = { id: holder.id, tick, at: now.mono };
    }
  }
}
