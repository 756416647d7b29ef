/** The board's web server: the HTTP API, its live events, and its defences. */
export { type App, type AppOptions, createApp } from "./app.ts";
export { LoginCodes } from "./login.ts";
export { type BoardToken, boardToken, tokenPath } from "./token.ts";
export { isLoopback, LOOPBACK_NAMES, normalizeHost } from "./security.ts";
