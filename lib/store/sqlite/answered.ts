/** How the SQLite driver, whose calls are synchronous, answers the async driver interface. */

/** Sync is a set of async operations written as the synchronous calls node:sqlite makes. */
export type Sync<Q> = {
  [K in keyof Q]: Q[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R
    : never;
};

/**
 * answered turns synchronous operations into the driver's async ones: each answers at once,
 * and a throw becomes a rejection, as from an async function.
 */
export function answered<Q>(ops: Sync<Q>): Q {
  const wrap = (f: (...args: unknown[]) => unknown) => (...args: unknown[]) => {
    try {
      return Promise.resolve(f(...args));
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return Object.fromEntries(
    Object.entries(ops as Record<string, (...args: unknown[]) => unknown>)
      .map(([name, f]) => [name, wrap(f)]),
  ) as Q;
}
