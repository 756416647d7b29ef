/**
 * `kanban serve`: the dashboard and HTTP API on 127.0.0.1 until SIGTERM/SIGINT. It prints
 * a one-time login link for a browser and where the board token is. Binding a non-loopback
 * address needs `--public`. `kanban dispatch --serve` runs the same server beside the
 * dispatcher through startWeb().
 */
import { hostname, networkInterfaces } from "node:os";
import process from "node:process";
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import type { BoardRef } from "../../config/paths.ts";
import { resolveBoard } from "../../config/paths.ts";
import { attachmentLimits, loadConfig } from "../../config/config.ts";
import { shownLocation } from "../../store/shown.ts";
import { DEFAULT_TIMEOUTS, serve } from "../../runtime.ts";
import { KanbanError, NotFoundError, openStore, type Store } from "../../store/mod.ts";
import { actorName, type CliContext, globals, UsageError } from "../context.ts";
import { emit } from "../output.ts";
import { collect } from "../parse.ts";
import { readToken, tokenPath } from "../../http/token.ts";

export const DEFAULT_PORT = 8484;

/** parsePort reads a TCP port (0: any free port). */
export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) > 65535) {
    throw new InvalidArgumentError(`"${text}" is not a port (0-65535)`);
  }
  return Number(text);
}

/**
 * parseIdleTimeout reads `--idle-timeout`: seconds, 1-255 (Bun.serve's limit), after which
 * a connection that sends nothing is closed (event streams are exempt).
 */
export function parseIdleTimeout(text: string): number {
  if (!/^\d{1,3}$/.test(text.trim()) || Number(text) < 1 || Number(text) > 255) {
    throw new InvalidArgumentError(`"${text}" is not a number of seconds from 1 to 255`);
  }
  return Number(text);
}

/** The help of `--idle-timeout` (kanban serve and dispatch --serve share it). */
export const IDLE_TIMEOUT_HELP = "close a keep-alive connection idle this many seconds " +
  `(1-255, default ${DEFAULT_TIMEOUTS.idleS}; event streams are exempt)`;

export interface WebOptions {
  host: string;
  port: number;
  /** --idle-timeout: seconds (default DEFAULT_TIMEOUTS.idleS). */
  idleTimeout?: number | undefined;
  public?: boolean | undefined;
  allowHost?: string[] | undefined;
  rotateToken?: boolean | undefined;
}

export interface Web {
  url: string;
  loginUrl: string;
  tokenFile: string;
  /** Ends the event streams, stops the server and closes its board connection. */
  stop(): Promise<void>;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * startWeb serves the board at `board` over HTTP, on `shared` (the connection of a dispatcher in
 * this process: the change feed sees the server's writes on it too) or on a connection of its
 * own, which stop() closes.
 */
export async function startWeb(
  ctx: CliContext,
  board: BoardRef,
  opts: WebOptions,
  log: (line: string) => void,
  shared?: Store,
): Promise<Web> {
  // Loaded here, not at the top: every other command would pay for parsing the HTTP stack.
  const { boardToken, createApp, isLoopback, LoginCodes } = await import("../../http/mod.ts");
  const host = opts.host.trim();
  const wildcard = WILDCARDS.has(host);
  if (!isLoopback(host) && !opts.public) {
    throw new UsageError(
      `Binding ${host} would expose the board beyond this machine; pass --public to do it ` +
        `anyway (every request still needs the board token)`,
    );
  }
  const allowed = [...(opts.allowHost ?? [])];
  if (!wildcard) allowed.push(host);
  else {
    allowed.push(hostname());
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) allowed.push(a.address);
    }
  }
  const store = shared ?? openStore(board.path);
  const close = () => {
    if (store !== shared) store.close();
  };
  try {
    const { token, path: tokenFile, created } = boardToken(
      board.path,
      opts.rotateToken ? { rotate: true } : {},
    );
    if (created) log(`made a new board token in ${tokenFile}`);
    const logins = new LoginCodes();
    const streams = new AbortController();
    const app = createApp({
      store,
      token,
      allowedHosts: allowed,
      logins,
      actor: actorName(ctx.env),
      env: ctx.env,
      attachments: attachmentLimits(loadConfig(ctx.env).attachments),
      signal: streams.signal,
      log,
    });
    const bare = host.replace(/^\[(.*)\]$/, "$1");
    const server = await serve(app.fetch, {
      hostname: bare,
      port: opts.port,
      ...(opts.idleTimeout !== undefined ? { timeouts: { idleS: opts.idleTimeout } } : {}),
    }).catch((err) => {
      const e = err as { code?: string; message?: string };
      if (e.code === "EADDRINUSE" || /in use/i.test(e.message ?? "")) {
        throw new KanbanError(
          "address_in_use",
          `Cannot listen on ${host}:${opts.port}: the address is in use (pick another --port)`,
        );
      }
      throw err;
    });
    // A wildcard address is no place to browse to; this machine reaches it on loopback.
    const shown = wildcard
      ? (bare === "::" ? "[::1]" : "127.0.0.1")
      : bare.includes(":")
      ? `[${bare}]`
      : bare;
    const url = `http://${shown}:${server.port}/`;
    if (!isLoopback(host)) {
      log(
        `WARNING: serving on ${host}, beyond this machine, over plain HTTP: anyone who can ` +
          `reach port ${server.port} and learns the token controls the board. Put TLS in front.`,
      );
    }
    return {
      url,
      loginUrl: `${url}login?t=${logins.issue()}`,
      tokenFile,
      stop: async () => {
        streams.abort();
        await server.shutdown();
        close();
      },
    };
  } catch (err) {
    close();
    throw err;
  }
}

export function register(program: Command, ctx: CliContext): void {
  program.command("serve")
    .description("serve the dashboard and HTTP API on 127.0.0.1 until SIGTERM/SIGINT")
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .option("--port <n>", "port to listen on (0: any free port)", parsePort, DEFAULT_PORT)
    .option("--public", "allow binding a non-loopback address (prints a warning)")
    .option("--allow-host <name>", "also accept this Host name (repeatable)", collect)
    .option("--rotate-token", "replace the board token (every client logs in again)")
    .option("--idle-timeout <seconds>", IDLE_TIMEOUT_HELP, parseIdleTimeout)
    .action(async (opts, cmd) => {
      const board = resolveBoard(globals(cmd), ctx.env, ctx.cwd);
      const log = (line: string) => ctx.stderr(`kanban: ${line}\n`);
      const web = await startWeb(ctx, board, opts, log);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      if (globals(cmd).json) {
        ctx.stdout(`${
          JSON.stringify({
            board: shownLocation(board.path),
            url: web.url,
            login_url: web.loginUrl,
            token_file: web.tokenFile,
          })
        }\n`);
      } else {
        ctx.stdout(
          `serving ${shownLocation(board.path)} at ${web.url}\n` +
            `log in (the link works once): ${web.loginUrl}\n` +
            `API token: in ${web.tokenFile} (send "Authorization: Bearer <token>")\n`,
        );
      }
      await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
      log("stopping");
      await web.stop();
    });
}

/**
 * `kanban login` asks the running server of this board for another one-time login link (the
 * codes live in the server's memory), with the board token from its file: the way to log a
 * browser in when the first link went to a journal or was used already.
 */
export function registerLogin(program: Command, ctx: CliContext): void {
  program.command("login")
    .description("print a new one-time dashboard login link from the running server")
    .option("--url <url>", "where the server listens", `http://127.0.0.1:${DEFAULT_PORT}/`)
    .action(async (opts, cmd) => {
      const board = resolveBoard(globals(cmd), ctx.env, ctx.cwd);
      let base: URL | null = null;
      try {
        base = new URL(opts.url);
      } catch { /* refused below */ }
      if (base === null || (base.protocol !== "http:" && base.protocol !== "https:")) {
        throw new UsageError(
          `--url "${opts.url}" is not an http(s) URL (e.g. http://127.0.0.1:8484/)`,
        );
      }
      const file = tokenPath(board.path);
      const token = readToken(file);
      if (token === null) {
        throw new NotFoundError(
          `No board token at ${file}: kanban serve (or dispatch --serve) makes it on first start`,
        );
      }
      let r: Response;
      try {
        r = await fetch(new URL("/api/v1/login-codes", base), {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(5000),
        });
      } catch {
        throw new KanbanError(
          "unreachable",
          `No kanban server answers at ${base.origin} (start kanban serve or kanban dispatch ` +
            `--serve; --url names another address)`,
        );
      }
      const body = await r.json().catch(() => null) as { path?: string } | null;
      if (r.status === 401) {
        throw new KanbanError(
          "unauthorized",
          `The server at ${base.origin} refused the token of ${
            shownLocation(board.path)
          }: it serves another ` +
            `board (choose it with --board or --db), or its token was rotated since`,
        );
      }
      if (!r.ok || typeof body?.path !== "string") {
        throw new KanbanError("http_error", `The server at ${base.origin} answered ${r.status}`);
      }
      const link = new URL(body.path, base).href;
      emit(ctx, globals(cmd).json, { login_url: link }, () => link);
    });
}
