/**
 * Attachment routes: upload a file to a task (the raw request body, named by `?name=`),
 * list a task's attachments, download one, remove one. An upload is refused past the board's
 * cap while it is read (the app's body limit for this route is the cap), never buffered
 * whole beyond it. A download is always served as a file to save (Content-Disposition:
 * attachment), with `nosniff` and a sandboxing CSP (security.ts), so no attachment renders
 * as a page.
 */
import { z } from "zod";
import { type AttachmentLimits, checkAttachmentName, tooLargeError } from "../store/mod.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import * as shapes from "./shapes.ts";

/** The path of an upload, for the app's per-route body limit. */
export const UPLOAD_PATH = /^\/api\/v1\/tasks\/[^/]+\/attachments$/;

const UploadQuery = z.strictObject({
  name: z.string().describe("the attachment's file name (no folders)"),
});

/** contentDisposition names the file to save in both plain ASCII and RFC 5987 UTF-8. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** mediaTypeHeader is the upload's Content-Type, unless it is the generic default or absent. */
function mediaTypeHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const type = value.split(";")[0]!.trim().toLowerCase();
  return type === "" || type === "application/octet-stream" ? undefined : value;
}

export function attachmentRoutes(r: Routes, api: ApiContext, limits: AttachmentLimits): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}/attachments",
    tag: "attachments",
    summary: "A task's attachments (names, sizes, media types; no content)",
    ok: { status: 200, schema: shapes.Attachments, description: "the attachments, by name" },
    errors: [404],
    handler: async (c, { params }) => json(c, await store.attachments(params["id"]!)),
  });

  r.add({
    method: "post",
    path: "/api/v1/tasks/{id}/attachments",
    tag: "attachments",
    summary: "Attach a file to a task: the request body is the file, `name` its name",
    description: `The body is the file's bytes as they are (not JSON, not multipart); its ` +
      `Content-Type becomes the attachment's media type (else one is chosen from the name). ` +
      `A file over the board's cap (${limits.maxBytes} bytes, attachments.max_bytes) is ` +
      `refused with 413 as it is read; so is one that would take the task's attachments past ` +
      `attachments.task_max_bytes. A name the task already has is refused with 409.`,
    query: UploadQuery,
    ok: { status: 201, schema: shapes.Attachment, description: "the attachment" },
    errors: [404, 409, 413],
    handler: async (c, { params, query }) => {
      const name = checkAttachmentName(query.name);
      const content = new Uint8Array(await c.req.arrayBuffer());
      if (content.length > limits.maxBytes) {
        throw tooLargeError(name, content.length, limits.maxBytes);
      }
      const media = mediaTypeHeader(c.req.header("content-type"));
      const a = await store.attach(
        params["id"]!,
        { name, content, media_type: media },
        api.actor,
        limits,
      );
      return json(c, a, 201);
    },
  });

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}/attachments/{name}",
    tag: "attachments",
    summary: "Download an attachment (always as a file to save, never rendered)",
    ok: {
      status: 200,
      mediaType: "application/octet-stream",
      description: "the file; Content-Type is its media type",
    },
    errors: [404],
    handler: async (_c, { params }) => {
      // the router has decoded the name's percent escapes already
      const { attachment: a, content } = await store.attachment(params["id"]!, params["name"]!);
      return new Response(content as Uint8Array<ArrayBuffer>, {
        status: 200,
        headers: {
          "content-type": a.media_type,
          "content-length": String(content.length),
          "content-disposition": contentDisposition(a.name),
          "cache-control": "private, no-store",
        },
      });
    },
  });

  r.add({
    method: "delete",
    path: "/api/v1/tasks/{id}/attachments/{name}",
    tag: "attachments",
    summary: "Remove an attachment from a task",
    ok: { status: 200, schema: shapes.Attachment, description: "the removed attachment" },
    errors: [404],
    handler: async (c, { params }) =>
      json(c, await store.detach(params["id"]!, params["name"]!, api.actor)),
  });
}
