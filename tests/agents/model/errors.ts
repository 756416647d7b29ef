/**
 * The model server's account errors, each API in its own dialect, as the providers answer
 * them: a rate limit (429 with a retry delay), an exhausted quota, a rejected API key (401).
 */
import type { Failure } from "./server.ts";

function reply(status: number, body: unknown, retryAfterS?: number): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (retryAfterS !== undefined) headers["retry-after"] = String(retryAfterS);
  return new Response(JSON.stringify(body), { status, headers });
}

/** errorReply answers a turn of API `api` (an adapter's name) with failure `f`. */
export function errorReply(api: string, f: Failure): Response {
  const after = f.retryAfterS ?? 2;
  switch (api) {
    case "anthropic":
      if (f.kind === "auth") {
        return reply(401, {
          type: "error",
          error: { type: "authentication_error", message: "invalid x-api-key" },
        });
      }
      if (f.kind === "quota") {
        return reply(400, {
          type: "error",
          error: {
            type: "invalid_request_error",
            message: "Your credit balance is too low to access the Anthropic API.",
          },
        });
      }
      return reply(429, {
        type: "error",
        error: {
          type: "rate_limit_error",
          message: "Number of requests has exceeded your rate limit",
        },
      }, after);
    case "gemini":
      if (f.kind === "auth") {
        return reply(401, {
          error: {
            code: 401,
            message: "API key not valid. Please pass a valid API key.",
            status: "UNAUTHENTICATED",
          },
        });
      }
      return reply(429, {
        error: {
          code: 429,
          message: "Resource has been exhausted (e.g. check quota).",
          status: "RESOURCE_EXHAUSTED",
          details: [{
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            retryDelay: `${after}s`,
          }],
        },
      }, after);
    default: // OpenAI's Responses and Chat Completions
      if (f.kind === "auth") {
        return reply(401, {
          error: {
            message: "Incorrect API key provided: scripted.",
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key",
          },
        });
      }
      if (f.kind === "quota") {
        return reply(429, {
          error: {
            message: "You exceeded your current quota, please check your plan and billing details.",
            type: "insufficient_quota",
            param: null,
            code: "insufficient_quota",
          },
        });
      }
      return reply(429, {
        error: {
          message: `Rate limit reached for requests. Please try again in ${after}s.`,
          type: "requests",
          param: null,
          code: "rate_limit_exceeded",
        },
      }, after);
  }
}
