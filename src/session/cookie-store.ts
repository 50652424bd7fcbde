/**
 * The encrypted cookie store: the whole session record lives in the browser, sealed with
 * `sealJson` (purpose `session`) and split into cookies of at most `maxChunkSize` bytes.
 */
import { configError } from '../errors.js';
import type { BackendContext } from './backend.js';
import { cookieBackend } from './backend.js';
import { assertLogoutList, type LogoutList, memoryLogoutList } from './logout-list.js';
import type { SessionBackendSource } from './types.js';

const MIN_CHUNK_SIZE = 512;

/** Options of `cookieStore`. */
export interface CookieStoreOptions {
  /** Bytes per cookie, name and `=` included; default 3800 (browsers allow 4096). */
  maxChunkSize?: number | undefined;
  /**
   * Where logouts (in the app, and back-channel) are remembered: `memoryLogoutList()` (the
   * default: the instance that received the logout only) or `redisLogoutList({ client })` (every
   * instance).
   */
  logouts?: LogoutList | undefined;
}

/**
 * Keep the whole session in the browser, encrypted (AES-256-GCM with a key derived from the
 * first secret; older secrets still decrypt, and the cookie is re-sealed with the first on the
 * next write). Keycloak's tokens make the record 6–9 KB, so expect 2–3 cookies per request —
 * mind your server's and proxy's header limits (Node: 16 KB total).
 *
 * No server state means no cross-process lock: refreshes are single-flight within one process
 * only. A logout cannot delete a cookie (or a copy of it); it is remembered in a list of ended
 * sessions (and, for back-channel logouts, `sid`s/`sub`s) that every cookie is checked against —
 * by default by the instance that received it only; with `logouts: redisLogoutList({ client })`
 * by every instance (within its `pollMs`).
 * For several instances `redisStore` is the better fit.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: cookieStore(), secrets, secure: true, refresh })
 * ```
 */
export function cookieStore(options: CookieStoreOptions = {}): SessionBackendSource {
  const maxChunkSize = options.maxChunkSize ?? 3800;
  if (!Number.isInteger(maxChunkSize) || maxChunkSize < MIN_CHUNK_SIZE || maxChunkSize > 4096) {
    throw configError(
      'maxChunkSize',
      `must be an integer between ${MIN_CHUNK_SIZE} and 4096 bytes (got ${String(maxChunkSize)}).`,
    );
  }
  const logouts = assertLogoutList(options.logouts) ?? memoryLogoutList();
  return Object.freeze({
    kind: 'cookie',
    createBackend: (context: BackendContext) => cookieBackend(context, { maxChunkSize, logouts }),
  });
}
