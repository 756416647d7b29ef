/**
 * The PostgreSQL driver's connection types and the few helpers its queries share.
 * Module-private to lib/store/postgres.
 */
import type postgres from "postgres";

/**
 * The client's custom types: int8 (BIGINT: every time, id and count) and numeric (sums) come
 * back as JS numbers, as node:sqlite returns them. Every value the board keeps is well inside
 * 2^53 (epoch ms, row ids, token counts).
 */
export type Types = { bigint: number };

/** The connection pool. */
export type Pool = postgres.Sql<Types>;
/** One transaction's connection (reserved from the pool for it alone). */
export type Tx = postgres.ReservedSql<Types>;
/** A piece of SQL with its parameters, to be put into another query. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** and joins conditions with AND (`TRUE` when there are none). */
export function and(t: Tx, parts: readonly Fragment[]): Fragment {
  if (parts.length === 0) return t`TRUE`;
  return parts.slice(1).reduce((acc, p) => t`${acc} AND ${p}`, parts[0]!);
}

/** The SQLSTATE of a server error, or undefined for any other error. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** isUniqueViolation: `err` is a unique violation of the constraint or index `name`. */
export function isUniqueViolation(err: unknown, name: string): boolean {
  return sqlState(err) === "23505" &&
    (err as { constraint_name?: string }).constraint_name === name;
}

/** A limit from code, checked before it becomes part of SQL. */
export function count(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Invalid limit: ${n}`);
  return n;
}

/** first is a query's first row, or undefined. */
export async function first<T>(q: Promise<readonly T[]>): Promise<T | undefined> {
  return (await q)[0];
}
