/**
 * Attachments: `kanban attach ID FILE...` adds files to a task, `kanban attachments [ID]`
 * lists them, `kanban attachment get ID NAME` writes one out, `kanban detach ID NAME` removes
 * one. The files live in the board (every host reads them); their size is capped by the
 * config's [attachments] (default 25 MB a file, 100 MB a task). Inside a worker the id
 * defaults to its task and a worker attaches to and detaches from its own task only.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { attachmentLimits, loadConfig } from "../../config/config.ts";
import { bytesText, readBytesCapped, TooLargeError } from "../../readcap.ts";
import {
  type Attachment,
  type AttachmentLimits,
  checkAttachmentName,
  KanbanError,
  tooLargeError,
} from "../../store/mod.ts";
import { ownTarget, readTarget } from "../../tools/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { emit } from "../output.ts";

/** limitsOf reads the board's attachment caps from the config. */
function limitsOf(ctx: CliContext, configFile: string | undefined): AttachmentLimits {
  return attachmentLimits(loadConfig(ctx.env, configFile).attachments);
}

/** readFile reads one file to attach, at most the cap (stopping there: never unbounded). */
function readFile(ctx: CliContext, file: string, name: string, max: number): Uint8Array {
  const path = resolve(ctx.cwd, file);
  try {
    return readBytesCapped(path, max, `"${file}"`);
  } catch (err) {
    if (err instanceof TooLargeError) {
      throw new KanbanError(
        "too_large",
        `Cannot attach "${file}" as ${JSON.stringify(name)}: it is larger than the board's cap ` +
          `of ${bytesText(max)} (attachments.max_bytes)`,
      );
    }
    if (err instanceof KanbanError) throw err;
    throw new UsageError(`Cannot read "${file}": ${(err as Error).message}`);
  }
}

/** sizeText is a size as people read it: 812 B, 4.2 KiB, 3.1 MiB. */
export function sizeText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** attachmentLine is one attachment in a listing. */
function attachmentLine(a: Attachment): string {
  return `${a.name}  ${sizeText(a.size)}  ${a.media_type}  by ${a.created_by} at ${a.created_at}`;
}

/** writeOut writes bytes to `path` through a temporary file, never over an existing file. */
function writeOut(path: string, content: Uint8Array, force: boolean): void {
  if (existsSync(path) && !force) {
    throw new UsageError(`"${path}" exists; pass --force to replace it, or -o another file`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w", 0o644);
  try {
    let at = 0;
    while (at < content.length) at += writeSync(fd, content, at, content.length - at);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export function register(program: Command, ctx: CliContext): void {
  program.command("attach")
    .description("attach files to a task (kept in the board; see [attachments] caps)")
    .argument("<id>", "task id or unique prefix")
    .argument("<files...>", "files to attach")
    .option("--name <name>", "the attachment's name (one file only; default: the file's name)")
    .option("--type <media-type>", "its media type (default: from the name, e.g. text/plain)")
    .option("--config <path>", "config file (default: $KANBAN_CONFIG or <home>/config.toml)")
    .action(async (id, files, opts, cmd) => {
      if (opts.name !== undefined && files.length > 1) {
        throw new UsageError(`--name names one file; ${files.length} were given`);
      }
      const limits = limitsOf(ctx, opts.config);
      // every name and size is checked before anything is read whole or written
      const planned = files.map((file) => ({
        file,
        name: checkAttachmentName(opts.name ?? basename(file)),
      }));
      using s = session(ctx, cmd);
      const { id: task, actor } = await ownTarget(s.tools, id, "attach to");
      const added: Attachment[] = [];
      for (const p of planned) {
        const content = readFile(ctx, p.file, p.name, limits.maxBytes);
        if (content.length > limits.maxBytes) {
          throw tooLargeError(p.name, content.length, limits.maxBytes);
        }
        added.push(
          await s.store.attach(
            task,
            { name: p.name, content, media_type: opts.type },
            actor,
            limits,
          ),
        );
      }
      emit(
        ctx,
        s.json,
        added,
        () => added.map((a) => `${a.task_id}: attached ${a.name} (${sizeText(a.size)})`).join("\n"),
      );
    });

  program.command("attachments")
    .description("list a task's attachments (names, sizes, media types)")
    .argument("[id]", "task id or unique prefix (default: $KANBAN_TASK)")
    .action(async (id, _opts, cmd) => {
      using s = session(ctx, cmd);
      const list = await s.store.attachments(readTarget(s.tools, id));
      emit(
        ctx,
        s.json,
        list,
        () => list.length === 0 ? "no attachments" : list.map(attachmentLine).join("\n"),
      );
    });

  const attachment = program.command("attachment")
    .description("read a task's attachment: kanban attachment get ID NAME");
  attachment.command("get")
    .description("write an attachment to a file (default: NAME in the current folder)")
    .argument("<id>", "task id or unique prefix")
    .argument("<name>", "the attachment's name")
    .option("-o, --out <file>", "where to write it; - writes a text attachment to stdout")
    .option("--force", "replace an existing file")
    .action(async (id, name, opts, cmd) => {
      using s = session(ctx, cmd);
      const { attachment: a, content } = await s.store.attachment(id, name);
      if (opts.out === "-") {
        let text: string;
        try {
          text = new TextDecoder("utf-8", { fatal: true }).decode(content);
        } catch {
          throw new UsageError(
            `Attachment ${
              JSON.stringify(a.name)
            } is not UTF-8 text; write it to a file with -o FILE`,
          );
        }
        ctx.stdout(text);
        return;
      }
      const path = resolve(ctx.cwd, opts.out ?? a.name);
      writeOut(path, content, opts.force === true);
      emit(ctx, s.json, { ...a, path }, () => `wrote ${a.name} (${sizeText(a.size)}) to ${path}`);
    });

  program.command("detach")
    .description("remove an attachment from a task")
    .argument("<id>", "task id or unique prefix")
    .argument("<name>", "the attachment's name")
    .action(async (id, name, _opts, cmd) => {
      using s = session(ctx, cmd);
      const { id: task, actor } = await ownTarget(s.tools, id, "detach from");
      const a = await s.store.detach(task, name, actor);
      emit(ctx, s.json, a, () => `${a.task_id}: detached ${a.name}`);
    });
}
