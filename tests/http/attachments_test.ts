import assert from "node:assert/strict";
import * as shapes from "../../lib/http/shapes.ts";
import { appSetup, AUTH, conforms, XSS } from "./_app.ts";

type Created = { task: { id: string }; created: boolean };

async function task(a: ReturnType<typeof appSetup>): Promise<string> {
  return (await a.ok<Created>("POST", "/api/v1/tasks", { title: "t" }, 201)).task.id;
}

/** upload posts raw bytes as an attachment named `name`. */
function upload(
  a: ReturnType<typeof appSetup>,
  id: string,
  name: string,
  body: BodyInit,
  headers: Record<string, string> = {},
) {
  return Promise.resolve(a.app.request(
    `/api/v1/tasks/${id}/attachments?name=${encodeURIComponent(name)}`,
    { method: "POST", headers: { ...AUTH, ...headers }, body },
  ));
}

Deno.test("POST uploads a file; GET lists it and downloads it byte for byte; DELETE removes it", async () => {
  await using a = appSetup();
  const id = await task(a);
  const bytes = new Uint8Array(4096).map((_, i) => (i * 13) % 256);
  const r = await upload(a, id, "100% trace.bin", bytes, {
    "content-type": "application/octet-stream",
  });
  assert.equal(r.status, 201, await r.clone().text());
  const made = await r.json();
  conforms(shapes.Attachment, made);
  assert.equal(made.name, "100% trace.bin");
  assert.equal(made.size, 4096);
  assert.equal(made.media_type, "application/octet-stream");
  assert.equal(made.created_by, "alice");
  const list = await a.ok<unknown[]>("GET", `/api/v1/tasks/${id}/attachments`);
  conforms(shapes.Attachments, list);
  assert.equal(list.length, 1);

  const path = `/api/v1/tasks/${id}/attachments/${encodeURIComponent("100% trace.bin")}`;
  const got = await a.call("GET", path);
  assert.equal(got.status, 200);
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytes);
  assert.equal(got.headers.get("content-type"), "application/octet-stream");
  assert.equal(got.headers.get("content-length"), "4096");
  assert.equal(
    got.headers.get("content-disposition"),
    `attachment; filename="100_ trace.bin"; filename*=UTF-8''100%25%20trace.bin`,
  );
  assert.equal(got.headers.get("x-content-type-options"), "nosniff");

  const gone = await a.ok<{ name: string }>("DELETE", path);
  assert.equal(gone.name, "100% trace.bin");
  assert.equal(
    (await a.fails("GET", path, undefined, 404, "not_found")).includes("100% trace.bin"),
    true,
  );
  assert.deepEqual(await a.ok("GET", `/api/v1/tasks/${id}/attachments`), []);
});

Deno.test("an HTML attachment is served as a download, never rendered", async () => {
  await using a = appSetup();
  const id = await task(a);
  const r = await upload(a, id, "page.html", XSS, { "content-type": "text/html" });
  assert.equal(r.status, 201);
  const got = await a.call("GET", `/api/v1/tasks/${id}/attachments/page.html`);
  assert.equal(await got.text(), XSS);
  assert.equal(got.headers.get("content-type"), "text/html");
  assert.match(got.headers.get("content-disposition")!, /^attachment; /);
  assert.equal(got.headers.get("x-content-type-options"), "nosniff");
  assert.match(got.headers.get("content-security-policy")!, /sandbox/);
  // the media type from the name when the upload says none
  const md = await upload(a, id, "notes.md", new TextEncoder().encode("# hi"));
  assert.equal((await md.json()).media_type, "text/markdown");
});

Deno.test("an upload over the cap is refused with 413 as it is read, naming the cap", async () => {
  await using a = appSetup({ attachments: { maxBytes: 1000, taskMaxBytes: 1500 } });
  const id = await task(a);
  const over = await upload(a, id, "big.log", new Uint8Array(1001));
  assert.equal(over.status, 413);
  const body = await over.json();
  assert.equal(body.error.code, "too_large");
  assert.match(
    body.error.message,
    /"big.log" is larger than the board's cap of 1000 bytes \(attachments.max_bytes\)/,
  );
  // a streamed body without a length is cut off at the cap too
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (sent >= 100_000) return ctl.close(); // bounded: stops by itself past the cap
      sent += 500;
      ctl.enqueue(new Uint8Array(500));
    },
  });
  const streamed = await upload(a, id, "stream.log", stream);
  assert.equal(streamed.status, 413);
  assert.ok(sent < 100_000, `the server read ${sent} bytes; it should stop near the cap`);
  assert.equal((await upload(a, id, "a.log", new Uint8Array(1000))).status, 201);
  const task2 = await upload(a, id, "b.log", new Uint8Array(600));
  assert.equal(task2.status, 413);
  assert.match((await task2.json()).error.message, /a task holds at most 1500/);
  assert.equal((await a.ok<unknown[]>("GET", `/api/v1/tasks/${id}/attachments`)).length, 1);
});

Deno.test("bad names, a taken name and a missing task are refused with clear errors", async () => {
  await using a = appSetup();
  const id = await task(a);
  const bad = await upload(a, id, "../etc/passwd", "x");
  assert.equal(bad.status, 400);
  assert.match(
    (await bad.json()).error.message,
    /Invalid attachment name "..\/etc\/passwd": it contains a path separator/,
  );
  const none = await Promise.resolve(a.app.request(`/api/v1/tasks/${id}/attachments`, {
    method: "POST",
    headers: AUTH,
    body: "x",
  }));
  assert.equal(none.status, 400);
  assert.equal((await upload(a, id, "a.txt", "1")).status, 201);
  const taken = await upload(a, id, "a.txt", "2");
  assert.equal(taken.status, 409);
  assert.equal((await taken.json()).error.code, "attachment_exists");
  assert.equal((await upload(a, "t_00000000", "a.txt", "1")).status, 404);
  await a.fails("DELETE", `/api/v1/tasks/${id}/attachments/nope`, undefined, 404, "not_found");
});
