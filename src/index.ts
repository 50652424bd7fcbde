/**
 * vmpro-connect: sign users in to movingimage VideoManager Pro, keep their tokens fresh, call the
 * VideoManager Pro REST API. This is the package root; framework adapters, sessions, the http
 * handlers, the API client and the emulator live under their own subpaths.
 */

export * from './errors.js';
export * from './logger.js';
export * from './oidc/index.js';
export * from './token-source.js';
