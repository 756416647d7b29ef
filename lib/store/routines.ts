/**
 * Routines: recurring work. A routine has a cron expression and an IANA time zone
 * (lib/store/cron.ts) and makes a graph of tasks at each occurrence: one task, or a template's
 * graph rendered when the routine was added (so every host fires the same thing, whatever
 * files it has). Each occurrence fires exactly once, however many dispatchers on however many
 * hosts see it due: the firing claims it by moving the routine's `next_at` past it with a
 * compare-and-set (`routineAdvance`, the row locked first on a server) in the transaction that
 * creates its tasks, and the tasks are made with createGraph under the key
 * `routine:<id>:<occurrence ISO time>`, which the board's unique index holds to one graph.
 * Claim first, create second, commit both or neither.
 *
 * Missed occurrences (no dispatcher ran when they came) are handled by the routine's catch-up
 * policy: `skip` fires none of them and waits for the next one, `once` fires one occurrence for
 * all of them (the oldest), `all` fires each of them oldest first, up to `max_catch_up`. An
 * occurrence seen within MISSED_AFTER_MS of its time is on time, not missed.
 */
import { randomBytes } from "node:crypto";
import { appendEvent, type Kernel } from "./_kernel.ts";
import type { RoutineRow } from "./driver/routines.ts";
import { ConflictError, NotFoundError, ValidationError } from "./errors.ts";
import { checkGraph, createGraph, type GraphNodeInput, type GraphTaskInput } from "./graph.ts";
import { checkTimeZone, type Cron, nextOccurrence, parseCron } from "./cron.ts";
import type { Actor } from "./types.ts";

/** A routine's catch-up policy for occurrences no dispatcher fired on time. */
export type CatchUp = "skip" | "once" | "all";
export const CATCH_UPS: readonly CatchUp[] = ["skip", "once", "all"];
/** How many missed occurrences `all` fires unless the routine says otherwise. */
export const DEFAULT_MAX_CATCH_UP = 10;
/** The most missed occurrences `all` may be set to fire. */
export const MAX_CATCH_UP_LIMIT = 1000;
/** An occurrence fired later than this after its time was missed (catch-up decides). */
export const MISSED_AFTER_MS = 5 * 60_000;
/** The most routines one pass fires. */
export const ROUTINES_PER_PASS = 100;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, up to 64';

/** A routine as the board shows it. */
export interface Routine {
  id: string;
  name: string;
  cron: string;
  tz: string;
  /** The template its graph was rendered from, or null: it makes one task. */
  template: string | null;
  /** What each occurrence creates: a graph's nodes (one node "task" for a plain task). */
  nodes: GraphNodeInput[];
  catch_up: CatchUp;
  max_catch_up: number;
  paused: boolean;
  /** The occurrence it fires next (ISO time), null when its cron never occurs again. */
  next_at: string | null;
  /** The last occurrence it fired, null before the first. */
  last_at: string | null;
  /** How many occurrences it has fired (run-now included). */
  fired: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** What `routine add` takes: a task (`task`) or a rendered template (`template` + `nodes`). */
export interface AddRoutineInput {
  name: string;
  cron: string;
  /** An IANA zone; the caller decides the default (the CLI: the host's zone). */
  tz: string;
  task?: GraphTaskInput | undefined;
  template?: { name: string; nodes: GraphNodeInput[] } | undefined;
  catch_up?: CatchUp | undefined;
  max_catch_up?: number | undefined;
}

/** One occurrence fired: the routine, the occurrence's time, its key and the tasks it made. */
export interface Firing {
  routine: string;
  occurrence: number;
  key: string;
  /** false when the key had made its tasks already (a repeated run-now). */
  created: boolean;
  /** The tasks made, by node ref. */
  tasks: { ref: string; id: string }[];
  /** The occurrence was missed and fired by the catch-up policy. */
  catch_up: boolean;
}

const isoOrNull = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();

/** toRoutine is a stored routine as the board shows it (times as ISO text). */
export function toRoutine(r: RoutineRow): Routine {
  const spec = JSON.parse(r.spec) as { nodes: GraphNodeInput[] };
  return {
    id: r.id,
    name: r.name,
    cron: r.cron,
    tz: r.tz,
    template: r.template,
    nodes: spec.nodes,
    catch_up: r.catch_up,
    max_catch_up: r.max_catch_up,
    paused: r.paused === 1,
    next_at: isoOrNull(r.next_at),
    last_at: isoOrNull(r.last_at),
    fired: r.fired,
    created_by: r.created_by,
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
  };
}

/** checkRoutineName refuses a name that is not a routine name, saying the rule. */
export function checkRoutineName(name: string): string {
  if (!NAME.test(name)) {
    throw new ValidationError(`Invalid routine name ${JSON.stringify(name)}: ${NAME_RULE}`);
  }
  return name;
}

/** The graph key of an occurrence: unique per routine and occurrence time. */
export function occurrenceKey(r: { id: string }, at: number): string {
  return `routine:${r.id}:${new Date(at).toISOString()}`;
}

/** addRoutine checks and stores a new routine; its first occurrence is the next after now. */
export async function addRoutine(
  k: Kernel,
  input: AddRoutineInput,
  actor: Actor,
): Promise<Routine> {
  const name = checkRoutineName(input.name);
  const cron = parseCron(input.cron);
  const tz = checkTimeZone(input.tz);
  const catchUp = input.catch_up ?? "skip";
  if (!CATCH_UPS.includes(catchUp)) {
    throw new ValidationError(
      `Invalid catch-up ${JSON.stringify(catchUp)}: one of ${CATCH_UPS.join(", ")}`,
    );
  }
  const max = input.max_catch_up ?? DEFAULT_MAX_CATCH_UP;
  if (!Number.isInteger(max) || max < 1 || max > MAX_CATCH_UP_LIMIT) {
    throw new ValidationError(
      `Invalid max catch-up ${max}: a whole number from 1 to ${MAX_CATCH_UP_LIMIT}`,
    );
  }
  if ((input.task === undefined) === (input.template === undefined)) {
    throw new ValidationError("A routine makes either a task or a template's graph: give one");
  }
  const nodes: GraphNodeInput[] = input.template?.nodes ?? [{ ref: "task", task: input.task! }];
  // the graph as each occurrence will create it, checked now rather than at its first firing
  checkGraph({ key: `routine:r_00000000:${new Date(0).toISOString()}`, nodes });
  const now = k.now();
  const next = nextOccurrence(cron, tz, now);
  if (next === null) {
    throw new ValidationError(`Invalid cron "${cron.source}": it never occurs in ${tz}`);
  }
  const row: RoutineRow = {
    id: `r_${randomBytes(4).toString("hex")}`,
    name,
    cron: cron.source,
    tz,
    spec: JSON.stringify({ nodes }),
    template: input.template?.name ?? null,
    catch_up: catchUp,
    max_catch_up: max,
    paused: 0,
    next_at: next,
    last_at: null,
    fired: 0,
    created_by: actor.name,
    created_at: now,
    updated_at: now,
  };
  if (await k.q.routineInsert(row) === "duplicate_name") {
    throw new ConflictError("routine_exists", `A routine named "${name}" exists already`);
  }
  return toRoutine(row);
}

/** loadRoutine is the routine of this name (locked on a server), or a NotFoundError. */
async function loadRoutine(k: Kernel, name: string, lock = false): Promise<RoutineRow> {
  const r = lock ? await k.q.routineByNameLocked(name) : await k.q.routineByName(name);
  if (!r) {
    const known = (await k.q.routinesAll()).map((x) => x.name);
    throw new NotFoundError(
      `No routine "${name}" (${known.length > 0 ? `routines: ${known.join(", ")}` : "none yet"})`,
    );
  }
  return r;
}

/** listRoutines is every routine, by name. */
export async function listRoutines(k: Kernel): Promise<Routine[]> {
  return (await k.q.routinesAll()).map(toRoutine);
}

/** getRoutine is one routine by name. */
export async function getRoutine(k: Kernel, name: string): Promise<Routine> {
  return toRoutine(await loadRoutine(k, name));
}

/**
 * setPaused pauses or resumes a routine. A resumed routine's next occurrence is the next after
 * now: what came while it was paused does not fire.
 */
export async function setPaused(k: Kernel, name: string, paused: boolean): Promise<Routine> {
  const r = await loadRoutine(k, name, true);
  if ((r.paused === 1) === paused) return toRoutine(r);
  const now = k.now();
  const next_at = paused ? r.next_at : nextOccurrence(parseCron(r.cron), r.tz, now);
  await k.q.routineUpdate(r.id, { paused: paused ? 1 : 0, next_at, updated_at: now });
  return toRoutine({ ...r, paused: paused ? 1 : 0, next_at, updated_at: now });
}

/** removeRoutine deletes a routine; the tasks it made stay. */
export async function removeRoutine(k: Kernel, name: string): Promise<Routine> {
  const r = await loadRoutine(k, name, true);
  await k.q.routineDelete(r.id);
  return toRoutine(r);
}

/** The occurrences a due routine fires now, oldest first, by its catch-up policy. */
function dueOccurrences(r: RoutineRow, cron: Cron, now: number): number[] {
  const first = r.next_at!;
  if (r.catch_up === "once") return [first];
  if (r.catch_up === "skip") {
    // the missed ones are skipped; one still within MISSED_AFTER_MS of its time is on time
    const onTime = first >= now - MISSED_AFTER_MS
      ? first
      : nextOccurrence(cron, r.tz, now - MISSED_AFTER_MS - 1);
    return onTime !== null && onTime <= now ? [onTime] : [];
  }
  const out: number[] = [];
  for (let t: number | null = first; t !== null && t <= now && out.length < r.max_catch_up;) {
    out.push(t);
    t = nextOccurrence(cron, r.tz, t);
  }
  return out;
}

/** The actor a routine's tasks are created by. */
export function routineActor(name: string): Actor {
  return { name: `routine:${name}` };
}

/** makeOccurrence creates an occurrence's graph and records on each new task what made it. */
async function makeOccurrence(
  k: Kernel,
  r: RoutineRow,
  at: number,
  key: string,
  data: Record<string, unknown>,
): Promise<Firing> {
  const actor = routineActor(r.name);
  const nodes = (JSON.parse(r.spec) as { nodes: GraphNodeInput[] }).nodes;
  const g = await createGraph(k, { key, nodes }, actor);
  if (g.created) {
    for (const t of g.tasks) {
      appendEvent(k, t.task.id, null, "routine_fired", actor, {
        routine: r.name,
        routine_id: r.id,
        occurrence: new Date(at).toISOString(),
        key,
        ...data,
      });
    }
  }
  return {
    routine: r.name,
    occurrence: at,
    key,
    created: g.created,
    tasks: g.tasks.map((t) => ({ ref: t.ref, id: t.task.id })),
    catch_up: data["catch_up"] === true,
  };
}

/**
 * fireRoutine fires what of routine `name` is due at now: it claims the occurrences (moves
 * next_at past now, if no one else has) and creates their tasks, in the caller's transaction.
 * Nothing when the routine is paused, not due, or was fired by another transaction first.
 */
export async function fireRoutine(k: Kernel, name: string): Promise<Firing[]> {
  const now = k.now();
  const r = await k.q.routineByNameLocked(name);
  if (!r || r.paused === 1 || r.next_at === null || r.next_at > now) return [];
  const cron = parseCron(r.cron);
  const due = dueOccurrences(r, cron, now);
  const next = nextOccurrence(cron, r.tz, now);
  const claimed = await k.q.routineAdvance(r.id, r.next_at, {
    next_at: next,
    last_at: due.at(-1) ?? r.last_at,
    fired: r.fired + due.length,
    updated_at: now,
  });
  if (!claimed) return [];
  const out: Firing[] = [];
  for (const at of due) {
    const catchUp = now - at > MISSED_AFTER_MS;
    out.push(
      await makeOccurrence(k, r, at, occurrenceKey(r, at), catchUp ? { catch_up: true } : {}),
    );
  }
  return out;
}

/** dueRoutines names the routines due at now, earliest first (at most ROUTINES_PER_PASS). */
export function dueRoutines(k: Kernel): Promise<string[]> {
  return k.q.routinesDue(k.now(), ROUTINES_PER_PASS);
}

const RUN_KEY = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$/;

/**
 * runNow fires one occurrence of a routine now, paused or not, outside its schedule (next_at
 * stays): once per `key` (a second run-now with the same key returns the same tasks).
 */
export async function runNow(k: Kernel, name: string, key: string): Promise<Firing> {
  if (!RUN_KEY.test(key)) {
    throw new ValidationError(
      `Invalid run key ${JSON.stringify(key)}: letters, digits, ".", "_", ":", "@" and "-", ` +
        "up to 100",
    );
  }
  const r = await loadRoutine(k, name, true);
  const now = k.now();
  const f = await makeOccurrence(k, r, now, `routine:${r.id}:now:${key}`, { run_now: true });
  if (f.created) {
    await k.q.routineUpdate(r.id, { fired: r.fired + 1, last_at: now, updated_at: now });
  }
  return f;
}
