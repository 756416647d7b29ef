/**
 * `dist/kanban serve` and `dispatch --serve` as real processes (the compiled binary runs on
 * Bun.serve): the login link they print, the token file, the API, the event stream across
 * Bun's idle timeout, and a clean exit on SIGTERM.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { AGENTS } from "../dispatch/_harness.ts";
import { BINARY, binaryHome } from "./_binary.ts";

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits until `re` matches stdout + stderr; returns the match. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(BINARY, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: async (re, ms = 10_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = (out + err).match(re);
        if (m) return m;
        assert.ok(Date.now() < deadline, `no ${re} in:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: async () => {
      // Deno's ChildProcess.kill() does not deliver a catchable SIGTERM: signal the pid.
      if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
      return await exited;
    },
  };
}

/** readUntil reads an SSE body until `re` matches what came so far. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  re: RegExp,
  ms: number,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  while (!re.test(text)) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), deadline - Date.now()))),
    ]);
    clearTimeout(timer);
    assert.ok(chunk !== null, `timed out waiting for ${re}; got ${JSON.stringify(text)}`);
    assert.ok(!chunk.done, `the stream ended; got ${JSON.stringify(text)}`);
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text;
}

Deno.test("dist/kanban serve prints a one-time login link, serves the API, and exits 0 on SIGTERM", async () => {
  using b = binaryHome();
  assert.equal(b.kanban(["init"]).code, 0);
  const env = { PATH: "/usr/bin:/bin", HOME: b.home, KANBAN_HOME: b.home, USER: "e2e" };
  const server = start(["serve", "--port", "0"], env);
  try {
    const [, loginUrl, base] = await server.waitFor(
      /log in \(the link works once\): ((http:\/\/127\.0\.0\.1:\d+\/)login\?t=\S+)/,
    );
    const tokenFile = (await server.waitFor(/API token: in (\S+)/))[1]!;
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, "utf8").trim();
    assert.ok(!(server.stdout() + server.stderr()).includes(token), "the token is not printed");
    const auth = { authorization: `Bearer ${token}` };

    const anonymous = await fetch(`${base}api/v1/board`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error.code, "unauthorized");
    const board = await fetch(`${base}api/v1/board`, { headers: auth });
    assert.equal(board.status, 200);
    assert.equal((await board.json()).total, 0);

    const created = await fetch(`${base}api/v1/tasks`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ title: "<b>from the API</b>", assignee: "coder" }),
    });
    assert.equal(created.status, 201);
    const { task } = await created.json();
    assert.equal(task.created_by, "e2e");
    const cli = b.json<{ task: { title: string } }>(["show", task.id]);
    assert.equal(cli.task.title, "<b>from the API</b>");

    const crossSite = await fetch(`${base}api/v1/tasks/${task.id}/archive`, {
      method: "POST",
      headers: { ...auth, origin: "http://evil.example" },
    });
    assert.equal(crossSite.status, 403);
    await crossSite.body?.cancel();

    const login = await fetch(loginUrl!, { redirect: "manual" });
    assert.equal(login.status, 303);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    await login.body?.cancel();
    const page = await fetch(base!, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="\/assets\/app\.js">/);
    const script = await fetch(`${base}assets/app.js`);
    assert.equal(script.status, 200);
    assert.ok((await script.text()).length > 50_000, "the bundled dashboard is in the binary");
    const reused = await fetch(loginUrl!, { redirect: "manual" });
    assert.equal(reused.status, 401);
    await reused.body?.cancel();

    assert.equal(await server.stop(), 0, server.stderr());
    assert.match(server.stderr(), /stopping/);
  } finally {
    await server.stop();
  }
});

Deno.test("an event stream from the binary outlives Bun's 10 s idle timeout and resumes by id", async () => {
  using b = binaryHome();
  assert.equal(b.kanban(["init"]).code, 0);
  const env = { PATH: "/usr/bin:/bin", HOME: b.home, KANBAN_HOME: b.home, USER: "e2e" };
  const server = start(["serve", "--port", "0", "--json"], env);
  try {
    const line = JSON.parse((await server.waitFor(/^\{.*\}$/m))[0]);
    const token = readFileSync(line.token_file, "utf8").trim();
    const first = b.json<{ id: string }>(["create", "first"]);
    const r = await fetch(`${line.url}api/v1/events`, {
      headers: { authorization: `Bearer ${token}`, "last-event-id": "0" },
    });
    assert.equal(r.status, 200);
    const reader = r.body!.getReader();
    const start = await readUntil(reader, /id: 1\n/, 5000);
    assert.match(start, new RegExp(first.id));
    await new Promise((res) => setTimeout(res, 11_000)); // quiet: no events, no keep-alive yet
    const second = b.json<{ id: string }>(["create", "second"]);
    const later = await readUntil(reader, /id: 2\n/, 5000);
    assert.match(later, new RegExp(second.id));
    await reader.cancel();
    assert.equal(await server.stop(), 0, server.stderr());
  } finally {
    await server.stop();
  }
});

Deno.test("kanban login prints a new one-time link from the running server, or says why not", async () => {
  using b = binaryHome();
  assert.equal(b.kanban(["init"]).code, 0);
  const noToken = b.kanban(["login"]);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /No board token at .*http-token: kanban serve .* makes it/);
  const env = { PATH: "/usr/bin:/bin", HOME: b.home, KANBAN_HOME: b.home, USER: "e2e" };
  const server = start(["serve", "--port", "0", "--json"], env);
  try {
    const { url } = JSON.parse((await server.waitFor(/^\{.*\}$/m))[0]);
    const made = b.json<{ login_url: string }>(["login", "--url", url]);
    assert.match(made.login_url, new RegExp(`^${url}login\\?t=\\S+$`));
    const text = b.kanban(["login", "--url", url]);
    assert.equal(text.code, 0, text.stderr);
    assert.notEqual(text.stdout.trim(), made.login_url, "a new code each time");
    const used = await fetch(made.login_url, { redirect: "manual" });
    assert.equal(used.status, 303);
    await used.body?.cancel();
    const again = await fetch(made.login_url, { redirect: "manual" });
    assert.equal(again.status, 401);
    await again.body?.cancel();

    const other = b.kanban(["login", "--url", url, "--board", "other"]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /No board token|refused the token/);
  } finally {
    await server.stop();
  }
  const down = b.kanban(["login", "--url", "http://127.0.0.1:1/"]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /No kanban server answers at http:\/\/127\.0\.0\.1:1/);
  // The token file gets the same checks as when the server reads it.
  chmodSync(join(b.home, "boards", "default", "board.db.http-token"), 0o644);
  const exposed = b.kanban(["login", "--url", "http://127.0.0.1:1/"]);
  assert.equal(exposed.code, 1);
  assert.match(exposed.stderr, /Refusing the token file .*other users may read it/);
  for (const url of ["not a url", "file:///etc/passwd"]) {
    const bad = b.kanban(["login", "--url", url]);
    assert.equal(bad.code, 2, url);
    assert.match(bad.stderr, new RegExp(`--url "${url}" is not an http\\(s\\) URL`));
  }
});

Deno.test("dist/kanban serve refuses a non-loopback address without --public, and a busy port", () => {
  using b = binaryHome();
  assert.equal(b.kanban(["init"]).code, 0);
  const r = b.kanban(["serve", "--host", "0.0.0.0", "--port", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Binding 0\.0\.0\.0 would expose the board .* pass --public/);
  assert.equal(b.kanban(["dispatch", "--once", "--serve"]).code, 2);
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busy = b.kanban(["serve", "--port", String(taken.addr.port)]);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /the address is in use \(pick another --port\)/);
});

Deno.test("dispatch --serve runs the dispatcher and the API together: a task made over HTTP gets done", async () => {
  using b = binaryHome();
  assert.equal(b.kanban(["init"]).code, 0);
  writeFileSync(
    join(b.home, "config.toml"),
    `[profiles.coder]\ncommand = ["${join(AGENTS, "complete.sh")}"]\n`,
  );
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: b.home,
    KANBAN_HOME: b.home,
    USER: "e2e",
    KANBAN_BIN: BINARY,
  };
  const both = start(["dispatch", "--serve", "--port", "0"], env);
  try {
    const [, base, loginUrl] = await both.waitFor(
      /serving (http:\/\/127\.0\.0\.1:\d+\/); log in \(the link works once\): (\S+)/,
    );
    const login = await fetch(loginUrl!, { redirect: "manual" });
    assert.equal(login.status, 303);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    await login.body?.cancel();
    const headers = { cookie, "content-type": "application/json" };
    const created = await fetch(`${base}api/v1/tasks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "work", assignee: "coder" }),
    });
    assert.equal(created.status, 201);
    const { task } = await created.json();
    const nudge = await fetch(`${base}api/v1/dispatch/nudge`, { method: "POST", headers });
    assert.equal(nudge.status, 202);
    await nudge.body?.cancel();
    let status = "";
    const deadline = Date.now() + 15_000;
    while (status !== "done" && Date.now() < deadline) {
      const r = await fetch(`${base}api/v1/tasks/${task.id}`, { headers });
      status = (await r.json()).task.status;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(status, "done", both.stderr());
    const health = await fetch(`${base}api/v1/status`, { headers });
    const h = await health.json();
    assert.equal(h.dispatchers.filter((d: { holds_board: boolean }) => d.holds_board).length, 1);
    assert.equal(await both.stop(), 0, both.stderr());
    assert.match(both.stderr(), /dispatcher stopped/);
  } finally {
    await both.stop();
  }
});
