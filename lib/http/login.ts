/**
 * One-time login codes. `kanban serve` prints `/login?t=CODE`; opening it once sets the
 * browser's session cookie. A code works exactly once and lives only in this process's
 * memory, so a link copied from old terminal scrollback is worthless after use or restart.
 */
import { createHash } from "node:crypto";
import { newSecret } from "./token.ts";

const hash = (code: string) => createHash("sha256").update(code).digest("base64url");

export class LoginCodes {
  /** Hashes of the unused codes, with when each stops working (ms; Infinity: never). */
  readonly #codes = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** issue makes a new code, usable once, for `ttlMs` (default: until used or restart). */
  issue(ttlMs = Infinity): string {
    const code = newSecret(24);
    this.#codes.set(hash(code), this.#now() + ttlMs);
    return code;
  }

  /** consume tells whether `code` is a live code, and uses it up. */
  consume(code: string): boolean {
    const key = hash(code);
    const until = this.#codes.get(key);
    if (until === undefined) return false;
    this.#codes.delete(key);
    return this.#now() < until;
  }

  /** size is how many codes are still unused (expired ones included until tried). */
  get size(): number {
    return this.#codes.size;
  }
}
