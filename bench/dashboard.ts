/// <reference lib="dom" />
/**
 * bench/dashboard.ts: how the web dashboard feels on a board of 50,000 tasks.
 *
 *   scripts/build && .tools/deno run -A bench/dashboard.ts [--tasks N]
 *
 * It seeds a board in a temporary KANBAN_HOME through the Store API (in this process, before
 * the server starts), serves it with `dist/kanban serve`, and measures:
 *  1. GET /api/v1/board (default column limit) and GET /api/v1/status (the health banner's
 *     poll) from this process: median and p95 of 30 each;
 *  2. time to interactive in headless Chromium: navigation start until the board root says
 *     `aria-busy=false` and holds cards, read in the page (a MutationObserver installed before
 *     any page script), over 5 loads, each in a fresh browser context (cold cache);
 *  3. card moves: 10 drags of a triage card onto the ready column (a promote, no prompt):
 *     from the drop event until the card is in the ready column in the DOM (optimistic), and
 *     until the POST that moves it has been answered (resource timing), both in the page.
 * The table goes to stdout, progress to stderr; exit code 1 when a target is missed.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import process from "node:process";
import type { Browser, Page } from "playwright-core";
import { type CreateTaskInput, openStore, type Store } from "../lib/store/mod.ts";
import { BINARY, binaryHome } from "../tests/e2e/_binary.ts";
import {
  CHROMIUM,
  launchBrowser,
  type PageError,
  serve,
  watchErrors,
} from "../tests/browser/_browser.ts";
import { int, ms, prng, summarize } from "./_stats.ts";

const API_TARGET_MS = 100;
const TTI_TARGET_MS = 1500;
const MOVE_TARGET_MS = 100;
const API_RUNS = 30;
const LOADS = 5;
const MOVES = 10;
const BATCH = 1000;
const READY = "[data-testid=board][aria-busy=false]";
/** The screen the issue names: a common laptop. */
const LAPTOP = { width: 1366, height: 768 };

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function parseTasks(argv: string[]): number {
  const i = argv.indexOf("--tasks");
  if (i === -1) return 50_000;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 100) {
    process.stderr.write("usage: deno run -A bench/dashboard.ts [--tasks N (>= 100)]\n");
    process.exit(2);
  }
  return n;
}

/** p95 is the nearest-rank 95th percentile. */
function p95(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

const WORDS = ("schema migration endpoint handler retry lease token worker queue review " +
  "summary index cache timeout backoff heartbeat dashboard filter tenant profile report " +
  "metric trace config deploy rollback fixture refactor docs latency budget").split(" ");

/**
 * seed fills the board at `path` with `n` tasks: ~5% triage (high priority, so a promoted one
 * lands among the ready column's first cards), ~2% scheduled, ~20% todo (children of open
 * tasks), and of the rest about 40% done, 4% review, 5% blocked, 3% running, the others
 * ready; assignees and tenants vary. Returns the counts by status.
 */
async function seed(path: string, n: number): Promise<Record<string, number>> {
  const rng = prng(20261124);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!;
  const words = (k: number) => Array.from({ length: k }, () => pick(WORDS)).join(" ");
  const store: Store = openStore(path);
  const human = { name: "bench" };
  const worker = { name: "bench-worker" };
  const open: string[] = [];
  try {
    for (let made = 0; made < n;) {
      const plans: { input: CreateTaskInput; fate: string }[] = [];
      for (; plans.length < BATCH && made < n; made++) {
        const r = rng();
        const input: CreateTaskInput = {
          title: `Task ${made + 1}: ${words(3 + Math.floor(rng() * 5))}`,
          body: `## Goal\n\n${words(12)}.\n\n- ${words(6)}\n- ${words(6)}\n`,
          assignee: pick(["coder", "coder", "reviewer", "writer", "orchestrator", null]),
          tenant: pick(["acme", "globex", "initech", null, null]),
          priority: Math.floor(rng() * 6) - 2,
        };
        let fate = "ready";
        if (r < 0.05) {
          input.triage = true;
          input.priority = 50;
          fate = "triage";
        } else if (r < 0.07) {
          input.not_before = Date.now() + 86_400_000;
          fate = "scheduled";
        } else if (r < 0.27 && open.length > 0) {
          input.parents = [pick(open.slice(-300))];
          fate = "todo";
        } else {
          const f = rng();
          fate = f < 0.4
            ? "done"
            : f < 0.44
            ? "review"
            : f < 0.49
            ? "blocked"
            : f < 0.52
            ? "running"
            : "ready";
          if (fate === "review") input.review_required = true;
        }
        plans.push({ input, fate });
      }
      const created = await store.createTasks(plans.map((p) => p.input), human);
      for (const [i, { task }] of created.entries()) {
        const { fate } = plans[i]!;
        if (fate === "ready") open.push(task.id);
        if (fate === "done" || fate === "review") {
          await store.complete(task.id, { summary: `Done: ${words(8)}.` }, human);
        } else if (fate === "blocked") {
          await store.block(task.id, `Question: ${words(8)}?`, human);
        } else if (fate === "running") {
          const claim = await store.claim({ taskId: task.id, leaseMs: 3_600_000 }, worker);
          if (!claim) throw new Error(`could not claim ${task.id}`);
        }
      }
    }
    return (await store.stats()).by_status;
  } finally {
    store.close();
  }
}

/** sessionCookie uses a one-time login link from Deno and returns the cookie it sets. */
async function sessionCookie(loginUrl: string): Promise<{ name: string; value: string }> {
  const r = await fetch(loginUrl, { redirect: "manual" });
  await r.body?.cancel();
  const [pair] = (r.headers.get("set-cookie") ?? "").split(";");
  const eq = pair?.indexOf("=") ?? -1;
  if (r.status !== 303 || eq < 1) throw new Error(`login answered ${r.status} without a cookie`);
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1) };
}

/** Recorded in the page before any of its scripts run: when the board became interactive. */
function recordReady(selector: string): void {
  const w = window as unknown as { __tti?: number; __cards?: number };
  const check = () => {
    if (w.__tti !== undefined) return;
    const cards = document.querySelectorAll(`${selector} [data-testid=card]`).length;
    if (cards > 0) {
      w.__tti = performance.now();
      w.__cards = cards;
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, attributes: true });
}

interface Load {
  inPage: number;
  wall: number;
  cards: number;
  /** The first board request the page made (path and query), or null. */
  boardQuery: string | null;
}

async function load(
  browser: Browser,
  url: string,
  cookie: { name: string; value: string },
  errors: PageError[],
): Promise<Load> {
  const context = await browser.newContext({ viewport: LAPTOP });
  try {
    await context.addCookies([{ ...cookie, url, httpOnly: true, sameSite: "Strict" }]);
    await context.addInitScript(recordReady, READY);
    const page = await context.newPage();
    watchErrors(page, errors);
    let boardQuery: string | null = null;
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (boardQuery === null && u.pathname === "/api/v1/board") boardQuery = u.pathname + u.search;
    });
    const t0 = performance.now();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { __tti?: number }).__tti, null, {
      timeout: 30_000,
      polling: 10,
    });
    const wall = performance.now() - t0;
    const seen = await page.evaluate(() => {
      const w = window as unknown as { __tti: number; __cards: number };
      return { inPage: w.__tti, cards: w.__cards };
    });
    return { ...seen, wall, boardQuery };
  } finally {
    await context.close();
  }
}

interface Move {
  dom: number;
  server: number;
}

/** Installed in the page before one drag: timestamps of the drop, the DOM move, the answer. */
function watchMove(id: string): void {
  const w = window as unknown as { __mv: { drop?: number; dom?: number; server?: number } };
  const mv: { drop?: number; dom?: number; server?: number } = {};
  w.__mv = mv;
  document.addEventListener("drop", () => (mv.drop ??= performance.now()), {
    capture: true,
    once: true,
  });
  const inReady = () =>
    document.querySelector(`[data-testid=card][data-id="${id}"]`)
      ?.closest<HTMLElement>("[data-testid=column]")?.dataset["status"] === "ready";
  const observer = new MutationObserver(() => {
    if (mv.drop !== undefined && mv.dom === undefined && inReady()) {
      mv.dom = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
  const path = new RegExp(`/api/v1/tasks/${id}/(move|promote)$`);
  const resources = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (path.test(new URL(e.name).pathname)) {
        mv.server ??= (e as PerformanceResourceTiming).responseEnd;
        resources.disconnect();
      }
    }
  });
  resources.observe({ type: "resource" });
}

async function move(page: Page): Promise<Move> {
  const first = page.locator("[data-testid=column][data-status=triage] [data-testid=card]").first();
  const id = await first.getAttribute("data-id");
  if (!id) throw new Error("no card left in the triage column");
  await page.evaluate(watchMove, id);
  await first.dragTo(page.locator("[data-testid=column][data-status=ready]"));
  const handle = await page.waitForFunction(
    () => {
      const mv = (window as unknown as { __mv: { drop?: number; dom?: number; server?: number } })
        .__mv;
      return mv.drop !== undefined && mv.dom !== undefined && mv.server !== undefined && mv;
    },
    null,
    { timeout: 10_000, polling: 10 },
  );
  const mv = (await handle.jsonValue()) as { drop: number; dom: number; server: number };
  return { dom: mv.dom - mv.drop, server: mv.server - mv.drop };
}

async function main(): Promise<void> {
  const tasks = parseTasks(process.argv.slice(2));
  if (!existsSync(BINARY)) {
    process.stderr.write(`bench: ${BINARY} is missing: run scripts/build first\n`);
    process.exit(2);
  }
  if (!existsSync(CHROMIUM)) {
    process.stderr.write(`bench: ${CHROMIUM} is missing: run scripts/setup --browser\n`);
    process.exit(2);
  }
  using home = binaryHome();
  const init = home.json<{ path: string }>(["init"]);
  progress(`seeding ${int(tasks)} tasks`);
  const t0 = performance.now();
  const byStatus = await seed(init.path, tasks);
  const mix = Object.entries(byStatus).filter(([, c]) => c > 0).map(([s, c]) => `${s} ${int(c)}`)
    .join(", ");
  progress(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${mix}`);

  const served = await serve(home);
  const browser = await launchBrowser();
  const errors: PageError[] = [];
  try {
    const { url } = served.line;
    const token = (await Deno.readTextFile(served.line.token_file)).trim();
    const headers = { authorization: `Bearer ${token}` };

    /** timeGet fetches `path` API_RUNS times (after 3 warm-ups): milliseconds and body size. */
    const timeGet = async (path: string) => {
      progress(`GET ${path} x ${API_RUNS}`);
      const samples: number[] = [];
      let bytes = 0;
      for (let i = 0; i < API_RUNS + 3; i++) {
        const start = performance.now();
        const r = await fetch(new URL(path, url), { headers });
        const body = await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}`);
        if (i >= 3) samples.push(performance.now() - start);
        bytes = body.byteLength;
      }
      return { samples, bytes };
    };
    const api = await timeGet("/api/v1/board");
    // The health banner polls this every 5 s (and after bursts of events).
    const status = await timeGet("/api/v1/status");

    progress(`${LOADS} page loads`);
    const cookie = await sessionCookie(served.line.login_url);
    const loads: Load[] = [];
    for (let i = 0; i < LOADS; i++) loads.push(await load(browser, url, cookie, errors));
    // The board query the dashboard itself sends, when it is not the default one.
    const asked = loads[0]!.boardQuery;
    const own = asked !== null && asked !== "/api/v1/board" ? await timeGet(asked) : null;

    progress(`${MOVES} card moves`);
    const context = await browser.newContext({ viewport: LAPTOP });
    await context.addCookies([{ ...cookie, url, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    watchErrors(page, errors);
    await page.goto(url);
    await page.locator(READY).waitFor({ timeout: 30_000 });
    const moves: Move[] = [];
    for (let i = 0; i < MOVES; i++) moves.push(await move(page));
    await context.close();
    const stats = await (await fetch(new URL("/api/v1/stats", url), { headers })).json();
    const promoted = (stats.by_status.triage ?? 0) === (byStatus["triage"] ?? 0) - MOVES;

    const rows: [string, number, number, number, number | null][] = [];
    const row = (what: string, xs: number[], target: number | null) => {
      const s = summarize(xs);
      rows.push([what, s.n, s.median, p95(xs), target]);
    };
    const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    row(`GET /api/v1/board (${kib(api.bytes)})`, api.samples, API_TARGET_MS);
    if (own) row(`GET ${asked} (the dashboard's, ${kib(own.bytes)})`, own.samples, API_TARGET_MS);
    row(`GET /api/v1/status (the health banner's, ${kib(status.bytes)})`, status.samples, null);
    row(
      `time to interactive (${int(loads[0]!.cards)} cards)`,
      loads.map((l) => l.inPage),
      TTI_TARGET_MS,
    );
    row("  the same, wall clock from page.goto", loads.map((l) => l.wall), null);
    row("card move: in the target column (DOM)", moves.map((m) => m.dom), MOVE_TARGET_MS);
    row("card move: server answered", moves.map((m) => m.server), null);

    let failed = !promoted;
    const out = [
      `dashboard benchmark: ${int(tasks)} tasks (${mix})`,
      `machine: ${cpus().length} CPUs (${
        cpus()[0]?.model ?? "unknown"
      }), Chromium ${browser.version()}, ` +
      `Deno ${Deno.version.deno}`,
      "",
      "| measure | n | median | p95 | target | verdict |",
      "| --- | ---: | ---: | ---: | ---: | --- |",
    ];
    for (const [what, n, median, p, target] of rows) {
      const pass = target === null ? "" : median < target ? "PASS" : "FAIL";
      if (pass === "FAIL") failed = true;
      out.push(
        `| ${what} | ${n} | ${ms(median)} | ${ms(p)} | ${
          target === null ? "" : `< ${int(target)} ms`
        } | ${pass} |`,
      );
    }
    out.push("");
    out.push(
      promoted
        ? `the ${MOVES} moved tasks left triage on the server`
        : `FAIL: the server's triage count is ${stats.by_status.triage}, expected ${
          (byStatus["triage"] ?? 0) - MOVES
        }`,
    );
    if (errors.length > 0) {
      out.push(`the pages logged ${errors.length} error(s):`);
      for (const e of errors.slice(0, 10)) out.push(`  ${e.kind}: ${e.text} ${e.url}`);
    }
    process.stdout.write(out.join("\n") + "\n");
    process.exitCode = failed ? 1 : 0;
  } finally {
    await browser.close();
    await served.stop();
  }
}

await main();
