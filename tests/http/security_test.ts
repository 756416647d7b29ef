import assert from "node:assert/strict";
import { appSetup, AUTH, TOKEN, XSS } from "./_app.ts";
import { CSP } from "../../lib/http/security.ts";

const json = { "content-type": "application/json" };

function assertHardened(r: Response): void {
  assert.equal(r.headers.get("content-security-policy"), CSP);
  assert.match(CSP, /default-src 'self'/);
  assert.match(CSP, /frame-ancestors 'none'/);
  assert.doesNotMatch(CSP, /unsafe-inline|unsafe-eval/);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  assert.equal(r.headers.get("referrer-policy"), "no-referrer");
}

Deno.test("every /api route answers 401 without the token, and with a wrong one", async () => {
  await using a = appSetup();
  for (const doc of Object.entries(a.app.openapi["paths"] as Record<string, object>)) {
    const [path, ops] = doc;
    if (!path.startsWith("/api/")) continue;
    for (const method of Object.keys(ops)) {
      const url = path.replace("{id}", "t_0").replace("{run}", "1");
      for (const headers of [{}, { authorization: "Bearer kb_wrong" }, { authorization: TOKEN }]) {
        const r = await a.app.request(url, { method: method.toUpperCase(), headers });
        assert.equal(r.status, 401, `${method} ${url} with ${JSON.stringify(headers)}`);
        const body = await r.json();
        assert.equal(body.error.code, "unauthorized");
        assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="kanban"');
        assertHardened(r);
      }
    }
  }
});

Deno.test("a Host that is not loopback or an allowed name is refused with 403 (DNS rebinding)", async () => {
  await using a = appSetup({ allowedHosts: ["board.example"] });
  for (const host of ["evil.example", "evil.example:8484", "127.0.0.1.evil.example"]) {
    const r = await a.app.request("/api/v1/stats", { headers: { ...AUTH, host } });
    assert.equal(r.status, 403, `Host ${JSON.stringify(host)}`);
    assert.equal((await r.json()).error.code, "forbidden_host");
    assertHardened(r);
  }
  // Not a name at all: a bad request (tests/http/hostile_test.ts covers a missing Host).
  for (
    const [host, code] of [["", "missing_host"], [" ", "missing_host"], ["a b", "invalid_host"]]
  ) {
    const r = await a.app.request("/api/v1/stats", { headers: { ...AUTH, host: host! } });
    assert.equal(r.status, 400, `Host ${JSON.stringify(host)}`);
    assert.equal((await r.json()).error.code, code);
    assertHardened(r);
  }
  // The page and the login link are behind the same check.
  const code = a.logins.issue();
  const login = await a.app.request(`/login?t=${code}`, { headers: { host: "evil.example" } });
  assert.equal(login.status, 403);
  assert.equal(a.logins.size, 1, "a refused request does not use the code up");
  for (
    const host of ["localhost:8484", "127.0.0.1:1", "[::1]:8484", "LOCALHOST", "board.example:80"]
  ) {
    const r = await a.app.request("/api/v1/stats", { headers: { ...AUTH, host } });
    assert.equal(r.status, 200, `Host ${host}`);
  }
});

Deno.test("a write from another origin is refused with 403 (CSRF), even with the token", async () => {
  await using a = appSetup();
  const create = (headers: Record<string, string>) =>
    a.app.request("/api/v1/tasks", {
      method: "POST",
      headers: { ...AUTH, ...json, host: "127.0.0.1:8484", ...headers },
      body: JSON.stringify({ title: "x" }),
    });
  for (
    const origin of [
      "http://evil.example",
      "http://127.0.0.1:9999",
      "http://localhost:8484", // same machine, but another origin than the Host
      "null",
      "not a url",
    ]
  ) {
    const r = await create({ origin });
    assert.equal(r.status, 403, `Origin ${origin}`);
    assert.equal((await r.json()).error.code, "forbidden_origin");
  }
  assert.equal((await create({ "sec-fetch-site": "cross-site" })).status, 403);
  assert.equal((await create({ origin: "http://127.0.0.1:8484" })).status, 201);
  // The same host and port over TLS (a proxy in front) is the same server.
  assert.equal((await create({ origin: "https://127.0.0.1:8484" })).status, 201);
  assert.equal((await create({ "sec-fetch-site": "same-origin" })).status, 201);
  assert.equal((await create({})).status, 201, "curl sends no Origin: the token decides");
  assert.equal((await a.b.store.listTasks()).length, 4, "no refused write changed the board");
  const proxied = await a.app.request("/api/v1/tasks", {
    method: "POST",
    headers: { ...AUTH, ...json, host: "localhost", origin: "https://localhost" },
    body: JSON.stringify({ title: "via a TLS proxy" }),
  });
  assert.equal(proxied.status, 201);
  const portless = await a.app.request("/api/v1/tasks", {
    method: "POST",
    headers: { ...AUTH, ...json, host: "localhost", origin: "http://localhost:8484" },
    body: JSON.stringify({ title: "x" }),
  });
  assert.equal(portless.status, 403);
  // Reads are not writes: a GET with a foreign Origin is still answered (CORS keeps it unread).
  const get = await a.app.request("/api/v1/stats", {
    headers: { ...AUTH, origin: "http://evil.example" },
  });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get("access-control-allow-origin"), null);
});

Deno.test("the one-time login link sets an HttpOnly SameSite=Strict cookie, and works once", async () => {
  await using a = appSetup();
  const code = a.logins.issue();
  const first = await a.app.request(`/login?t=${code}`);
  assert.equal(first.status, 303);
  assert.equal(first.headers.get("location"), "/");
  assertHardened(first);
  const setCookie = first.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.match(setCookie, /Path=\//);
  assert.ok(!setCookie.includes(TOKEN), "the cookie is not the token itself");
  const cookie = setCookie.split(";")[0]!;

  const withCookie = await a.app.request("/api/v1/stats", { headers: { cookie } });
  assert.equal(withCookie.status, 200);
  const page = await a.app.request("/", { headers: { cookie } });
  assert.equal(page.status, 200);

  const again = await a.app.request(`/login?t=${code}`);
  assert.equal(again.status, 401);
  assert.equal(again.headers.get("set-cookie"), null);
  assert.match(await again.text(), /not valid/);
  assert.equal((await a.app.request("/login?t=made-up")).status, 401);
  assert.equal((await a.app.request("/login")).status, 401);

  // A cookie of another board (another token) or a tampered one does not pass.
  const [name, value] = cookie.split("=");
  for (const bad of [`${name}=${value}x`, `kanban_other=${value}`]) {
    assert.equal((await a.app.request("/api/v1/stats", { headers: { cookie: bad } })).status, 401);
  }
});

Deno.test("POST /api/v1/login-codes makes another one-time link for a second browser", async () => {
  await using a = appSetup();
  const { path } = await a.ok<{ path: string }>("POST", "/api/v1/login-codes", undefined, 201);
  assert.match(path, /^\/login\?t=[\w-]{20,}$/);
  assert.equal((await a.app.request(path)).status, 303);
  assert.equal((await a.app.request(path)).status, 401);
});

Deno.test("the dashboard page needs a login, carries no board text and no inline script or style", async () => {
  await using a = appSetup();
  const anonymous = await a.app.request("/");
  assert.equal(anonymous.status, 401);
  assertHardened(anonymous);
  assert.ok(!(await anonymous.text()).includes("/assets/app.js"), "no app for a stranger");
  const { task } = await a.ok<{ task: { id: string } }>("POST", "/api/v1/tasks", {
    title: XSS,
    body: XSS,
  }, 201);
  await a.ok("POST", `/api/v1/tasks/${task.id}/block`, { reason: XSS });
  const r = await a.call("GET", "/");
  assert.equal(r.status, 200);
  assertHardened(r);
  assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
  const html = await r.text();
  assert.ok(!html.includes("alert"), "board text is fetched as JSON, never put in the page");
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)];
  assert.equal(scripts.length, 1);
  assert.match(scripts[0]![0], /src="\/assets\/app\.js"/);
  assert.equal(scripts[0]![1]!.trim(), "", "no inline script");
  assert.ok(!/\sstyle=|<style/i.test(html), "no inline styles");
  assert.ok(!/\son[a-z]+=/i.test(html), "no inline handlers");
});

Deno.test("the dashboard's files are embedded, need no token, and revalidate by ETag", async () => {
  await using a = appSetup();
  for (
    const [name, type] of [["app.js", /^text\/javascript/], ["app.css", /^text\/css/]] as const
  ) {
    const r = await a.app.request(`/assets/${name}`);
    assert.equal(r.status, 200, name);
    assertHardened(r);
    assert.match(r.headers.get("content-type") ?? "", type);
    assert.ok((await r.text()).length > 1000, `${name} has its content`);
    const etag = r.headers.get("etag");
    assert.ok(etag !== null);
    const again = await a.app.request(`/assets/${name}`, { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
  }
  for (const name of ["nothing.js", "..%2Fapp.js", "constructor", "__proto__"]) {
    const r = await a.app.request(`/assets/${name}`);
    assert.equal(r.status, 404, name);
  }
});

Deno.test("errors, 404s and bodies over the limit are JSON errors with the strict headers", async () => {
  await using a = appSetup({ maxBodyBytes: 1000 });
  const missing = await a.call("GET", "/api/v1/nothing");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
  assertHardened(missing);
  const page404 = await a.call("GET", "/nothing/<b>");
  assert.equal(page404.status, 404);
  assertHardened(page404);
  assert.ok(!(await page404.text()).includes("<b>"));
  const big = await a.call("POST", "/api/v1/tasks", { title: "x", body: "y".repeat(2000) });
  assert.equal(big.status, 413);
  assert.equal((await big.json()).error.code, "too_large");
  const form = await a.call("POST", "/api/v1/tasks", "title=x", {
    "content-type": "application/x-www-form-urlencoded",
  });
  assert.equal(form.status, 415);
  assertHardened(form);
});

Deno.test("an unexpected failure answers 500 without its details, and is logged", async () => {
  const lines: string[] = [];
  await using a = appSetup({ log: (l) => lines.push(l) });
  a.b.store.close(); // every store call now throws a plain (non-kanban) error
  const r = await a.call("GET", "/api/v1/stats");
  assert.equal(r.status, 500);
  assert.deepEqual(await r.json(), {
    error: { code: "internal", message: "Internal server error" },
  });
  assertHardened(r);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /GET \/api\/v1\/stats/);
});
