/**
 * Reads with a cap enforced while reading: a read stops one byte past the limit, so a file
 * that never ends (`/dev/zero`, a FIFO), or only a very large one, costs at most the limit
 * plus one chunk of memory, and fails at once with an error naming what was read and the
 * limit. Checking the size after reading (or with stat, which says 0 for `/dev/zero`) does
 * neither.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { KanbanError } from "./errors.ts";

/** Bytes read per call. */
const CHUNK = 64 * 1024;

/** TooLargeError: what was read is longer than its cap. Nothing was used of it. */
export class TooLargeError extends KanbanError {
  /** The cap, in bytes. */
  readonly limit: number;
  constructor(what: string, limit: number) {
    super("too_large", `${what} is larger than ${bytesText(limit)} (reading stopped there)`);
    this.limit = limit;
  }
}

/** bytesText names a byte count as people read it: `1 MiB`, `4 KiB`, `100 bytes`. */
export function bytesText(n: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

/** Collects chunks up to `max` bytes; `add` returns false once past the cap. */
class Capped {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  constructor(readonly max: number) {}
  add(chunk: Uint8Array): boolean {
    this.#size += chunk.length;
    if (this.#size > this.max) return false;
    this.#chunks.push(chunk);
    return true;
  }
  bytes(): Uint8Array {
    const all = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  }
  text(): string {
    // as readFileSync(path, "utf8"): bad bytes -> U+FFFD
    return new TextDecoder().decode(this.bytes());
  }
}

/**
 * readCapped reads the file at `path` as UTF-8, at most `max` bytes; a longer file throws a
 * TooLargeError naming `what` (e.g. `--body-file "notes.md"`) and the cap, after reading
 * `max` + 1 bytes at most. Errors of opening and reading (ENOENT, EISDIR) are thrown as
 * they are, for the caller to name.
 */
export function readCapped(path: string, max: number, what: string): string {
  return new TextDecoder().decode(readBytesCapped(path, max, what));
}

/** readBytesCapped is readCapped for bytes (an attachment): the file as it is, at most `max`. */
export function readBytesCapped(path: string, max: number, what: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const out = new Capped(max);
    for (;;) {
      const buf = new Uint8Array(Math.min(CHUNK, max + 1));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return out.bytes();
      if (!out.add(buf.subarray(0, n))) throw new TooLargeError(what, max);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * readStreamCapped reads a byte stream (standard input) as UTF-8, at most `max` bytes: past
 * that it stops reading (and tells the stream so) and throws a TooLargeError.
 */
export async function readStreamCapped(
  stream: AsyncIterable<Uint8Array>,
  max: number,
  what: string,
): Promise<string> {
  const out = new Capped(max);
  // for await ... of calls the iterator's return() when the loop is left by a throw, which
  // ends a Node stream's reading
  for await (const chunk of stream) {
    if (!out.add(chunk)) throw new TooLargeError(what, max);
  }
  return out.text();
}
