/**
 * `kanban export [--out FILE]` and `kanban import FILE|-`: move a board, whole, between boards
 * and drivers as a JSON Lines stream (docs/export-format.md). Export writes standard output,
 * or FILE.tmp renamed to FILE once complete (never a half file under FILE's name); import
 * fills an empty board (created when missing, as `init` does) in one transaction, or refuses
 * and leaves it as it was.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  fchmodSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import {
  type ExportReport,
  type ImportReport,
  KanbanError,
  NotFoundError,
  type TransferCounts,
} from "../../store/mod.ts";
import { lines } from "../../lines.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { emit, oneLine } from "../output.ts";

/** What `import -` reads from standard input when the context cannot stream it (tests). */
const STDIN_MAX_BYTES = 1024 ** 3;

/** countsText says what a stream held: "3 tasks, 1 link, 4 runs, ...". */
export function countsText(c: TransferCounts): string {
  return Object.entries(c).map(([kind, n]) => `${n} ${kind}${n === 1 ? "" : "s"}`).join(", ");
}

/** cannotWrite names the file a write failed on (disk full, a missing folder, no permission). */
function cannotWrite(file: string, err: unknown): unknown {
  // a board's own error (KanbanError has a `code` too) passes as it is
  if (err instanceof KanbanError || (err as NodeJS.ErrnoException).code === undefined) return err;
  return new KanbanError("cannot_write", `Cannot write "${file}": ${(err as Error).message}`);
}

/** exportToFile writes the export to `file` by way of `file.tmp`, synced, then renamed. */
async function exportToFile(
  run: (write: (chunk: string) => void) => Promise<ExportReport>,
  file: string,
): Promise<ExportReport> {
  const tmp = `${file}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, "w", 0o600);
    // 0600 even over an older FILE.tmp: the stream carries secrets (lease tokens, webhook
    // secrets)
    fchmodSync(fd, 0o600);
  } catch (err) {
    throw cannotWrite(tmp, err);
  }
  let report: ExportReport;
  try {
    report = await run((chunk) => void writeSync(fd, chunk));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw cannotWrite(tmp, err);
  }
  return report;
}

function exportSummary(r: ExportReport, where: string) {
  return {
    out: where,
    version: r.header.version,
    schema_version: r.header.schema_version,
    exported_at: new Date(r.header.exported_at).toISOString(),
    counts: r.counts,
    sequences: r.sequences,
  };
}

function importSummary(r: ImportReport, board: string, from: string) {
  return {
    board,
    from,
    version: r.header.version,
    exported_at: new Date(r.header.exported_at).toISOString(),
    source: r.header.source,
    counts: r.counts,
    sequences: r.sequences,
  };
}

/** fileChunks streams the file at `path`; a file that cannot be read is named in the error. */
async function* fileChunks(path: string, name: string): AsyncGenerator<Uint8Array> {
  try {
    yield* createReadStream(path) as AsyncIterable<Uint8Array>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`No export file "${name}"`);
    if (code !== undefined) {
      throw new KanbanError("cannot_read", `Cannot read "${name}": ${(err as Error).message}`);
    }
    throw err;
  }
}

/** stdinChunks streams standard input when the context can, else reads it whole (capped). */
async function* stdinChunks(ctx: CliContext): AsyncGenerator<Uint8Array | string> {
  if (ctx.stdinStream) {
    yield* ctx.stdinStream();
    return;
  }
  yield await ctx.readStdin(STDIN_MAX_BYTES, "standard input");
}

export function register(program: Command, ctx: CliContext): void {
  program.command("export")
    .description("write the whole board as JSON Lines (docs/export-format.md) to stdout or FILE")
    .option("-o, --out <file>", "write FILE (by way of FILE.tmp, renamed when complete)")
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      if (opts.out === undefined) {
        // stdout is the stream: what was written goes to stderr
        const r = await s.store.exportBoard((chunk) => ctx.stdout(chunk));
        const summary = exportSummary(r, "-");
        ctx.stderr(
          s.json ? `${JSON.stringify(summary)}\n` : `Exported ${countsText(r.counts)}\n`,
        );
        return;
      }
      if (opts.out.trim() === "") throw new UsageError("--out needs a file name");
      const file = resolve(ctx.cwd, opts.out);
      if (existsSync(file) && statSync(file).isDirectory()) {
        throw new KanbanError("cannot_write", `Cannot write "${file}": it is a directory`);
      }
      const r = await exportToFile((write) => s.store.exportBoard(write), file);
      emit(
        ctx,
        s.json,
        exportSummary(r, file),
        () => `Exported ${countsText(r.counts)} to ${file}`,
      );
    });

  program.command("import")
    .description("read a board export (FILE, or - for stdin) into an empty board (--db/--board)")
    .argument("<file>", "the export to read; - reads standard input")
    .action(async (file, _opts, cmd) => {
      const from = file === "-" ? "standard input" : resolve(ctx.cwd, file);
      const name = file === "-" ? "standard input" : oneLine(file);
      // before the board is opened: a mistyped file name must not leave a new, empty board
      if (file !== "-" && !existsSync(from)) throw new NotFoundError(`No export file "${name}"`);
      if (file !== "-" && statSync(from).isDirectory()) {
        throw new KanbanError("cannot_read", `Cannot read "${name}": it is a directory`);
      }
      using s = session(ctx, cmd, { create: true });
      const chunks = file === "-" ? stdinChunks(ctx) : fileChunks(from, name);
      const r = await s.store.importBoard(lines(chunks, name), { name });
      emit(
        ctx,
        s.json,
        importSummary(r, s.store.where, from),
        () => `Imported ${countsText(r.counts)} into ${s.store.where}`,
      );
    });
}
