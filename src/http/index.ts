/**
 * Framework-neutral HTTP handlers on Web `Request`/`Response`: login, callback, logout,
 * back-channel logout, session lookup and protection. The adapters (`vmpro-connect/express`,
 * `vmpro-connect/fastify`, `vmpro-connect/web`) are thin layers over these.
 */
export {
  createVmproAuth,
  htmlPage,
  type RequestLike,
  type SetCookieSink,
  type VmproAuth,
  type VmproContext,
} from './auth.js';
export {
  checkUrl,
  isLoopbackHost,
  parseSecrets,
  type ResolvedAuthOptions,
  resolveAuthOptions,
  type VmproAuthOptions,
} from './config.js';
export { createCookieJar, parseCookieHeader, serializeSetCookie } from './cookies.js';
export { type AuthEnvResult, authOptionsFromEnv } from './env.js';
export { escapeHtml, mapError, wantsHtml } from './responses.js';
export { safeReturnTo } from './return-to.js';
