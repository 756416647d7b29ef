/**
 * serveNode runs a web-standard handler on node:http: the server kanban uses under Deno.
 * Deno.serve has no timeouts at all (denoland/deno#3515): a client that never finishes its
 * headers, or a keep-alive connection left idle, would hold a socket forever. node:http (which
 * Deno implements on its own TCP stack) closes both: `headersTimeout` answers 408 to a request
 * whose headers are not complete in time, even if they trickle in, and `keepAliveTimeout` closes
 * an idle connection between requests. A response that streams (Server-Sent Events) is not
 * bound by either: they only concern what the client sends.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

/** Timeouts of a served connection, in milliseconds. */
export interface NodeTimeouts {
  /** From a connection's first byte (or its previous request) to the end of the headers. */
  headersMs: number;
  /** How long a keep-alive connection may wait for its next request. */
  idleMs: number;
  /** From a request's start to the end of its body. */
  requestMs: number;
}

export interface NodeServer {
  port: number;
  /** Stops listening, closes idle connections and waits for open responses to end. */
  close(): Promise<void>;
}

type WebHandler<E> = (request: Request, env: E) => Response | Promise<Response>;

/** serveNode listens on `hostname:port` (0: any free port) until close(). */
export function serveNode<E>(
  handler: WebHandler<E>,
  env: E,
  options: { hostname: string; port: number; timeouts: NodeTimeouts },
): Promise<NodeServer> {
  const t = options.timeouts;
  const server = createServer({
    headersTimeout: t.headersMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.idleMs,
    // How often the headers and request timeouts are checked (node's default is 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, t.headersMs / 4)),
  }, (req, res) => {
    respond(handler, env, req, res).catch(() => res.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/** toRequest turns node's request into a web Request (its body streams, never buffered). */
function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  const path = req.url ?? "/";
  let url: URL;
  try {
    url = new URL(path, `http://${req.headers.host ?? "localhost"}`);
  } catch {
    // A malformed Host is the handler's to refuse (it reads the header, not this URL).
    url = new URL(path, "http://localhost");
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(url, {
    method,
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
}

async function respond<E>(
  handler: WebHandler<E>,
  env: E,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const gone = new AbortController();
  res.once("close", () => gone.abort());
  let request: Request;
  try {
    request = toRequest(req, gone.signal);
  } catch {
    res.writeHead(400, { "content-type": "text/plain" }).end("Bad request\n");
    return;
  }
  let response: Response;
  try {
    response = await handler(request, env);
  } catch {
    res.writeHead(500, { "content-type": "text/plain" }).end("Internal server error\n");
    return;
  }
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (response.body === null || req.method === "HEAD") {
    await response.body?.cancel();
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // A client that goes away cancels the stream (an event stream stops polling the board).
  gone.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done || gone.signal.aborted) break;
    if (!res.write(value)) {
      await new Promise<void>((go) => {
        const done = () => {
          res.off("drain", done);
          gone.signal.removeEventListener("abort", done);
          go();
        };
        res.once("drain", done);
        gone.signal.addEventListener("abort", done, { once: true });
      });
    }
  }
  res.end();
}
