/**
 * Shapes of the session layer: the record every store holds, the cookie jar the http layer
 * implements, and the store interface (memory, Redis, or your own).
 */
import type { VmproErrorCode } from '../errors.js';
import type { FieldsFirstLogger, Logger } from '../logger.js';
import type { TokenSet } from '../oidc/types.js';
import type { TokenSource } from '../token-source.js';
import type { BackendContext, SessionBackend } from './backend.js';

/** A JSON value: what custom session data may hold (it is stored as JSON by every store). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Why a session ended: the user logged out in the app, the login server ended it (back-channel
 * logout), the login server refused its refresh token (or there was none), or it reached its
 * idle or absolute timeout.
 */
export type SessionEndReason = 'logout' | 'backchannel' | 'refresh_expired' | 'idle' | 'absolute';

/**
 * What the session layer reports for metrics and audit (never a token): a refresh, a failed
 * refresh, a session that ended. `at` is epoch ms. See `VmproEvent` (vmpro-connect/http) for
 * the whole set, with login and logout.
 *
 * @example
 * ```ts
 * const onEvent = (event: SessionEvent) => {
 *   if (event.type === 'refresh_failed' && !event.retryable) metrics.loginsEnded.inc();
 * };
 * ```
 */
export type SessionEvent =
  | {
      type: 'refresh';
      at: number;
      sub: string;
      /** From the start of this process's refresh of the session to its saved result. */
      durationMs: number;
      /** `refreshed`: this process got new tokens; `refreshed_elsewhere`: another instance (or request) had already. */
      outcome: 'refreshed' | 'refreshed_elsewhere';
    }
  | {
      type: 'refresh_failed';
      at: number;
      sub: string;
      code: VmproErrorCode;
      /** True for a temporary failure (the session is kept); false when the login has ended or the answer was unusable. */
      retryable: boolean;
    }
  | {
      type: 'session_ended';
      at: number;
      /** `null` only for a back-channel logout token that names a `sid` and no `sub`. */
      sub: string | null;
      sid: string | null;
      reason: SessionEndReason;
    };

/** Who is logged in (from the validated ID token). */
export interface SessionUser {
  sub: string;
  name?: string | undefined;
  email?: string | undefined;
  preferred_username?: string | undefined;
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
  /** Custom data the app added at login (`afterLogin`), stored with the session. */
  data?: Record<string, JsonValue> | undefined;
}

/** Attributes of a cookie the session layer sets or deletes. */
export interface CookieAttributes {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Lax' | 'Strict' | 'None';
  path: string;
  /** Seconds; absent = a browser-session cookie. */
  maxAge?: number | undefined;
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
   * Optional, for single-use login transactions across instances: records `name` as used for
   * `ttlMs` and answers `true` the first time, `false` while it is already recorded (atomic, like
   * Redis `SET NX`). Without it a transaction is single-use within each process only.
   */
  claim?(name: string, ttlMs: number): Promise<boolean>;
  /**
   * Called by `createSessionManager` with its session secrets, for stores that encrypt records
   * at rest (the Redis store). Throws `VMPRO_CONFIG_INVALID` when the store already uses others.
   */
  useSecrets?(secrets: string[]): void;
  close?(): Promise<void>;
}

/**
 * A place for sessions that is not a `SessionStore`: the encrypted cookie (`cookieStore()`).
 * The session manager asks it for its backend once, with the manager's configuration.
 */
export interface SessionBackendSource {
  readonly kind: string;
  /** @internal Called once by `createSessionManager`. */
  createBackend(context: BackendContext): SessionBackend;
}

/** Options of `createSessionManager`. */
export interface SessionManagerOptions {
  /** Where sessions live: `memoryStore()` (the default), `redisStore({ client })`, your own `SessionStore`, or `cookieStore()`. */
  store?: SessionStore | SessionBackendSource | undefined;
  /** Each ≥ 32 characters; the first encrypts/signs, all decrypt (rotation). */
  secrets: string[];
  /** Secure cookies with the `__Host-` prefix; false only for plain-http loopback development. */
  secure: boolean;
  /** Default `'__Host-vmpro'` when secure, `'vmpro'` otherwise. */
  cookieName?: string | undefined;
  /** The protocol client's refresh; throws `VmproError`s (see the failure policy). */
  refresh: (
    tokens: TokenSet,
    options?: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  ) => Promise<TokenSet>;
  /** Refresh this many seconds before the access token expires; default 30, never more than half its lifetime. */
  refreshMarginSec?: number | undefined;
  /** Default: until the refresh token expires (`refreshTokenExpiresAt`); else 3600. */
  idleTimeoutSec?: number | undefined;
  /** Default 12 h. */
  absoluteTimeoutSec?: number | undefined;
  /** Cross-process refresh lock lifetime; default 15 000 (must exceed the refresh HTTP timeout). */
  lockTtlMs?: number | undefined;
  /** How long a request waits for another instance's refresh; default 10 000. */
  lockWaitMs?: number | undefined;
  /**
   * How long a request whose access token has expired waits for its refresh; default 10 000
   * (`createVmproAuth` passes its `timeoutMs`). The refresh itself goes on for up to 80 % of
   * `lockTtlMs`, and its result is saved: a slow login server's answer is never thrown away.
   */
  refreshWaitMs?: number | undefined;
  now?: () => number;
  logger?: Logger | FieldsFirstLogger | undefined;
  /**
   * Receives refreshes, failed refreshes and ended sessions (never a token). Called after the
   * request's work, never awaited; a listener that throws or rejects is logged, not propagated.
   */
  onEvent?: ((event: SessionEvent) => void | Promise<void>) | undefined;
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
  /** Always a new id; destroys the session the jar carried before (no fixation, no mixing of users). */
  create(
    jar: CookieJar,
    init: {
      tokens: TokenSet;
      user: SessionUser;
      sid: string | null;
      /** Custom data stored with the session (JSON). */
      data?: Record<string, JsonValue> | undefined;
    },
  ): Promise<SessionRecord>;
  /** Deletes the session server-side and clears its cookie(s); returns what was removed. */
  destroy(jar: CookieJar): Promise<SessionRecord | null>;
  /**
   * The session with a valid access token: `record` itself while its access token is outside
   * the refresh margin; inside the margin `record` too, while a refresh runs in the background;
   * once the access token has expired (or with `forceRefresh`), the record as stored after the
   * refresh — refreshed once per session even under concurrency and across instances. Records are read-only and never changed in
   * place: keep the returned one for the next call.
   */
  freshSession(
    jar: CookieJar,
    record: SessionRecord,
    options?: { forceRefresh?: boolean | undefined; signal?: AbortSignal | undefined },
  ): Promise<SessionRecord>;
  /** `freshSession(...)`'s tokens. */
  freshTokens(
    jar: CookieJar,
    record: SessionRecord,
    options?: { forceRefresh?: boolean | undefined; signal?: AbortSignal | undefined },
  ): Promise<TokenSet>;
  /** `getAccessToken({ forceRefresh })` → `freshTokens(...).accessToken`. */
  tokenSource(jar: CookieJar, record: SessionRecord): TokenSource;
  /**
   * Marks the login transaction `name` (a hash, never the raw `state`) as used for `ttlMs`:
   * `true` for the first caller, `false` for every later one — in this process at once (no I/O),
   * and across instances through the store (`SessionStore.claim`; with the cookie store, the
   * logout list's). Call it before redeeming the authorization code. Throws
   * `VMPRO_STORE_UNAVAILABLE` when the store cannot tell (the transaction stays unused).
   */
  claimOnce(name: string, ttlMs: number): Promise<boolean>;
  /** Back-channel logout: ends every session of the `sid` (else of the `sub`); returns how many. */
  endSessions(filter: { sid?: string; sub?: string }): Promise<number>;
  close(): Promise<void>;
}
