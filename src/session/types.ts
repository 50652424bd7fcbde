/**
 * Shapes of the session layer: the record every store holds, the cookie jar the http layer
 * implements, and the store interface (memory, Redis, or your own).
 */
import type { Logger } from '../logger.js';
import type { TokenSet } from '../oidc/types.js';
import type { TokenSource } from '../token-source.js';
import type { LogoutList } from './logout-list.js';

/** Who is logged in (from the validated ID token). */
export interface SessionUser {
  sub: string;
  name?: string;
  email?: string;
  preferred_username?: string;
}

/**
 * One login, as every store holds it (JSON-safe).
 *
 * Server-side stores never see the raw `id`: they are keyed by its SHA-256 hash and hold the
 * record with `id: ''`, so a dump of the store yields no usable cookie. The session manager
 * puts the id back when it hands a record out.
 */
export interface SessionRecord {
  v: 1;
  /** Opaque, 256-bit CSPRNG, base64url. */
  id: string;
  /** +1 on every write; writes are compare-and-set on it. */
  version: number;
  tokens: TokenSet;
  user: SessionUser;
  /** The ID token's `sid` (or Keycloak's `session_state`), for back-channel logout. */
  sid: string | null;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; updated at most once a minute. */
  lastSeenAt: number;
  /** Epoch ms: the session ends here whatever happens. */
  absoluteExpiresAt: number;
}

/** Attributes of a cookie the session layer sets or deletes. */
export interface CookieAttributes {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Lax' | 'Strict' | 'None';
  path: string;
  /** Seconds; absent = a browser-session cookie. */
  maxAge?: number;
}

/**
 * The request's cookies and the response's `Set-Cookie`s, implemented by the http layer.
 * `set` and `delete` for the same name within one response: the last call wins.
 */
export interface CookieJar {
  get(name: string): string | undefined;
  /** All cookie names the request carried (for chunk cleanup). */
  names(): string[];
  set(name: string, value: string, attributes: CookieAttributes): void;
  delete(name: string, attributes: CookieAttributes): void;
}

/** A lock in the store; `release` deletes it only if it is still ours. */
export interface StoreLock {
  release(): Promise<void>;
}

/**
 * A server-side session store: memory, Redis, or your own.
 *
 * Contract:
 * - `key` is the session id's hash, never the raw id.
 * - Every method throws a `VmproError` with code `VMPRO_STORE_UNAVAILABLE` when the store cannot
 *   be reached (any other exception is converted to that code by the session manager). "Not
 *   found" is `null`/`false`, never an exception: the manager tells the user to log in for
 *   "not found" and answers 503 for "unavailable".
 * - An unreadable (garbage) record is logged, deleted and reported as `null`.
 * - Records handed in and out are copies: mutating one never changes the store.
 *
 * @example
 * ```ts
 * const store: SessionStore = redisStore({ client: new Redis(process.env.REDIS_URL) })
 * ```
 */
export interface SessionStore {
  readonly kind: string;
  /** `fresh`: bypass any local cache. */
  get(key: string, options?: { fresh?: boolean }): Promise<SessionRecord | null>;
  create(key: string, record: SessionRecord, ttlMs: number): Promise<void>;
  /** Compare-and-set on `version`: false when the stored version differs or the record is gone. */
  update(key: string, record: SessionRecord, expectedVersion: number, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Keys of the live sessions with this `sid` (maintained by create/update/delete). */
  keysBySid(sid: string): Promise<string[]>;
  /** Keys of the live sessions of this user. */
  keysBySub(sub: string): Promise<string[]>;
  /** A cross-process lock: `null` when someone else holds it. */
  lock(key: string, ttlMs: number): Promise<StoreLock | null>;
  /**
   * Optional: the record if this process holds a copy it may use without I/O (shared and
   * frozen, like `get`'s); `undefined` when only `get` can tell.
   */
  peek?(key: string): SessionRecord | undefined;
  /**
   * Called by `createSessionManager` with its session secrets, for stores that encrypt records
   * at rest (the Redis store). Throws `VMPRO_CONFIG_INVALID` when the store already uses others.
   */
  useSecrets?(secrets: string[]): void;
  close?(): Promise<void>;
}

/** Marks "keep the whole session in an encrypted cookie"; see `cookieStore()`. */
export interface CookieStoreMarker {
  readonly kind: 'cookie';
  /** Bytes per cookie, name included. */
  readonly maxChunkSize: number;
  /** Where back-channel logouts are remembered (default: this process only). */
  readonly logouts?: LogoutList;
}

/** Options of `createSessionManager`. */
export interface SessionManagerOptions {
  /** Where sessions live; default `memoryStore()`. */
  store?: SessionStore | CookieStoreMarker;
  /** Each ≥ 32 characters; the first encrypts/signs, all decrypt (rotation). */
  secrets: string[];
  /** Secure cookies with the `__Host-` prefix; false only for plain-http loopback development. */
  secure: boolean;
  /** Default `'__Host-vmpro'` when secure, `'vmpro'` otherwise. */
  cookieName?: string;
  /** The protocol client's refresh; throws `VmproError`s (see the failure policy). */
  refresh: (tokens: TokenSet, options?: { signal?: AbortSignal }) => Promise<TokenSet>;
  /** Refresh this many seconds before the access token expires; default 30, never more than half its lifetime. */
  refreshMarginSec?: number;
  /** Default: until the refresh token expires (`refreshTokenExpiresAt`); else 3600. */
  idleTimeoutSec?: number;
  /** Default 12 h. */
  absoluteTimeoutSec?: number;
  /** Cross-process refresh lock lifetime; default 15 000 (must exceed the refresh HTTP timeout). */
  lockTtlMs?: number;
  /** How long a request waits for another instance's refresh; default 10 000. */
  lockWaitMs?: number;
  now?: () => number;
  logger?: Logger;
}

/** Sessions on top of a store, and the refresher. Created by `createSessionManager`. */
export interface SessionManager {
  readonly cookieName: string;
  /**
   * The request's session, or `null` (no cookie, unknown id, expired idle/absolute, tampered
   * cookie, ended by back-channel logout — the stale cookie is then deleted). Throws
   * `VMPRO_STORE_UNAVAILABLE` on a store outage, and then leaves the cookies alone.
   */
  load(jar: CookieJar): Promise<SessionRecord | null>;
  /**
   * The session, synchronously, when the store has it in this process (memory store, Redis's
   * local cache) and it needs no bookkeeping write; `undefined` otherwise — then use `load()`,
   * which also handles every other case. Never changes cookies.
   */
  loadCached(jar: CookieJar): SessionRecord | undefined;
  /** Always a new id; destroys the session the jar carried before (no fixation, no mixing of users). */
  create(
    jar: CookieJar,
    init: { tokens: TokenSet; user: SessionUser; sid: string | null },
  ): Promise<SessionRecord>;
  /** Deletes the session server-side and clears its cookie(s); returns what was removed. */
  destroy(jar: CookieJar): Promise<SessionRecord | null>;
  /**
   * The session with a valid access token: `record` itself while its access token is outside
   * the refresh margin, else the record as stored after the refresh — refreshed once per session
   * even under concurrency and across instances. Records are read-only and never changed in
   * place: keep the returned one for the next call.
   */
  freshSession(
    jar: CookieJar,
    record: SessionRecord,
    options?: { forceRefresh?: boolean; signal?: AbortSignal },
  ): Promise<SessionRecord>;
  /** `freshSession(...)`'s tokens. */
  freshTokens(
    jar: CookieJar,
    record: SessionRecord,
    options?: { forceRefresh?: boolean; signal?: AbortSignal },
  ): Promise<TokenSet>;
  /** `getAccessToken({ forceRefresh })` → `freshTokens(...).accessToken`. */
  tokenSource(jar: CookieJar, record: SessionRecord): TokenSource;
  /** Back-channel logout: ends every session of the `sid` (else of the `sub`); returns how many. */
  endSessions(filter: { sid?: string; sub?: string }): Promise<number>;
  close(): Promise<void>;
}
