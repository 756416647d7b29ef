/**
 * The end of a run's worker log: the last N bytes across the rotated part (`.1`) and the
 * current file, cut at a character boundary so that the text is valid UTF-8.
 */
import { Buffer } from "node:buffer";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { NotFoundError } from "../store/mod.ts";

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

function readRange(path: string, start: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(path, "r");
  try {
    const n = readSync(fd, buf, 0, length, start);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export interface Tail {
  /** Bytes in the log (rotated part plus current file). */
  size: number;
  truncated: boolean;
  text: string;
}

/** tailLog reads the last `bytes` bytes of the log at `path`; NotFoundError when it is gone. */
export function tailLog(path: string, bytes: number): Tail {
  const parts = [`${path}.1`, path].map((p) => ({ path: p, size: size(p) }))
    .filter((p) => p.size >= 0);
  if (parts.length === 0) throw new NotFoundError(`Log file ${path} is gone (removed by gc?)`);
  const total = parts.reduce((n, p) => n + p.size, 0);
  let want = Math.min(bytes, total);
  const chunks: Buffer[] = [];
  for (const p of [...parts].reverse()) {
    if (want === 0) break;
    const take = Math.min(want, p.size);
    chunks.unshift(readRange(p.path, p.size - take, take));
    want -= take;
  }
  let buf = Buffer.concat(chunks);
  const truncated = buf.length < total;
  if (truncated) {
    // Skip continuation bytes (10xxxxxx) of a character cut in half at the start.
    let skip = 0;
    while (skip < buf.length && skip < 3 && (buf[skip]! & 0xc0) === 0x80) skip++;
    buf = buf.subarray(skip);
  }
  return { size: total, truncated, text: buf.toString("utf8") };
}
