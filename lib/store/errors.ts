/**
 * The store's errors live in the leaf module lib/errors.ts (config and the surfaces use them
 * without importing the store); this re-export keeps the store's own imports short.
 */
export * from "../errors.ts";
