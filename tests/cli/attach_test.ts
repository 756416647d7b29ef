/**
 * `kanban attach`, `attachments`, `attachment get`, `detach` and gc's removal of attachments,
 * through the in-process CLI on a real board file.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliHome, cliHome, create } from "./_cli.ts";

async function ok(h: CliHome, args: string[], env?: Record<string, string>) {
  const r = await h.run(args, env);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r;
}

interface AttachmentJson {
  name: string;
  size: number;
  media_type: string;
  sha256: string;
  run_id: number | null;
  created_by: string;
}

Deno.test("kanban attach, attachments, attachment get and detach round-trip a binary file", async () => {
  using h = await cliHome();
  const id = await create(h, "read the logs");
  const bytes = new Uint8Array(1000).map((_, i) => (i * 7) % 256);
  writeFileSync(join(h.home, "trace.bin"), bytes);
  writeFileSync(join(h.home, "spec.md"), "# Spec\n\nDo it.\n");
  const r = await ok(h, ["attach", id, "trace.bin", "spec.md"]);
  assert.equal(r.stdout, `${id}: attached trace.bin (1000 B)\n${id}: attached spec.md (15 B)\n`);

  const list = (await ok(h, ["attachments", id, "--json"])).json<AttachmentJson[]>();
  assert.deepEqual(list.map((a) => [a.name, a.size, a.media_type, a.created_by]), [
    ["spec.md", 15, "text/markdown", "tester"],
    ["trace.bin", 1000, "application/octet-stream", "tester"],
  ]);
  const text = await ok(h, ["attachments", id]);
  assert.match(text.stdout, /^spec\.md {2}15 B {2}text\/markdown {2}by tester at /);

  await ok(h, ["attachment", "get", id, "trace.bin", "-o", "out.bin"]);
  assert.deepEqual(new Uint8Array(readFileSync(join(h.home, "out.bin"))), bytes);
  // never over an existing file unless asked
  const again = await h.run(["attachment", "get", id, "trace.bin", "-o", "out.bin"]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /out\.bin" exists; pass --force/);
  await ok(h, ["attachment", "get", id, "trace.bin", "-o", "out.bin", "--force"]);
  // default: the attachment's name in the current folder
  rmSync(join(h.home, "spec.md"));
  await ok(h, ["attachment", "get", id, "spec.md"]);
  assert.equal(readFileSync(join(h.home, "spec.md"), "utf8"), "# Spec\n\nDo it.\n");
  assert.equal(
    (await ok(h, ["attachment", "get", id, "spec.md", "-o", "-"])).stdout,
    "# Spec\n\nDo it.\n",
  );
  const binary = await h.run(["attachment", "get", id, "trace.bin", "-o", "-"]);
  assert.equal(binary.code, 2);
  assert.match(binary.stderr, /"trace.bin" is not UTF-8 text; write it to a file with -o FILE/);

  await ok(h, ["detach", id, "trace.bin"]);
  assert.deepEqual(
    (await ok(h, ["attachments", id, "--json"])).json<AttachmentJson[]>().map((a) => a.name),
    ["spec.md"],
  );
  const gone = await h.run(["attachment", "get", id, "trace.bin"]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /has no attachment named "trace.bin"/);
});

Deno.test("kanban attach refuses a file over the configured cap, a bad name and a taken name", async () => {
  using h = await cliHome();
  writeFileSync(join(h.home, "config.toml"), '[attachments]\nmax_bytes = "1KB"\n');
  const id = await create(h, "t");
  writeFileSync(join(h.home, "big.log"), new Uint8Array(1025));
  writeFileSync(join(h.home, "ok.log"), new Uint8Array(1024));
  const big = await h.run(["attach", id, "big.log"]);
  assert.equal(big.code, 1);
  assert.match(
    big.stderr,
    /Cannot attach "big.log" as "big.log": it is larger than the board's cap of 1 KiB \(attachments.max_bytes\)/,
  );
  await ok(h, ["attach", id, "ok.log"]);
  const taken = await h.run(["attach", id, "ok.log"]);
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /already has an attachment named "ok.log"/);
  const bad = await h.run(["attach", id, "ok.log", "--name", "../x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid attachment name "..\/x": it contains a path separator/);
  const two = await h.run(["attach", id, "ok.log", "big.log", "--name", "x"]);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /--name names one file; 2 were given/);
  const missing = await h.run(["attach", id, "nope.txt"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Cannot read "nope.txt": .*no such file/i);
  writeFileSync(join(h.home, "config.toml"), '[attachments]\nmax_bytes = "49MB"\n');
  const cap = await h.run(["attach", id, "ok.log", "--name", "y"]);
  assert.equal(cap.code, 2);
  assert.match(cap.stderr, /attachments.max_bytes: "49MB" is larger than the maximum 48MB/);
});

Deno.test("a worker attaches to its own task only", async () => {
  using h = await cliHome();
  const mine = await create(h, "mine", "--assignee", "coder");
  const other = await create(h, "other");
  const c = (await ok(h, ["claim", mine, "--json"])).json<{ token: string; run: { id: number } }>();
  const env = { KANBAN_TASK: mine, KANBAN_TOKEN: c.token, KANBAN_PROFILE: "coder" };
  writeFileSync(join(h.home, "result.txt"), "42\n");
  const a = (await ok(h, ["attach", mine, "result.txt", "--json"], env)).json<AttachmentJson[]>();
  assert.equal(a[0]!.run_id, c.run.id);
  const foreign = await h.run(["attach", other, "result.txt"], env);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /a worker writes only to its own task/);
  assert.deepEqual((await ok(h, ["attachments", other, "--json"])).json(), []);
  // reads: its own listing, by default its task
  assert.equal((await ok(h, ["attachments", "--json"], env)).json<AttachmentJson[]>().length, 1);
});

Deno.test("kanban gc removes the attachments of an archived task", async () => {
  using h = await cliHome();
  const id = await create(h, "old");
  const keep = await create(h, "live");
  writeFileSync(join(h.home, "f.bin"), new Uint8Array(300));
  await ok(h, ["attach", id, "f.bin"]);
  await ok(h, ["attach", keep, "f.bin"]);
  await ok(h, ["archive", id]);
  const dry = (await ok(h, ["gc", "--dry-run", "--older-than", "0", "--json"])).json<
    { attachments: number; attachment_bytes: number }
  >();
  assert.deepEqual([dry.attachments, dry.attachment_bytes], [1, 300]);
  assert.equal((await ok(h, ["attachments", id, "--json"])).json<unknown[]>().length, 1);
  await ok(h, ["gc", "--older-than", "0"]);
  assert.deepEqual((await ok(h, ["attachments", id, "--json"])).json(), []);
  assert.equal((await ok(h, ["attachments", keep, "--json"])).json<unknown[]>().length, 1);
  assert.ok(existsSync(join(h.home, "f.bin")));
});
