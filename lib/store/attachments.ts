/**
 * Attachments: the files a task carries (a spec, a screenshot, a log), kept in the board
 * through its driver so that every host reading the board reads them. The store checks each
 * file's name, media type and size, and the task's totals, against the board's caps, and
 * records `attached` and `detached` events; a worker attaches to and detaches from its own
 * task only (fenced by its lease token, audited by confine.ts like any worker write).
 * Listing reads metadata only; content is read one attachment at a time.
 */
import { createHash } from "node:crypto";
import { appendEvent, type Kernel, resolveTask } from "./_kernel.ts";
import { iso } from "./_rows.ts";
import type { AttachmentContentRow, AttachmentRow } from "./driver/attachments.ts";
import { ConflictError, KanbanError, NotFoundError, ValidationError } from "./errors.ts";
import { fence } from "./runs.ts";
import type { Actor } from "./types.ts";

/** The default cap on one attachment's size: 25 MiB. */
export const ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024;
/** The default cap on the bytes of all of one task's attachments: 100 MiB. */
export const ATTACHMENTS_TASK_MAX_BYTES = 100 * 1024 * 1024;
/** The most attachments one task holds. */
export const ATTACHMENTS_TASK_MAX = 100;
/**
 * The largest cap a configuration may set for one attachment: its export line (base64) stays
 * under the 64 MiB an import reads per line.
 */
export const ATTACHMENT_CAP_LIMIT = 48 * 1024 * 1024;
/** The longest attachment name, in characters. */
export const ATTACHMENT_NAME_MAX = 255;

/** The caps an attachment is checked against (config: [attachments]). */
export interface AttachmentLimits {
  /** The largest attachment, in bytes. */
  maxBytes: number;
  /** The most bytes of all of one task's attachments. */
  taskMaxBytes: number;
}

/** The caps of a board whose configuration sets none. */
export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxBytes: ATTACHMENT_MAX_BYTES,
  taskMaxBytes: ATTACHMENTS_TASK_MAX_BYTES,
};

/** An attachment as the surfaces show it (no content). */
export interface Attachment {
  id: number;
  task_id: string;
  /** The run whose worker attached it; null when a person did. */
  run_id: number | null;
  name: string;
  media_type: string;
  size: number;
  /** The content's SHA-256, lower-case hex. */
  sha256: string;
  created_by: string;
  created_at: string;
}

/** A new attachment: its name, content and, optionally, media type (else from the name). */
export interface AttachInput {
  name: string;
  content: Uint8Array;
  media_type?: string | undefined;
}

/** toAttachment shapes a stored row for the surfaces. */
export function toAttachment(r: AttachmentRow): Attachment {
  return {
    id: r.id,
    task_id: r.task_id,
    run_id: r.run_id,
    name: r.name,
    media_type: r.media_type,
    size: r.size,
    sha256: r.sha256,
    created_by: r.created_by,
    created_at: iso(r.created_at),
  };
}

// Controls (C0, DEL, C1), the line and paragraph separators, and the bidirectional
// overrides and isolates, which would make a name read differently from what it is in a
// terminal or a prompt.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * attachmentNameProblem says what is wrong with an attachment name, or null when it is safe:
 * one plain file name (no folder), so that it can be written into a workspace as is.
 */
export function attachmentNameProblem(name: string): string | null {
  if (name.length === 0) return "it is empty";
  if (name.length > ATTACHMENT_NAME_MAX) {
    return `it is longer than ${ATTACHMENT_NAME_MAX} characters`;
  }
  if (name.includes("/") || name.includes("\\")) {
    return "it contains a path separator (/ or \\): name the file alone";
  }
  if (name === "." || name === "..") return `"${name}" names a folder`;
  if (UNSAFE.test(name)) {
    return "it contains a control, line separator or bidirectional formatting character";
  }
  if (name.trim() !== name) return "it begins or ends with white space";
  if (name.startsWith("-")) return 'it begins with "-" (it would read as an option)';
  return null;
}

/** checkName throws a ValidationError naming the attachment name and what is wrong with it. */
export function checkAttachmentName(name: string): string {
  const problem = attachmentNameProblem(name);
  if (problem !== null) {
    throw new ValidationError(`Invalid attachment name ${JSON.stringify(name)}: ${problem}`);
  }
  return name;
}

/** Media types by file extension: the common kinds of what people hand a worker. */
const MEDIA_TYPES: Record<string, string> = {
  txt: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  xml: "application/xml",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "text/javascript",
  ts: "text/plain",
  diff: "text/x-diff",
  patch: "text/x-diff",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
};

/** mediaTypeOf guesses a name's media type from its extension (application/octet-stream). */
export function mediaTypeOf(name: string): string {
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  return MEDIA_TYPES[ext] ?? "application/octet-stream";
}

const MEDIA_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** checkMediaType reads a given media type ("text/plain"; parameters are dropped). */
export function checkMediaType(given: string): string {
  const type = given.split(";")[0]!.trim().toLowerCase();
  if (!MEDIA_TYPE.test(type)) {
    throw new ValidationError(
      `Invalid media type ${JSON.stringify(given)}: expected type/subtype, e.g. text/plain`,
    );
  }
  return type;
}

/** checkLimits refuses caps that are not positive whole numbers up to ATTACHMENT_CAP_LIMIT. */
export function checkLimits(limits: AttachmentLimits): AttachmentLimits {
  for (const [what, n] of Object.entries(limits)) {
    if (!Number.isSafeInteger(n) || n < 1 || n > ATTACHMENT_CAP_LIMIT * ATTACHMENTS_TASK_MAX) {
      throw new ValidationError(`Invalid attachment cap ${what}: ${n}`);
    }
  }
  return limits;
}

/** tooLarge is the error for content over the cap on one attachment. */
export function tooLargeError(name: string, size: number, maxBytes: number): KanbanError {
  return new KanbanError(
    "too_large",
    `Attachment ${JSON.stringify(name)} is ${size} bytes; the board's cap is ${maxBytes} bytes ` +
      `(attachments.max_bytes)`,
  );
}

/** sha256Hex is the SHA-256 of `content`, lower-case hex. */
export function sha256Hex(content: Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * attach adds a file to a task. Refused: a bad name or media type, content over the cap, a
 * task whose attachments would pass the task's caps, a name the task already has (detach
 * it first), an archived task, and a worker's write to another task than its own.
 */
export async function attach(
  k: Kernel,
  ref: string,
  input: AttachInput,
  actor: Actor,
  limits: AttachmentLimits,
): Promise<Attachment> {
  const name = checkAttachmentName(input.name);
  const mediaType = input.media_type === undefined || input.media_type.trim() === ""
    ? mediaTypeOf(name)
    : checkMediaType(input.media_type);
  const size = input.content.byteLength;
  if (size > limits.maxBytes) throw tooLargeError(name, size, limits.maxBytes);
  const task = await resolveTask(k, ref, true);
  const run = await fence(k, task, actor, "attach to");
  if (task.status === "archived") {
    throw new ConflictError(
      "archived",
      `Cannot attach to task "${task.id}": it is archived (unarchive it first)`,
    );
  }
  const totals = await k.q.attachmentTotals(task.id);
  if (totals.n >= ATTACHMENTS_TASK_MAX) {
    throw new ValidationError(
      `Cannot attach ${JSON.stringify(name)} to task "${task.id}": it has ` +
        `${totals.n} attachments, the most a task holds`,
    );
  }
  if (totals.bytes + size > limits.taskMaxBytes) {
    throw new KanbanError(
      "too_large",
      `Cannot attach ${JSON.stringify(name)} (${size} bytes) to task "${task.id}": its ` +
        `attachments would hold ${totals.bytes + size} bytes; a task holds at most ` +
        `${limits.taskMaxBytes} (attachments.task_max_bytes)`,
    );
  }
  const row = await k.q.attachmentInsert({
    task_id: task.id,
    run_id: run?.id ?? null,
    name,
    media_type: mediaType,
    size,
    sha256: sha256Hex(input.content),
    content: input.content,
    created_by: actor.name,
    created_at: k.now(),
  });
  if (row === undefined) {
    throw new ConflictError(
      "attachment_exists",
      `Task "${task.id}" already has an attachment named ${JSON.stringify(name)}; ` +
        `detach it first or choose another name`,
    );
  }
  appendEvent(k, task.id, run?.id ?? null, "attached", actor, {
    attachment: row.id,
    name,
    size,
    sha256: row.sha256,
  });
  return toAttachment(row);
}

/** listAttachments lists a task's attachments by name, without their content. */
export async function listAttachments(k: Kernel, ref: string): Promise<Attachment[]> {
  const task = await resolveTask(k, ref);
  return (await k.q.attachmentsOf(task.id)).map(toAttachment);
}

/** An attachment with its content. */
export interface AttachmentContent {
  attachment: Attachment;
  content: Uint8Array;
}

function missing(taskId: string, name: string): NotFoundError {
  return new NotFoundError(`Task "${taskId}" has no attachment named ${JSON.stringify(name)}`);
}

/** readAttachment reads one attachment of a task, content included. */
export async function readAttachment(
  k: Kernel,
  ref: string,
  name: string,
): Promise<AttachmentContent> {
  const task = await resolveTask(k, ref);
  const row: AttachmentContentRow | undefined = await k.q.attachmentRead(task.id, name);
  if (row === undefined) throw missing(task.id, name);
  const { content, ...meta } = row;
  return { attachment: toAttachment(meta), content: new Uint8Array(content) };
}

/** detach removes an attachment from a task; a worker detaches from its own task only. */
export async function detach(
  k: Kernel,
  ref: string,
  name: string,
  actor: Actor,
): Promise<Attachment> {
  const task = await resolveTask(k, ref, true);
  const run = await fence(k, task, actor, "detach from");
  const row = await k.q.attachmentDelete(task.id, name);
  if (row === undefined) throw missing(task.id, name);
  appendEvent(k, task.id, run?.id ?? null, "detached", actor, {
    attachment: row.id,
    name,
  });
  return toAttachment(row);
}
