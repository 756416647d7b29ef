/**
 * One-time login codes. `kanban serve` prints `/login?t=CODE`; opening it once sets the
 * browser's session cookie. A code works exactly once, for LOGIN_CODE_TTL_MS (10 minutes),
 * and lives only in this process's memory, so a link copied from old terminal scrollback or a
 * journal is worthless after use, expiry or restart.
 */
import { createHash } from "node:crypto";
import { newSecret } from "./token.ts";

const hash = (code: string) => createHash("sha256").update(code).digest("base64url");

/** How long a login code works after it is issued. */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;

/** At most this many codes are remembered; issuing more forgets the oldest. */
const MAX_CODES = 1000;

/** What using a code did: logged in, or why not. */
export type LoginResult = "ok" | "expired" | "unknown";

export class LoginCodes {
  /** Hashes of the unused codes, with when each stops working (ms), oldest first. */
  readonly #codes = new Map<string, number>();
  readonly #now: () => number;

  /** `now` is the clock codes expire by (tests inject one). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** issue makes a new code, usable once, for `ttlMs`. */
  issue(ttlMs = LOGIN_CODE_TTL_MS): string {
    const code = newSecret(24);
    // A flood of POST /api/v1/login-codes must not grow memory without bound.
    while (this.#codes.size >= MAX_CODES) {
      this.#codes.delete(this.#codes.keys().next().value!);
    }
    this.#codes.set(hash(code), this.#now() + ttlMs);
    return code;
  }

  /**
   * use uses `code` up: "ok" when it was live; "expired" when its time had passed (it is
   * forgotten too); "unknown" for a code never issued here, used already, or forgotten.
   */
  use(code: string): LoginResult {
    const key = hash(code);
    const until = this.#codes.get(key);
    if (until === undefined) return "unknown";
    this.#codes.delete(key);
    return this.#now() < until ? "ok" : "expired";
  }

  /** consume tells whether `code` is a live code, and uses it up. */
  consume(code: string): boolean {
    return this.use(code) === "ok";
  }

  /** size is how many codes are still unused (expired ones included until tried). */
  get size(): number {
    return this.#codes.size;
  }
}
