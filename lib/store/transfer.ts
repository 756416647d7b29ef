/**
 * Moving a board between boards and drivers: `exportBoard` writes every task, link, run,
 * comment, attachment (its content in base64), event and subscription of a board as a JSON Lines stream (docs/export-format.md),
 * page by page from one read snapshot; `importBoard` reads such a stream into an empty board in
 * one write transaction, checking every line first, so a refused import leaves the board as it
 * was. No SQL here: the driver's transfer operations (lib/store/driver/transfer.ts) do the
 * reading and writing.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { Driver, Queries } from "./driver.ts";
import type { LinkRow, Sequences, TransferKind, TransferRows } from "./driver/transfer.ts";
import { ConflictError, KanbanError } from "./errors.ts";
import { checkInvariants } from "./invariants.ts";
import type { Clock } from "./types.ts";
import { VERSION } from "../version.ts";
import {
  ADDED_IN,
  checkRecord,
  FORMAT_VERSION,
  KEY_OF,
  KINDS,
  MARKER,
  recordLine,
  SEQUENCED,
  SINCE_VERSION_2,
  upgradeRecord,
} from "./_transfer_format.ts";

export { FORMAT_VERSION } from "./_transfer_format.ts";

/** Rows read per page: a task may carry a 1 MiB body, so a page stays in the tens of MiB. */
const PAGE: Record<TransferKind, number> = {
  task: 50,
  link: 1000,
  run: 200,
  comment: 200,
  // an attachment may hold 25 MiB or more: one at a time
  attachment: 1,
  event: 1000,
  subscription: 200,
  routine: 200,
  budget: 200,
};

/** Rows inserted per call: few round trips for a server driver, a small buffer here. */
const BATCH = 200;

/** Bytes of attachment content gathered before an insert (a batch may hold fewer rows). */
const BATCH_BYTES = 8 * 1024 * 1024;

/** Bytes of lines gathered before one call of the writer. */
const FLUSH_BYTES = 256 * 1024;

export type TransferCounts = Record<TransferKind, number>;

/** The first line of a stream. */
export interface ExportHeader {
  kanban: typeof MARKER;
  version: number;
  /** The exporting board's schema version (its migrations applied), for diagnosis. */
  schema_version: number;
  /** When the export started (epoch ms). */
  exported_at: number;
  /** Where it came from: the driver, its engine's version, kanban's version. */
  source: { driver: string; version: string; kanban: string };
}

/** The last line of a stream: what came before it, so a cut-short stream is refused. */
export interface ExportTrailer {
  type: "end";
  counts: TransferCounts;
  sequences: Sequences;
}

export interface ExportReport {
  header: ExportHeader;
  counts: TransferCounts;
  sequences: Sequences;
}

export interface ImportReport {
  /** The header of the stream that was imported. */
  header: ExportHeader;
  counts: TransferCounts;
  sequences: Sequences;
}

/** Writes a piece of the stream; awaited, so a slow reader slows the export down. */
export type TransferWriter = (chunk: string) => void | Promise<void>;

function zeroCounts(): TransferCounts {
  return {
    task: 0,
    link: 0,
    run: 0,
    comment: 0,
    attachment: 0,
    event: 0,
    subscription: 0,
    routine: 0,
    budget: 0,
  };
}

/** keyAfter says whether row `b` comes after row `a` in the kind's key order. */
function keyAfter(kind: TransferKind, a: Record<string, unknown>, b: Record<string, unknown>) {
  if (kind === "link") {
    const [pa, pb] = [a["parent_id"] as string, b["parent_id"] as string];
    return pb > pa || (pb === pa && (b["child_id"] as string) > (a["child_id"] as string));
  }
  // task ids are ASCII: JavaScript's string order is their byte order (budget names compare
  // as UTF-16 units, the byte order of ASCII names)
  const key = KEY_OF[kind] ?? "id";
  return (b[key] as string | number) > (a[key] as string | number);
}

/**
 * exportBoard writes the board behind `driver` to `write` as one consistent snapshot: the
 * header, every row of each kind in key order, and the trailer. It holds at most a page of
 * rows and FLUSH_BYTES of text at a time, whatever the size of the board.
 */
export async function exportBoard(
  driver: Driver,
  now: Clock,
  write: TransferWriter,
): Promise<ExportReport> {
  const info = await driver.info();
  const header: ExportHeader = {
    kanban: MARKER,
    version: FORMAT_VERSION,
    schema_version: info.schema_version,
    exported_at: now(),
    source: { driver: driver.kind, version: info.version, kanban: VERSION },
  };
  let buffer = `${JSON.stringify(header)}\n`;
  const flush = async (force: boolean) => {
    if (buffer.length === 0 || (!force && buffer.length < FLUSH_BYTES)) return;
    const chunk = buffer;
    buffer = "";
    await write(chunk);
  };
  const counts = zeroCounts();
  const sequences = await driver.read(async (q) => {
    for (const kind of KINDS) {
      let after: TransferRows[TransferKind] | null = null;
      for (;;) {
        const rows: TransferRows[TransferKind][] = await q.transferPage(kind, after, PAGE[kind]);
        for (const stored of rows as unknown as Record<string, unknown>[]) {
          const row = kind === "attachment" ? toStream(stored) : stored;
          // The importer refuses what the format cannot carry: so does the exporter, rather
          // than write a file that cannot be read back.
          const wrong = checkRecord(kind, { type: kind, ...row });
          if (wrong !== null) {
            throw new KanbanError("cannot_export", `Cannot export the board: ${wrong}`);
          }
          buffer += `${recordLine(kind, row)}\n`;
          counts[kind]++;
          await flush(false);
        }
        if (rows.length < PAGE[kind]) break;
        after = rows.at(-1)!;
      }
    }
    return await q.transferSequences();
  });
  const trailer: ExportTrailer = { type: "end", counts, sequences };
  buffer += `${JSON.stringify(trailer)}\n`;
  await flush(true);
  return { header, counts, sequences };
}

/** The error of a line the import refuses. */
function refused(where: string, line: number, message: string): KanbanError {
  return new KanbanError("invalid_export", `${where}: line ${line}: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** parseLine parses one line as a JSON object, or says why it is not one. */
function parseLine(where: string, n: number, text: string): Record<string, unknown> {
  if (text.trim() === "") throw refused(where, n, "the line is empty");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw refused(where, n, `not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(value)) throw refused(where, n, "not a JSON object");
  return value;
}

/** checkHeader reads line 1: a board export of a version this kanban reads. */
function checkHeader(where: string, h: Record<string, unknown>): ExportHeader {
  if (h["kanban"] !== MARKER) {
    throw refused(
      where,
      1,
      `not a board export (its first line must be the header {"kanban":"${MARKER}",...})`,
    );
  }
  const version = h["version"];
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw refused(where, 1, `the header's version is ${JSON.stringify(version)}`);
  }
  if ((version as number) > FORMAT_VERSION) {
    throw new KanbanError(
      "export_too_new",
      `${where}: line 1: the export is format version ${version}, written by a newer kanban; ` +
        `this kanban (${VERSION}) reads version ${FORMAT_VERSION}: upgrade kanban to import it`,
    );
  }
  for (const field of ["schema_version", "exported_at"]) {
    if (!Number.isSafeInteger(h[field])) {
      throw refused(where, 1, `the header's ${field} is ${JSON.stringify(h[field])}`);
    }
  }
  const source = h["source"];
  if (!isObject(source) || typeof source["driver"] !== "string") {
    throw refused(where, 1, `the header's source is not an object naming its driver`);
  }
  const extra = Object.keys(h).find((k) =>
    !["kanban", "version", "schema_version", "exported_at", "source"].includes(k)
  );
  if (extra !== undefined) throw refused(where, 1, `the header has an unknown field "${extra}"`);
  return h as unknown as ExportHeader;
}

/** checkTrailer compares the trailer with what was read, and returns its sequences. */
function checkTrailer(
  where: string,
  n: number,
  t: Record<string, unknown>,
  seen: TransferCounts,
  largest: Sequences,
  version: number,
): Sequences {
  const counts = t["counts"];
  const sequences = t["sequences"];
  if (!isObject(counts) || !isObject(sequences)) {
    throw refused(where, n, "the trailer lacks its counts or sequences");
  }
  const extra = Object.keys(t).find((k) => !["type", "counts", "sequences"].includes(k));
  if (extra !== undefined) throw refused(where, n, `the trailer has an unknown field "${extra}"`);
  for (const kind of KINDS) {
    // a stream of a version before the kind's holds none and does not count it
    const added = ADDED_IN[kind];
    const counted = counts[kind] === undefined && added !== undefined && version < added
      ? 0
      : counts[kind];
    if (counted !== seen[kind]) {
      throw refused(
        where,
        n,
        `the trailer counts ${JSON.stringify(counts[kind])} ${kind} records, the file holds ` +
          `${seen[kind]}: records are missing or were added`,
      );
    }
  }
  const out = {} as Sequences;
  for (const kind of SEQUENCED) {
    const seq = version < 2 && SINCE_VERSION_2.includes(kind) && !(kind in sequences)
      ? 0
      : sequences[kind];
    if (!Number.isSafeInteger(seq) || (seq as number) < largest[kind]) {
      throw refused(
        where,
        n,
        `the trailer's ${kind} sequence is ${JSON.stringify(seq)}, below the largest ${kind} ` +
          `id in the file (${largest[kind]})`,
      );
    }
    out[kind] = seq as number;
  }
  return out;
}

export interface ImportOptions {
  /** What the stream is called in errors: the file name, or "standard input". */
  name?: string;
}

/**
 * Import is the state of one import as it reads the stream: what was seen (for the order,
 * the references and the trailer) and the rows waiting to be inserted.
 */
class Import {
  readonly counts = zeroCounts();
  readonly largest: Sequences = { run: 0, comment: 0, attachment: 0, event: 0, subscription: 0 };
  /** Task ids and run ids imported so far: every reference must name one of them. */
  readonly tasks = new Set<string>();
  readonly runs = new Set<number>();
  /** Running tasks whose current run has not been seen yet. */
  readonly waiting = new Map<string, { run: number; line: number }>();
  #kind = 0;
  #last: Record<string, unknown> | null = null;
  #batch: Record<string, unknown>[] = [];
  #batchBytes = 0;
  #first = 0;

  /** The stream's format version (its header's), once read. */
  version = FORMAT_VERSION;

  constructor(readonly q: Queries, readonly where: string) {}

  /** add checks record `r` (line `n`) against the format and what came before it. */
  async add(n: number, raw: Record<string, unknown>): Promise<void> {
    const kind = raw["type"] as TransferKind;
    const at = KINDS.indexOf(kind);
    if (at < this.#kind) {
      throw refused(
        this.where,
        n,
        `a ${kind} record after ${KINDS[this.#kind]} records (the order is ${KINDS.join(", ")})`,
      );
    }
    if (at > this.#kind) {
      await this.flush();
      this.#kind = at;
      this.#last = null;
    }
    const r = upgradeRecord(kind, raw, this.version);
    const wrong = checkRecord(kind, r);
    if (wrong !== null) throw refused(this.where, n, wrong);
    const { type: _type, ...fields } = r;
    const row = kind === "attachment" ? this.#fromStream(n, fields) : fields;
    if (this.#last !== null && !keyAfter(kind, this.#last, row)) {
      throw refused(this.where, n, `${kind} ${keyText(kind, row)} is out of order or repeated`);
    }
    this.#check(n, kind, row);
    this.#last = row;
    this.counts[kind]++;
    if (this.#batch.length === 0) this.#first = n;
    this.#batch.push(row);
    if (row["content"] instanceof Uint8Array) this.#batchBytes += row["content"].byteLength;
    if (this.#batch.length >= BATCH || this.#batchBytes >= BATCH_BYTES) await this.flush();
  }

  /** #fromStream decodes an attachment's content and checks it against its size and hash. */
  #fromStream(n: number, row: Record<string, unknown>): Record<string, unknown> {
    const content = new Uint8Array(Buffer.from(row["content"] as string, "base64"));
    if (content.byteLength !== row["size"]) {
      throw refused(
        this.where,
        n,
        `attachment ${row["id"]} says it is ${
          row["size"]
        } bytes; its content is ${content.byteLength}`,
      );
    }
    if (createHash("sha256").update(content).digest("hex") !== row["sha256"]) {
      throw refused(
        this.where,
        n,
        `attachment ${row["id"]}'s content does not match its sha256 (the file was changed)`,
      );
    }
    return { ...row, content };
  }

  /** #check follows the record's references to the records before it. */
  #check(n: number, kind: TransferKind, row: Record<string, unknown>): void {
    const task = (field: string) => {
      const id = row[field];
      if (id !== null && !this.tasks.has(id as string)) {
        throw refused(this.where, n, `the ${kind}'s ${field} ${id} names no task of the file`);
      }
    };
    const run = (field: string) => {
      const id = row[field];
      if (id !== null && !this.runs.has(id as number)) {
        throw refused(this.where, n, `the ${kind}'s ${field} ${id} names no run before it`);
      }
    };
    switch (kind) {
      case "task": {
        this.tasks.add(row["id"] as string);
        const current = row["current_run_id"];
        if (current !== null) {
          this.waiting.set(row["id"] as string, { run: current as number, line: n });
        }
        return;
      }
      case "link":
        task("parent_id");
        task("child_id");
        if (row["parent_id"] === row["child_id"]) {
          throw refused(this.where, n, `task ${row["parent_id"]} is linked to itself`);
        }
        return;
      case "run": {
        task("task_id");
        const id = row["id"] as number;
        this.runs.add(id);
        this.largest.run = id;
        const w = this.waiting.get(row["task_id"] as string);
        if (w?.run === id) this.waiting.delete(row["task_id"] as string);
        return;
      }
      case "comment":
      case "attachment":
      case "event":
        task("task_id");
        run("run_id");
        this.largest[kind] = row["id"] as number;
        return;
      case "subscription":
        task("task_id");
        this.largest.subscription = row["id"] as number;
        return;
      case "routine":
      case "budget":
        return;
    }
  }

  /** flush inserts the rows waiting; a row the board refuses is named by its lines. */
  async flush(): Promise<void> {
    if (this.#batch.length === 0) return;
    const kind = KINDS[this.#kind]!;
    const rows = this.#batch;
    const lines = rows.length === 1
      ? `line ${this.#first}`
      : `lines ${this.#first}-${this.#first + rows.length - 1}`;
    this.#batch = [];
    this.#batchBytes = 0;
    try {
      await this.q.transferInsert(kind, rows as unknown as TransferRows[typeof kind][]);
    } catch (err) {
      throw new KanbanError(
        "invalid_export",
        `${this.where}: ${lines}: the board refused a ${kind} record: ${(err as Error).message}`,
      );
    }
  }

  /** runsResolved checks, once the runs are in, that each running task's run was among them. */
  runsResolved(): void {
    for (const [task, { run, line }] of this.waiting) {
      throw refused(
        this.where,
        line,
        `task ${task} is running in run ${run}, which is not among the task's runs in the file`,
      );
    }
  }
}

/** toStream is a stored attachment row as the stream carries it: its content in base64. */
function toStream(row: Record<string, unknown>): Record<string, unknown> {
  const c = row["content"] as Uint8Array;
  return { ...row, content: Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString("base64") };
}

function keyText(kind: TransferKind, row: Record<string, unknown>): string {
  return kind === "link"
    ? `${(row as unknown as LinkRow).parent_id} -> ${(row as unknown as LinkRow).child_id}`
    : String(row[KEY_OF[kind] ?? "id"]);
}

/**
 * importBoard reads a board export from `lines` into the empty board behind `driver`: in one
 * write transaction, after checking that the board holds nothing (an import never merges), with
 * every line checked against the format, the order and the records before it; then the id
 * sequences move past the file's, and the board's invariants are checked. Any refusal rolls the
 * whole import back, naming the line and what was wrong. It records no event of its own: the
 * imported board's history is the exported one's, and subscriptions resume from their cursors
 * without a delivery about the move.
 */
export async function importBoard(
  driver: Driver,
  lines: AsyncIterable<string>,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const where = options.name ?? "the export";
  let attempts = 0;
  return await driver.tx(async (q) => {
    // A server driver runs a transaction again after a serialization failure, but the lines
    // are a stream read once: a second attempt would see an empty export.
    if (++attempts > 1) {
      throw new KanbanError(
        "busy",
        `Cannot import into the board at "${driver.where}": a concurrent write to it interrupted ` +
          `the import, which was rolled back; run the import again (stop anything writing to ` +
          `the new board first)`,
      );
    }
    const held = await q.transferCounts();
    const present = KINDS.filter((k) => held[k] > 0);
    if (present.length > 0) {
      throw new ConflictError(
        "board_not_empty",
        `Cannot import into the board at "${driver.where}": it already holds ${
          present.map((k) => `${held[k]} ${k}${held[k] === 1 ? "" : "s"}`).join(", ")
        }; an import only fills an empty board (create a new one with --db NEW import ...)`,
      );
    }
    const imp = new Import(q, where);
    let header: ExportHeader | null = null;
    let sequences: Sequences | null = null;
    let n = 0;
    for await (const text of lines) {
      n++;
      if (sequences !== null) {
        // a line after the trailer: two files joined, or junk appended
        if (text.trim() === "") continue;
        throw refused(where, n, "a line after the trailer (the export ended on the line before)");
      }
      const r = parseLine(where, n, text);
      if (header === null) {
        header = checkHeader(where, r);
        imp.version = header.version;
        continue;
      }
      const type = r["type"];
      if (type === "end") {
        await imp.flush();
        imp.runsResolved();
        sequences = checkTrailer(where, n, r, imp.counts, imp.largest, header.version);
        continue;
      }
      if (typeof type !== "string" || !(KINDS as readonly string[]).includes(type)) {
        throw refused(
          where,
          n,
          `unknown record type ${JSON.stringify(type)} (expected ${KINDS.join(", ")} or end)`,
        );
      }
      await imp.add(n, r);
    }
    if (header === null) throw refused(where, 1, "the export is empty (no header)");
    if (sequences === null) {
      throw refused(
        where,
        n,
        'the export ends without its trailer (a line {"type":"end",...}): it is cut short',
      );
    }
    await q.transferAdvanceSequences(sequences);
    const broken = await checkInvariants({ q });
    if (broken.length > 0) {
      throw new KanbanError(
        "invalid_export",
        `${where}: the imported board would break its invariants: ${
          broken.map((v) => `${v.check} (${v.ids.slice(0, 5).join(", ")})`).join("; ")
        }; run "kanban doctor" on the exported board`,
      );
    }
    return { header, counts: imp.counts, sequences };
  }, { waitsOnInput: true }); // the input may pause (a pipe from another host, a slow disk)
}
