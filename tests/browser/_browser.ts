/**
 * Browser harness: the compiled `dist/kanban serve` on a private KANBAN_HOME, driven by the
 * system Chromium through playwright-core. One browser per scenario (`launchBrowser()`),
 * one fresh board, server and logged-in browser context per scenario (`dashboard(browser)`),
 * both disposed with `await using`. Every console error and uncaught page error of every page
 * is collected (nothing is dropped here); a scenario filters, with a reason, only what it
 * provokes on purpose.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { BINARY, type BinaryHome, binaryHome } from "../e2e/_binary.ts";

export const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SCREENSHOTS = join(ROOT, ".test-tmp", "screenshots");

/** The board is rendered: the root says so and the loading indicator is gone. */
export const BOARD_READY = "[data-testid=board][aria-busy=false]";

/** CHROMIUM_ARGS: what a 2-core container without a GPU or a user namespace needs. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless=new",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-extensions",
];

/** launchBrowser starts the system Chromium; it fails (never skips) when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run scripts/setup --browser (the browser tests need Chromium)`,
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** A console error or uncaught exception seen in one of the scenario's pages. */
export interface PageError {
  /** "request": the page asked for something outside the board's origin (it must not). */
  kind: "console" | "pageerror" | "request";
  text: string;
  /** Where it came from: the console message's script or resource URL ("" if unknown). */
  url: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: unknown, what: string) {
    super(`${what} answered ${status}: ${JSON.stringify(body)}`);
  }
}

export interface Dash<T = void> extends AsyncDisposable {
  /** What the `seed` option returned (the ids a scenario made, say). */
  seeded: T;
  /** The board's KANBAN_HOME: `home.kanban([...])` / `home.json([...])` run the real CLI. */
  home: BinaryHome;
  /** The served base URL, ending with "/". */
  url: string;
  /** The board token, for `Authorization: Bearer`. */
  token: string;
  browser: Browser;
  /** The logged-in context of `page` (light colour scheme, 1280x900). */
  context: BrowserContext;
  /** Logged in, on `/`, the board rendered (unless `ready: false`). */
  page: Page;
  /** Console errors and page errors of every page of this scenario, in order. */
  errors: PageError[];
  /**
   * assertNoErrors fails on any console or page error except those `expected` accepts (say
   * why at the call). Until it is called, dispose prints the errors (a scenario that fails
   * early still shows what the page said).
   */
  assertNoErrors(expected?: (e: PageError) => boolean): void;
  /** api calls the API with the Bearer token; non-2xx throws ApiError. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** newPage logs in a second, separate browser context with a new login code. */
  newPage(): Promise<Page>;
  /** screenshot saves `page` (default: the main page) to .test-tmp/screenshots/NAME.png. */
  screenshot(name: string, page?: Page): Promise<string>;
  /** What `kanban serve` wrote so far. */
  serverOutput(): string;
  /** Stops `kanban serve` (SIGTERM, waited for) while the pages stay open. */
  stopServer(): Promise<void>;
}

interface Served {
  child: ChildProcess;
  line: { board: string; url: string; login_url: string; token_file: string };
  output(): string;
  stop(): Promise<void>;
}

/** serve starts `dist/kanban serve --port 0 --json` on `home` and reads its JSON line. */
export async function serve(home: BinaryHome): Promise<Served> {
  const env = { PATH: "/usr/bin:/bin", HOME: home.home, KANBAN_HOME: home.home, USER: "e2e" };
  const child = spawn(BINARY, ["serve", "--port", "0", "--json"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const output = () => `${out}${err}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Deno's ChildProcess.kill() does not deliver a catchable SIGTERM: signal the pid.
    process.kill(child.pid!, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 5000)));
    if (await Promise.race([exited.then(() => false), late])) {
      process.kill(child.pid!, "SIGKILL");
      await exited;
    }
    clearTimeout(timer);
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = out.match(/^\{.*\}$/m);
    if (m) return { child, line: JSON.parse(m[0]), output, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`kanban serve did not print its JSON line:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * watchErrors collects `page`'s console errors and uncaught exceptions into `errors`, and any
 * request that leaves `origin` (the dashboard loads nothing from the network).
 */
export function watchErrors(page: Page, errors: PageError[], origin?: string): void {
  if (origin !== undefined) {
    page.on("request", (r) => {
      const url = r.url();
      if (!url.startsWith("data:") && new URL(url).origin !== origin) {
        errors.push({ kind: "request", text: `${r.method()} ${url}`, url });
      }
    });
  }
  page.on("console", (m) => {
    if (m.type() === "error") {
      errors.push({ kind: "console", text: m.text(), url: m.location().url });
    }
  });
  page.on("pageerror", (e) => errors.push({ kind: "pageerror", text: String(e), url: "" }));
}

export interface DashboardOptions<T> {
  /** Wait for the board to be rendered after logging in (default true). */
  ready?: boolean;
  /** Runs against the board before the server starts (e.g. seeding with the CLI). */
  seed?: (home: BinaryHome) => T | Promise<T>;
}

/**
 * dashboard makes a fresh board, serves it with the real binary and logs a new context of
 * `browser` in through the one-time login link. Dispose it to close the contexts, stop the
 * server (SIGTERM, waited for) and remove the board's folder. The browser stays open.
 */
export async function dashboard<T = void>(
  browser: Browser,
  options: DashboardOptions<T> = {},
): Promise<Dash<T>> {
  const home = binaryHome();
  const contexts: BrowserContext[] = [];
  let served: Served | undefined;
  let checked = false;
  const errors: PageError[] = [];
  const dispose = async () => {
    if (!checked && errors.length > 0) {
      console.error(`the page logged, in a scenario that did not finish:\n${formatErrors(errors)}`);
    }
    for (const c of contexts) await c.close().catch(() => {});
    await served?.stop();
    home[Symbol.dispose]();
  };
  try {
    const init = home.kanban(["init"]);
    assert.equal(init.code, 0, `kanban init: ${init.stdout}${init.stderr}`);
    const seeded = (await options.seed?.(home)) as T;
    served = await serve(home);
    const { url } = served.line;
    const token = readFileSync(served.line.token_file, "utf8").trim();

    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const r = await fetch(new URL(path, url), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      const parsed = text === "" ? null : JSON.parse(text);
      if (!r.ok) throw new ApiError(r.status, parsed, `${method} ${path}`);
      return parsed as T;
    };

    const login = async (loginUrl: string, ready: boolean): Promise<Page> => {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        colorScheme: "light",
      });
      contexts.push(context);
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      watchErrors(page, errors, new URL(url).origin);
      const r = await page.goto(loginUrl);
      assert.equal(new URL(page.url()).pathname, "/", `the login link led to ${page.url()}`);
      assert.equal(r?.status(), 200, `GET / after logging in answered ${r?.status()}`);
      if (ready) await page.locator(BOARD_READY).waitFor({ state: "visible", timeout: 15_000 });
      return page;
    };

    const page = await login(served.line.login_url, options.ready ?? true);
    const s = served;
    return {
      home,
      seeded,
      url,
      token,
      browser,
      context: contexts[0]!,
      page,
      errors,
      assertNoErrors: (expected = () => false) => {
        checked = true;
        const unexpected = errors.filter((e) => !expected(e));
        assert.deepEqual(unexpected, [], `the page logged errors:\n${formatErrors(unexpected)}`);
      },
      api: api as Dash["api"],
      newPage: async () => {
        const { path } = await api<{ path: string }>("POST", "/api/v1/login-codes");
        return await login(new URL(path, url).href, options.ready ?? true);
      },
      screenshot: async (name, p = page) => {
        mkdirSync(SCREENSHOTS, { recursive: true });
        const file = join(SCREENSHOTS, `${name}.png`);
        await p.screenshot({ path: file, fullPage: true });
        assert.ok(statSync(file).size > 1000, `${file} is (nearly) empty`);
        return file;
      },
      serverOutput: () => s.output(),
      stopServer: () => s.stop(),
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * until polls `check` until it returns something other than false/undefined/null and
 * returns that; after `ms` it fails with `what` and the last value seen (or error thrown).
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== null && v !== undefined) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new assert.AssertionError({
        message: `timed out after ${ms} ms: ${what} (last: ${seen})`,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** formatErrors renders collected page errors one per line, for assertion messages. */
export function formatErrors(errors: readonly PageError[]): string {
  return errors.map((e) => `${e.kind}: ${e.text}${e.url ? ` (${e.url})` : ""}`).join("\n");
}
