/**
 * Hostile HTTP and storage faults (issue 11, point 10): a request without a Host, lists too
 * long for one answer, old login links, clients that never finish or never leave, a full
 * disk, a read-only board and a path that is no board. The servers are real: serve() under
 * Deno (node:http) on 127.0.0.1, and the compiled binary (Bun.serve) for what only it does.
 * The binary is dist/kanban, or $KANBAN_E2E_BINARY.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { DatabaseSync } from "node:sqlite";
import { createApp, LoginCodes } from "../../lib/http/mod.ts";
import { toError } from "../../lib/http/errors.ts";
import { serve, type Server } from "../../lib/runtime.ts";
import {
  BoardIoError,
  DiskFullError,
  KanbanError,
  NotABoardError,
  ReadOnlyBoardError,
} from "../../lib/store/mod.ts";
import { type Bundle, HUMAN, setup, tempDir } from "../_setup.ts";
import { cliHome } from "../cli/_cli.ts";
import { BINARY as DIST_BINARY } from "../e2e/_binary.ts";
import { appSetup, AUTH, TOKEN } from "./_app.ts";

const BINARY = Deno.env.get("KANBAN_E2E_BINARY") ?? DIST_BINARY;
const enc = new TextEncoder();
const dec = new TextDecoder();

// A raw TCP client ---------------------------------------------------------------------------

interface Exchange {
  /** Everything the server sent. */
  text: string;
  /** ms from connecting until the server closed the connection; null: still open at the end. */
  closedAfterMs: number | null;
  /** ms from connecting until the last bytes arrived. */
  lastDataMs: number;
}

/**
 * exchange connects to 127.0.0.1:`port`, sends `request` (as given: no Host is added), then
 * reads until the server closes the connection or `waitMs` pass.
 */
async function exchange(port: number, request: string, waitMs: number): Promise<Exchange> {
  const started = Date.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (request !== "") await conn.write(enc.encode(request));
  const reader = conn.readable.getReader();
  let text = "";
  let lastDataMs = 0;
  let closedAfterMs: number | null = null;
  const deadline = started + waitMs;
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((go) => {
      timer = setTimeout(() => go("timeout"), deadline - Date.now());
    });
    const r = await Promise.race([reader.read(), timeout]).catch(() => ({ done: true as const }));
    clearTimeout(timer);
    if (r === "timeout") break;
    if (r.done) {
      closedAfterMs = Date.now() - started;
      break;
    }
    text += dec.decode(r.value, { stream: true });
    lastDataMs = Date.now() - started;
  }
  await reader.cancel().catch(() => {});
  try {
    conn.close();
  } catch { /* closed by the server */ }
  return { text, closedAfterMs, lastDataMs };
}

/** parseResponse reads the status and the JSON body of one raw HTTP response. */
function parseResponse(raw: string): { status: number; body: { error: { code: string } } } {
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1]);
  const split = raw.indexOf("\r\n\r\n");
  let body = raw.slice(split + 4);
  if (/^transfer-encoding: chunked/im.test(raw.slice(0, split))) {
    let plain = "";
    for (let at = 0;;) {
      const eol = body.indexOf("\r\n", at);
      const size = parseInt(body.slice(at, eol), 16);
      if (!(size > 0)) break;
      plain += body.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    body = plain;
  }
  return { status, body: JSON.parse(body) };
}

// A board served by serve() under Deno ------------------------------------------------------

interface Live extends AsyncDisposable {
  b: Bundle;
  server: Server;
  url: string;
}

async function live(timeouts: { headersS: number; idleS: number }): Promise<Live> {
  const b = setup();
  const streams = new AbortController();
  const app = createApp({
    store: b.store,
    token: TOKEN,
    signal: streams.signal,
    pollMs: 20,
    keepAliveMs: 200,
  });
  const server = await serve(app.fetch, { hostname: "127.0.0.1", port: 0, timeouts });
  return {
    b,
    server,
    url: `http://127.0.0.1:${server.port}`,
    [Symbol.asyncDispose]: async () => {
      streams.abort();
      await server.shutdown();
      await b[Symbol.asyncDispose]();
    },
  };
}

// Host ---------------------------------------------------------------------------------------

Deno.test("a request without a Host header on a real socket is a 400 missing_host JSON error, on the API and the page", async () => {
  await using l = await live({ headersS: 10, idleS: 10 });
  for (const path of ["/api/v1/tasks", "/", "/login?t=x", "/assets/app.js"]) {
    const r = await exchange(l.server.port, `GET ${path} HTTP/1.0\r\n\r\n`, 5000);
    const { status, body } = parseResponse(r.text);
    assert.equal(status, 400, `${path}: ${r.text}`);
    assert.equal(body.error.code, "missing_host", path);
    assert.match(r.text, /no Host header/);
    assert.match(r.text, /Content-Security-Policy/i, "the strict headers are there too");
  }
  const empty = await exchange(
    l.server.port,
    "GET /api/v1/tasks HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
    5000,
  );
  assert.equal(parseResponse(empty.text).status, 400, empty.text);
  assert.equal(parseResponse(empty.text).body.error.code, "missing_host");
  assert.match(empty.text, /an empty Host header/);
  // The same request with a Host goes on to the token check.
  const named = await exchange(
    l.server.port,
    "GET /api/v1/tasks HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
    5000,
  );
  assert.equal(parseResponse(named.text).status, 401, named.text);
});

// Paging ---------------------------------------------------------------------------------------

function nextLink(r: Response): string | null {
  const link = r.headers.get("link");
  if (link === null) return null;
  const m = /^<([^>]+)>; rel="next"$/.exec(link);
  assert.ok(m, `Link header ${link}`);
  return m[1]!;
}

Deno.test("GET /api/v1/tasks answers 500 tasks by default and a Link header pages through all of them", async () => {
  await using a = appSetup();
  const total = 1234;
  await a.b.store.createTasks(
    Array.from({ length: total }, (_, i) => ({ title: `task ${i}`, priority: i % 7 })),
    HUMAN,
  );
  const first = await a.call("GET", "/api/v1/tasks?status=ready");
  assert.equal(first.status, 200);
  assert.equal((await first.json()).length, 500);
  assert.equal(nextLink(first), "/api/v1/tasks?status=ready&offset=500&limit=500");

  const seen: string[] = [];
  const pages: number[] = [];
  let path: string | null = "/api/v1/tasks?limit=300";
  while (path !== null) {
    const r = await a.call("GET", path);
    assert.equal(r.status, 200, path);
    const page = await r.json() as { id: string }[];
    pages.push(page.length);
    seen.push(...page.map((t) => t.id));
    path = nextLink(r);
    assert.ok(pages.length < 10, "the links end");
  }
  assert.deepEqual(pages, [300, 300, 300, 300, 34]);
  assert.equal(new Set(seen).size, total, "every task once");
  const whole = await a.ok<{ id: string }[]>("GET", "/api/v1/tasks?limit=5000");
  assert.deepEqual(seen, whole.map((t) => t.id), "pages keep the list's order");

  const last = await a.call("GET", "/api/v1/tasks?limit=1234");
  assert.equal(nextLink(last), null, "no Link when this page is the last");
  await last.body?.cancel();
  const beyond = await a.call("GET", "/api/v1/tasks?offset=5000");
  assert.deepEqual(await beyond.json(), []);
  assert.equal(nextLink(beyond), null);
  assert.match(
    await a.fails("GET", "/api/v1/tasks?limit=5001", undefined, 400, "invalid_input"),
    /limit is above 5000/,
  );
  await a.fails("GET", "/api/v1/tasks?offset=-1", undefined, 400, "invalid_input");
});

Deno.test("GET /api/v1/assignees answers a page, busiest first, with a Link to the next", async () => {
  await using a = appSetup();
  await a.b.store.createTasks(
    Array.from({ length: 30 }, (_, i) => ({ title: `t${i}`, assignee: `agent${i % 3}` })),
    HUMAN,
  );
  const r = await a.call("GET", "/api/v1/assignees?limit=2");
  const page = await r.json() as { assignee: string }[];
  assert.equal(page.length, 2);
  const next = nextLink(r);
  assert.equal(next, "/api/v1/assignees?limit=2&offset=2");
  const rest = await a.call("GET", next!);
  assert.equal((await rest.json()).length, 1);
  assert.equal(nextLink(rest), null);
  assert.equal((await a.ok<unknown[]>("GET", "/api/v1/assignees")).length, 3);
});

Deno.test("GET /api/v1/board counts every task but lists at most `limit` per column, as the full list orders them", async () => {
  await using a = appSetup();
  const made = await a.b.store.createTasks(
    Array.from({ length: 40 }, (_, i) => ({
      title: `t${i}`,
      priority: i % 4,
      triage: i % 3 === 0,
      tenant: i % 2 === 0 ? "acme" : "zeta",
    })),
    HUMAN,
  );
  await a.b.store.block(made[1]!.task.id, "why", HUMAN);
  for (const tenant of [undefined, "acme"]) {
    const q = tenant === undefined ? "" : `&tenant=${tenant}`;
    const board = await a.ok<{
      columns: { status: string; count: number; tasks: { id: string }[] }[];
      total: number;
    }>("GET", `/api/v1/board?limit=3${q}`);
    const all = await a.ok<{ id: string; status: string }[]>("GET", `/api/v1/tasks?limit=5000${q}`);
    assert.equal(board.total, all.length);
    for (const col of board.columns) {
      const expected = all.filter((t) => t.status === col.status);
      assert.equal(col.count, expected.length, col.status);
      assert.deepEqual(col.tasks.map((t) => t.id), expected.slice(0, 3).map((t) => t.id));
    }
  }
});

// Login codes -------------------------------------------------------------------------------

Deno.test("a login code works once and only for 10 minutes; an expired one gets a page that says so", async () => {
  const b = setup();
  const logins = new LoginCodes(b.clock.now);
  const app = createApp({ store: b.store, token: TOKEN, logins, now: b.clock.now });
  try {
    const login = (code: string) => app.request(`/login?t=${code}`, { redirect: "manual" });
    const fresh = logins.issue();
    const stale = logins.issue();
    b.clock.advance(10 * 60_000 - 1);
    const ok = await login(fresh);
    assert.equal(ok.status, 303, "just inside 10 minutes");
    assert.match(ok.headers.get("set-cookie") ?? "", /HttpOnly/);
    const again = await login(fresh);
    assert.equal(again.status, 401, "single use");
    assert.match(await again.text(), /not valid/);
    assert.equal(again.headers.get("set-cookie"), null);

    b.clock.advance(1);
    const expired = await login(stale);
    assert.equal(expired.status, 401);
    const page = await expired.text();
    assert.match(page, /This login link has expired/);
    assert.match(page, /10 minutes/);
    assert.match(page, /kanban login/);
    assert.equal(expired.headers.get("set-cookie"), null);
    assert.equal(logins.size, 0, "used and expired codes are forgotten");

    // Codes from the API (kanban login) expire the same way.
    const made = await app.request("/api/v1/login-codes", { method: "POST", headers: AUTH });
    const { path } = await made.json() as { path: string };
    b.clock.advance(11 * 60_000);
    assert.equal((await app.request(path, { redirect: "manual" })).status, 401);
  } finally {
    await b[Symbol.asyncDispose]();
  }
});

Deno.test("login codes are bounded: a flood of new codes forgets the oldest", () => {
  const logins = new LoginCodes();
  const first = logins.issue();
  for (let i = 0; i < 1500; i++) logins.issue();
  assert.equal(logins.size, 1000);
  assert.equal(logins.use(first), "unknown");
});

// Idle connections under Deno (node:http) ------------------------------------------------------

Deno.test("serve() under Deno closes a connection whose headers never finish, even when they trickle in", async () => {
  await using l = await live({ headersS: 1, idleS: 1 });
  const silent = exchange(l.server.port, "", 8000);
  const partial = exchange(
    l.server.port,
    "GET /api/v1/stats HTTP/1.1\r\nHost: localhost\r\n",
    8000,
  );
  // A slowloris client: one more header line every 300 ms, never the blank line.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: l.server.port });
  const started = Date.now();
  await conn.write(enc.encode("GET /api/v1/stats HTTP/1.1\r\nHost: localhost\r\n"));
  let closedAfter: number | null = null;
  const drip = (async () => {
    for (let i = 0; i < 25; i++) {
      await new Promise((go) => setTimeout(go, 300));
      try {
        await conn.write(enc.encode(`X-Drip-${i}: x\r\n`));
      } catch {
        closedAfter = Date.now() - started;
        return;
      }
    }
  })();
  const readAll = (async () => {
    const buf = new Uint8Array(1024);
    let text = "";
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
    closedAfter ??= Date.now() - started;
    return text;
  })();
  const [s, p, dripped] = await Promise.all([silent, partial, readAll]);
  await drip;
  try {
    conn.close();
  } catch { /* closed */ }
  for (const [what, r] of [["silent", s], ["partial", p]] as const) {
    assert.ok(r.closedAfterMs !== null && r.closedAfterMs < 5000, `${what}: ${r.closedAfterMs}`);
  }
  assert.match(p.text, /^HTTP\/1\.1 408/, "a partial request is told it timed out");
  assert.ok(closedAfter !== null && closedAfter < 5000, `slowloris closed after ${closedAfter}`);
  assert.match(dripped, /^HTTP\/1\.1 408/, "the slow client is told it timed out");
});

Deno.test("serve() under Deno closes an idle keep-alive connection after the idle timeout", async () => {
  await using l = await live({ headersS: 5, idleS: 1 });
  const r = await exchange(
    l.server.port,
    "GET /assets/app.css HTTP/1.1\r\nHost: localhost\r\n\r\n",
    8000,
  );
  assert.match(r.text, /^HTTP\/1\.1 200/, r.text.slice(0, 200));
  assert.ok(r.closedAfterMs !== null, "the server closed the idle connection");
  const idle = r.closedAfterMs - r.lastDataMs;
  assert.ok(idle >= 500 && idle < 5000, `closed ${idle} ms after the response`);
});

Deno.test("an event stream outlives the idle timeout and keeps delivering events", async () => {
  await using l = await live({ headersS: 1, idleS: 1 });
  const r = await fetch(`${l.url}/api/v1/events`, { headers: AUTH });
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  let text = "";
  const started = Date.now();
  const task = await l.b.store.createTask({ title: "first" }, HUMAN);
  let commented = false;
  while (Date.now() - started < 10_000) {
    const { done, value } = await reader.read();
    assert.ok(!done, `the stream ended after ${Date.now() - started} ms`);
    text += dec.decode(value);
    // Three idle timeouts later, an event still arrives.
    if (!commented && Date.now() - started > 3000) {
      await l.b.store.comment(task.task.id, "still there?", HUMAN);
      commented = true;
    }
    if (commented && text.includes('"kind":"commented"')) break;
  }
  assert.match(text, /: keep-alive/);
  assert.match(text, /"kind":"commented"/, "an event sent after 3 s arrived");
  await reader.cancel();
});

// Error codes --------------------------------------------------------------------------------

Deno.test("storage errors keep their specific code and get a 5xx status on HTTP", () => {
  const cases: [KanbanError, number][] = [
    [new DiskFullError("/b.db", "database or disk is full"), 507],
    [new ReadOnlyBoardError("/b.db", "readonly"), 503],
    [new NotABoardError("/b.db", "it is a directory"), 500],
    [new BoardIoError("/b.db", "disk I/O error"), 500],
  ];
  for (const [err, status] of cases) {
    const r = toError(err);
    assert.equal(r.status, status, err.code);
    assert.equal(r.body.error.code, err.code);
    assert.notEqual(err.code, "internal");
  }
  // A PostgreSQL server out of reach is 503 board_unavailable (retry), without its address.
  const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), {
    code: "ECONNREFUSED",
  });
  const r = toError(refused);
  assert.equal(r.status, 503);
  assert.equal(r.body.error.code, "board_unavailable");
  assert.doesNotMatch(r.body.error.message, /10\.0\.0\.5/);
  assert.equal(toError(new Error("boom")).status, 500);
});

Deno.test("--db naming no board (/dev/null, a directory, a text file, another program's SQLite) is not_a_board on the CLI", async () => {
  using h = await cliHome({ init: false });
  const text = join(h.home, "notes.txt");
  writeFileSync(text, "shopping list\n");
  const other = join(h.home, "other.db");
  const db = new DatabaseSync(other);
  db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)");
  db.close();
  const otherBytes = readFileSync(other);
  for (
    const [path, why] of [
      ["/dev/null", /it is a device/],
      [h.home, /it is a directory/],
      [text, /not a database/],
      [other, /another program/],
    ] as const
  ) {
    for (const verb of [["list"], ["create", "x"], ["init"]]) {
      const json = await h.run(["--db", path, ...verb, "--json"]);
      assert.equal(json.code, 1, `${path} ${verb}: ${json.stdout}${json.stderr}`);
      const error = json.json<{ error: { code: string; message: string } }>().error;
      assert.equal(error.code, "not_a_board", `${path} ${verb}: ${error.message}`);
      assert.match(error.message, why);
      assert.match(error.message, /--db/);
      const plain = await h.run(["--db", path, ...verb]);
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /is not a kanban board/);
      assert.doesNotMatch(plain.stderr, /internal/);
    }
  }
  assert.equal(readFileSync(text, "utf8"), "shopping list\n", "the text file is untouched");
  assert.deepEqual(readFileSync(other), otherBytes, "the other database is untouched");
  assert.deepEqual(readdirSync(h.home).sort(), ["notes.txt", "other.db"], "no -wal, -shm");
});

// The compiled binary (Bun.serve) --------------------------------------------------------------

const haveBinary = existsSync(BINARY);
const asRoot = process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;

interface Served {
  child: ChildProcess;
  port: number;
  url: string;
  token: () => string;
  stop(): Promise<void>;
}

/**
 * serveBinary starts `kanban --db BOARD serve --port 0 --json ARGS` (behind `wrap`, e.g.
 * `unshare -m sh -c ...`) and waits for its JSON line.
 */
async function serveBinary(
  command: string[],
  env: Record<string, string> = {},
): Promise<Served> {
  const child = spawn(command[0]!, command.slice(1), {
    env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: "/nonexistent", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => out += d);
  child.stderr!.on("data", (d) => err += d);
  const exited = new Promise<void>((go) => child.once("exit", () => go()));
  const deadline = Date.now() + 15_000;
  while (!out.includes("\n")) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`kanban serve did not start: ${out}${err}`);
    }
    await new Promise((go) => setTimeout(go, 25));
  }
  const line = JSON.parse(out.split("\n")[0]!) as { url: string; token_file: string };
  const port = Number(new URL(line.url).port);
  return {
    child,
    port,
    url: line.url,
    token: () => readFileSync(line.token_file, "utf8").trim(),
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** kanban runs the binary (behind `prefix`, e.g. nsenter) and returns its exit and output. */
function kanban(prefix: string[], args: string[]) {
  const argv = [...prefix, BINARY, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: "/nonexistent" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

Deno.test({
  name: "the binary answers a request without a Host with 400 missing_host, not 500",
  ignore: !haveBinary,
  fn: async () => {
    using tmp = tempDir();
    const board = join(tmp.dir, "board.db");
    assert.equal(kanban([], ["--db", board, "init", "--json"]).code, 0);
    const s = await serveBinary([BINARY, "--db", board, "serve", "--port", "0", "--json"]);
    try {
      for (const path of ["/api/v1/tasks", "/"]) {
        const r = await exchange(s.port, `GET ${path} HTTP/1.0\r\n\r\n`, 5000);
        const { status, body } = parseResponse(r.text);
        assert.equal(status, 400, r.text);
        assert.equal(body.error.code, "missing_host");
      }
    } finally {
      await s.stop();
    }
  },
});

Deno.test({
  name: "the binary closes idle keep-alive connections after --idle-timeout and stalled " +
    "headers after about 10 s, but never an event stream",
  ignore: !haveBinary,
  fn: async () => {
    using tmp = tempDir();
    const board = join(tmp.dir, "board.db");
    assert.equal(kanban([], ["--db", board, "init", "--json"]).code, 0);
    const s = await serveBinary([
      BINARY,
      "--db",
      board,
      "serve",
      "--port",
      "0",
      "--json",
      "--idle-timeout",
      "2",
    ]);
    try {
      const events = await fetch(`${s.url}api/v1/events`, {
        headers: { authorization: `Bearer ${s.token()}` },
      });
      assert.equal(events.status, 200);
      const [idle, stalled] = await Promise.all([
        exchange(s.port, "GET /assets/app.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 10_000),
        exchange(s.port, "GET /api/v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n", 16_000),
      ]);
      assert.match(idle.text, /^HTTP\/1\.1 200/);
      assert.ok(idle.closedAfterMs !== null, "the idle connection was closed");
      const quiet = idle.closedAfterMs - idle.lastDataMs;
      assert.ok(quiet >= 1000 && quiet < 6000, `closed ${quiet} ms after the response`);
      assert.ok(
        stalled.closedAfterMs !== null && stalled.closedAfterMs < 15_000,
        `stalled headers closed after ${stalled.closedAfterMs} ms`,
      );
      // The stream has been quiet for 10 s, five idle timeouts: an event still arrives.
      assert.equal(kanban([], ["--db", board, "create", "late", "--json"]).code, 0);
      const reader = events.body!.getReader();
      let text = "";
      const until = Date.now() + 5000;
      while (!text.includes('"kind":"created"') && Date.now() < until) {
        const { done, value } = await reader.read();
        assert.ok(!done, "the event stream was cut");
        text += dec.decode(value);
      }
      assert.match(text, /"kind":"created"/);
      await reader.cancel();
    } finally {
      await s.stop();
    }
  },
});

Deno.test({
  name: asRoot
    ? "a full disk is disk_full on HTTP (507) and the CLI, changes nothing, and leaves no .tmp file"
    : "a full disk is disk_full (skipped: needs root for unshare -m and a tiny tmpfs)",
  ignore: !haveBinary || !asRoot,
  fn: async () => {
    using tmp = tempDir();
    const dir = join(tmp.dir, "full");
    Deno.mkdirSync(dir);
    const body = "x".repeat(300_000);
    const bodyFile = join(tmp.dir, "body.txt");
    writeFileSync(bodyFile, body);
    const board = join(dir, "board.db");
    // A 700 KiB tmpfs of its own, in a private mount namespace: the board fills it.
    const script = `mount -t tmpfs -o size=700k tmpfs "$1" && "$2" --db "$1/board.db" init ` +
      `--json >/dev/null && exec "$2" --db "$1/board.db" serve --port 0 --json`;
    const s = await serveBinary(["unshare", "-m", "sh", "-c", script, "sh", dir, BINARY]);
    const inside = ["nsenter", "-t", String(s.child.pid), "-m"];
    try {
      const tokenText = spawnSync("nsenter", [...inside.slice(1), "cat", `${board}.http-token`], {
        encoding: "utf8",
      }).stdout.trim();
      const headers = {
        authorization: `Bearer ${tokenText}`,
        "content-type": "application/json",
      };
      let created = 0;
      let refused: { status: number; error: { code: string; message: string } } | null = null;
      for (let i = 0; i < 10 && refused === null; i++) {
        const r = await fetch(`${s.url}api/v1/tasks`, {
          method: "POST",
          headers,
          body: JSON.stringify({ title: `big ${i}`, body }),
        });
        if (r.status === 201) {
          created++;
          await r.body?.cancel();
        } else refused = { status: r.status, ...(await r.json()) };
      }
      assert.ok(refused !== null, "the disk filled up");
      assert.equal(refused.status, 507);
      assert.equal(refused.error.code, "disk_full");
      assert.match(refused.error.message, /disk is full/);
      assert.match(refused.error.message, /Nothing was changed/);
      const list = await fetch(`${s.url}api/v1/tasks`, { headers });
      assert.equal(list.status, 200, "reads still work");
      assert.equal((await list.json()).length, created, "the refused write changed nothing");

      const cli = kanban(inside, [
        "--db",
        board,
        "create",
        "big",
        "--body-file",
        bodyFile,
        "--json",
      ]);
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      assert.equal(JSON.parse(cli.stdout).error.code, "disk_full");
      const text = kanban(inside, ["--db", board, "create", "big", "--body-file", bodyFile]);
      assert.equal(text.code, 1);
      assert.match(text.stderr, /the disk is full/);

      // Fill the last blocks, then write files kanban writes through a temporary file.
      spawnSync("nsenter", [...inside.slice(1), "dd", "if=/dev/zero", `of=${dir}/filler`, "bs=4k"]);
      const rotate = kanban(inside, [
        "--db",
        board,
        "serve",
        "--rotate-token",
        "--port",
        "0",
        "--json",
      ]);
      assert.equal(rotate.code, 1, rotate.stdout + rotate.stderr);
      assert.equal(JSON.parse(rotate.stdout).error.code, "disk_full");
      const skills = kanban(inside, ["skills", "install", "--to", `${dir}/skills`, "--json"]);
      assert.notEqual(skills.code, 0, skills.stdout + skills.stderr);
      assert.match(skills.stdout + skills.stderr, /disk_full|disk is full/);
      const files = spawnSync("nsenter", [...inside.slice(1), "find", dir, "-name", "*.tmp*"], {
        encoding: "utf8",
      });
      assert.equal(files.stdout.trim(), "", "no temporary file outlived its failed write");
    } finally {
      await s.stop();
    }
  },
});

Deno.test({
  name: asRoot
    ? "a board the server may only read answers writes with 503 read_only, and reads still work"
    : "a read-only board is read_only (skipped: needs root for unshare -m)",
  ignore: !haveBinary || !asRoot,
  fn: async () => {
    using tmp = tempDir();
    const board = join(tmp.dir, "board.db");
    assert.equal(kanban([], ["--db", board, "init", "--json"]).code, 0);
    assert.equal(kanban([], ["--db", board, "create", "before", "--json"]).code, 0);
    // The board file on a read-only bind mount; its folder stays writable (-wal, -shm, token).
    const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && ` +
      `exec "$2" --db "$1" serve --port 0 --json`;
    const s = await serveBinary(["unshare", "-m", "sh", "-c", script, "sh", board, BINARY]);
    try {
      const headers = { authorization: `Bearer ${s.token()}`, "content-type": "application/json" };
      const r = await fetch(`${s.url}api/v1/tasks`, {
        method: "POST",
        headers,
        body: JSON.stringify({ title: "after" }),
      });
      const body = await r.json();
      assert.equal(r.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, "read_only");
      assert.ok(body.error.message.includes(board), body.error.message);
      const list = await fetch(`${s.url}api/v1/tasks`, { headers });
      assert.deepEqual((await list.json()).map((t: { title: string }) => t.title), ["before"]);
    } finally {
      await s.stop();
    }
  },
});

Deno.test({
  name: "a file size limit (ulimit -f) that the board outgrows is io_error, and nothing changes",
  ignore: !haveBinary,
  fn: () => {
    using tmp = tempDir();
    const board = join(tmp.dir, "board.db");
    assert.equal(kanban([], ["--db", board, "init", "--json"]).code, 0);
    const bodyFile = join(tmp.dir, "body.txt");
    writeFileSync(bodyFile, "y".repeat(500_000));
    // SIGXFSZ ignored (as the shell passes it on), so a write past the limit fails with EFBIG.
    const limited = (args: string[]) =>
      spawnSync(
        "sh",
        ["-c", `trap '' XFSZ; ulimit -f 400; exec "$@"`, "sh", BINARY, "--db", board, ...args],
        { encoding: "utf8", timeout: 30_000, env: { PATH: "/usr/bin:/bin", HOME: tmp.dir } },
      );
    const json = limited(["create", "big", "--body-file", bodyFile, "--json"]);
    assert.equal(json.status, 1, json.stdout + json.stderr);
    assert.equal(JSON.parse(json.stdout).error.code, "io_error");
    const text = limited(["create", "big", "--body-file", bodyFile]);
    assert.equal(text.status, 1);
    assert.match(text.stderr, /ulimit -f/);
    assert.deepEqual(JSON.parse(kanban([], ["--db", board, "list", "--json"]).stdout), []);
  },
});
