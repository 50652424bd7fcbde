/**
 * `vmpro-connect/session`: session records, stores (memory, encrypted cookie, Redis,
 * PostgreSQL), sealing helpers, and the refresher that refreshes each session's tokens exactly once.
 *
 * @example
 * ```ts
 * import { createSessionManager, redisStore } from 'vmpro-connect/session'
 * const sessions = createSessionManager({
 *   store: redisStore({ client: new Redis(process.env.REDIS_URL!) }),
 *   secrets: [process.env.VMPRO_SESSION_SECRET!],
 *   secure: true,
 *   refresh: (tokens, options) => client.refresh(tokens, options),
 * })
 * ```
 */
export { type CookieStoreOptions, cookieStore } from './cookie-store.js';
export {
  type LogoutList,
  type MemoryLogoutListOptions,
  memoryLogoutList,
  type RedisLogoutListOptions,
  redisLogoutList,
} from './logout-list.js';
export { createSessionManager } from './manager.js';
export { type MemoryStoreOptions, memoryStore } from './memory-store.js';
export {
  type PgClientLike,
  type PgPoolLike,
  type PgResultLike,
  type PostgresSessionStore,
  type PostgresStoreOptions,
  postgresStore,
  postgresStoreSchema,
} from './postgres-store.js';
export {
  type RedisClientLike,
  type RedisSessionStore,
  type RedisStoreOptions,
  redisStore,
} from './redis-store.js';
export { sealJson, unsealJson } from './seal.js';
export type {
  CookieAttributes,
  CookieJar,
  JsonValue,
  SessionBackendSource,
  SessionEndReason,
  SessionEvent,
  SessionManager,
  SessionManagerOptions,
  SessionRecord,
  SessionStore,
  SessionUser,
  StoreLock,
} from './types.js';
