/**
 * The session manager: sessions on top of a store, and the refresher (`freshTokens`), which
 * refreshes a session's tokens exactly once even when many requests — on several instances —
 * need it at the same moment.
 */
import { isVmproError, VmproError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { TokenSet } from '../oidc/types.js';
import type { TokenSource } from '../token-source.js';
import {
  clearChunkedCookie,
  hasChunkedCookie,
  isCookieStoreMarker,
  readChunkedCookie,
  writeChunkedCookie,
} from './cookie-store.js';
import { type LogoutList, memoryLogoutList } from './logout-list.js';
import { memoryStore } from './memory-store.js';
import {
  describeError,
  isWellFormedSessionId,
  keyTag,
  newSessionId,
  parseSessionRecord,
  sessionKey,
  storeCall,
  storeUnavailable,
} from './record.js';
import { assertSecrets, sealJson, unsealJson } from './seal.js';
import type {
  CookieAttributes,
  CookieJar,
  CookieStoreMarker,
  SessionManager,
  SessionManagerOptions,
  SessionRecord,
  SessionStore,
  StoreLock,
} from './types.js';

const MINUTE = 60_000;
const DEFAULT_IDLE_WITHOUT_REFRESH_TOKEN_MS = 3_600_000;
/** How long a cookie-store refresh result is kept for requests still carrying the old cookie. */
const SUCCESSOR_TTL_MS = 60_000;
const MAX_SUCCESSORS = 10_000;
/** Write attempts after a refresh when unrelated writes (lastSeenAt) keep winning the CAS. */
const MAX_PERSIST_ATTEMPTS = 3;

interface Config {
  store: SessionStore | null;
  /** The cookie store's back-channel logouts; `null` with a server-side store. */
  logouts: LogoutList | null;
  cookieMaxChunkSize: number;
  secrets: string[];
  cookieName: string;
  attributes: CookieAttributes;
  refresh: SessionManagerOptions['refresh'];
  marginMs: number;
  idleMs: number | undefined;
  absoluteMs: number;
  lockTtlMs: number;
  lockWaitMs: number;
  touchIntervalMs: number;
  now: () => number;
  logger: Logger;
}

function invalid(message: string): VmproError {
  return new VmproError('VMPRO_CONFIG_INVALID', message);
}

function optionalNumber(
  options: SessionManagerOptions,
  field: keyof SessionManagerOptions,
  fallback: number,
  min: number,
): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalid(`\`${field}\` must be a number ≥ ${min} (got ${String(value)}).`);
  }
  return value;
}

function isSessionStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['get', 'create', 'update', 'delete', 'keysBySid', 'keysBySub', 'lock'].every(
    (method) => typeof store[method] === 'function',
  );
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function resolveConfig(options: SessionManagerOptions): Config {
  if (typeof options !== 'object' || options === null) throw invalid('Session manager options are required.');
  assertSecrets(options.secrets);
  if (typeof options.secure !== 'boolean') {
    throw invalid('`secure` must be true (https) or false (plain-http loopback development only).');
  }
  if (typeof options.refresh !== 'function') {
    throw invalid(
      "`refresh` must be the protocol client's refresh function `(tokens) => Promise<TokenSet>`.",
    );
  }
  const cookieName = options.cookieName ?? (options.secure ? '__Host-vmpro' : 'vmpro');
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName)) {
    throw invalid("`cookieName` must be a non-empty cookie name (letters, digits and !#$%&'*+-.^_`|~).");
  }
  if ((cookieName.startsWith('__Host-') || cookieName.startsWith('__Secure-')) && !options.secure) {
    throw invalid(
      `\`cookieName\` "${cookieName}" needs \`secure: true\`: browsers drop prefixed cookies without Secure.`,
    );
  }
  let store: SessionStore | null;
  let cookieMaxChunkSize = 0;
  let logouts: LogoutList | null = null;
  if (options.store === undefined) {
    store = memoryStore();
  } else if (isCookieStoreMarker(options.store)) {
    store = null;
    cookieMaxChunkSize = (options.store as CookieStoreMarker).maxChunkSize;
    logouts = (options.store as CookieStoreMarker).logouts ?? memoryLogoutList();
  } else if (isSessionStore(options.store)) {
    store = options.store;
    // Stores that keep records outside this process (Redis) encrypt them with these secrets.
    store.useSecrets?.(options.secrets);
  } else {
    throw invalid(
      '`store` must be memoryStore(), redisStore({ client }), cookieStore() or an object implementing SessionStore.',
    );
  }
  const idleSec =
    options.idleTimeoutSec === undefined ? undefined : optionalNumber(options, 'idleTimeoutSec', 0, 1);
  const idleMs = idleSec === undefined ? undefined : idleSec * 1000;
  const lockTtlMs = optionalNumber(options, 'lockTtlMs', 15_000, 100);
  return {
    store,
    cookieMaxChunkSize,
    logouts,
    secrets: [...options.secrets],
    cookieName,
    attributes: Object.freeze({ httpOnly: true, secure: options.secure, sameSite: 'Lax', path: '/' }),
    refresh: options.refresh,
    marginMs: optionalNumber(options, 'refreshMarginSec', 30, 0) * 1000,
    idleMs,
    absoluteMs: optionalNumber(options, 'absoluteTimeoutSec', 12 * 3600, 1) * 1000,
    lockTtlMs,
    lockWaitMs: optionalNumber(options, 'lockWaitMs', 10_000, 0),
    // Idle expiry moves with lastSeenAt; write it often enough that a short idle timeout works.
    touchIntervalMs: idleMs === undefined ? MINUTE : Math.min(MINUTE, Math.max(1000, idleMs / 4)),
    now: options.now ?? Date.now,
    logger: options.logger ?? silentLogger,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for `promise`, or rejects with `VMPRO_ABORTED` when `signal` fires first (the work goes on for the others). */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(aborted(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function aborted(signal: AbortSignal): VmproError {
  return new VmproError('VMPRO_ABORTED', 'The caller aborted while waiting for fresh tokens.', {
    cause: signal.reason,
  });
}

function isRetryableRefreshError(error: unknown): boolean {
  if (isVmproError(error)) {
    return (
      error.code === 'VMPRO_UPSTREAM_UNAVAILABLE' ||
      error.code === 'VMPRO_UPSTREAM_TIMEOUT' ||
      error.retryable
    );
  }
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

function sessionEnded(reason: string): VmproError {
  return new VmproError('VMPRO_NOT_AUTHENTICATED', `The session has ended (${reason}). Log in again.`);
}

/** Errors after which the caller's session cookie is stale. */
function endsSession(error: unknown): boolean {
  return isVmproError(error, 'VMPRO_REFRESH_EXPIRED') || isVmproError(error, 'VMPRO_NOT_AUTHENTICATED');
}

/**
 * Creates the session manager.
 *
 * Guarantees of the refresher (`freshTokens`):
 * - no I/O while the access token has more than the margin left;
 * - one refresh per session at a time in this process (callers share one promise);
 * - with a server-side store, one refresh per session across all instances: a lock in the
 *   store, a re-read after taking it (another instance may already have refreshed), and a
 *   compare-and-set write of the new tokens before the lock is released and before anyone
 *   uses them;
 * - `invalid_grant` ends the session (unless another worker already rotated the refresh token);
 *   a temporary failure keeps it and serves the current access token while it is valid;
 *   a store outage is `VMPRO_STORE_UNAVAILABLE`, never a logout.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({
 *   store: redisStore({ client: new Redis(process.env.REDIS_URL) }),
 *   secrets: process.env.VMPRO_SESSION_SECRET!.split(','),
 *   secure: true,
 *   refresh: (tokens, options) => client.refresh(tokens, options),
 * })
 * const record = await sessions.load(jar)
 * if (record) api.get('/v1/vms', { token: (await sessions.freshTokens(jar, record)).accessToken })
 * ```
 */
export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const config = resolveConfig(options);
  const { store, now, logger: log, cookieName, attributes } = config;
  const flights = new Map<string, Promise<SessionRecord>>();
  const successors = new Map<
    string,
    { spentAccessToken: string; spentRefreshToken: string | null; record: SessionRecord; expiresAt: number }
  >();
  const sealedRecords = new WeakMap<SessionRecord, Promise<string>>();

  // ---- time rules ---------------------------------------------------------------------------

  const idleExpiresAt = (record: SessionRecord): number => {
    if (config.idleMs !== undefined) return record.lastSeenAt + config.idleMs;
    const { refreshTokenExpiresAt, accessTokenExpiresAt } = record.tokens;
    if (refreshTokenExpiresAt !== null) return Math.max(refreshTokenExpiresAt, accessTokenExpiresAt ?? 0);
    return record.lastSeenAt + DEFAULT_IDLE_WITHOUT_REFRESH_TOKEN_MS;
  };
  const expiresAt = (record: SessionRecord) => Math.min(record.absoluteExpiresAt, idleExpiresAt(record));
  const ttlMs = (record: SessionRecord) => Math.max(1000, expiresAt(record) - now());
  const isExpired = (record: SessionRecord) => now() >= expiresAt(record);

  /** True when the access token is within the margin of its expiry (never more than half its lifetime). */
  const needsRefresh = (tokens: TokenSet): boolean => {
    const exp = tokens.accessTokenExpiresAt;
    if (exp === null) return false;
    const margin = Math.min(config.marginMs, Math.max(0, (exp - tokens.receivedAt) / 2));
    return now() >= exp - margin;
  };
  const accessTokenValid = (tokens: TokenSet) =>
    tokens.accessTokenExpiresAt === null || now() < tokens.accessTokenExpiresAt;
  /** Someone else refreshed since `started`: the stored tokens are different and fresh. */
  const refreshedSince = (tokens: TokenSet, started: TokenSet) =>
    tokens.accessToken !== started.accessToken && !needsRefresh(tokens);

  // ---- cookies ------------------------------------------------------------------------------

  const clearCookies = (jar: CookieJar) => clearChunkedCookie(jar, cookieName, attributes);

  const sealRecord = (record: SessionRecord): Promise<string> => {
    let sealed = sealedRecords.get(record);
    if (sealed === undefined) {
      sealed = sealJson(config.secrets, record, {
        purpose: 'session',
        maxAgeSec: Math.ceil(ttlMs(record) / 1000),
        now,
      });
      sealedRecords.set(record, sealed);
    }
    return sealed;
  };

  const writeSessionCookie = async (jar: CookieJar, record: SessionRecord): Promise<void> => {
    const sealed = await sealRecord(record);
    writeChunkedCookie(jar, cookieName, sealed, attributes, config.cookieMaxChunkSize);
    if (sealed.length > 3 * config.cookieMaxChunkSize) {
      log.warn(
        'the sealed session needs more than 3 cookies; mind header size limits or use a server-side store',
        {
          bytes: sealed.length,
        },
      );
    }
  };

  /**
   * Ended by a logout (cookie store): this session by its own logout, or its `sid` / `sub` by a
   * back-channel logout. Throws `VMPRO_STORE_UNAVAILABLE` when unknown.
   */
  const isLoggedOut = (record: SessionRecord): boolean => {
    const list = config.logouts!;
    const endedBefore = (name: string) => {
      const at = list.endedAt(name);
      return at !== undefined && record.createdAt <= at;
    };
    return (
      endedBefore(`session:${record.id}`) ||
      (record.sid !== null && endedBefore(`sid:${record.sid}`)) ||
      endedBefore(`sub:${record.user.sub}`)
    );
  };

  // ---- store access (records leave the store with their id restored) ------------------------

  const readFresh = async (key: string, id: string): Promise<SessionRecord | null> => {
    const stored = await storeCall('read', () => store!.get(key, { fresh: true }));
    return stored === null ? null : { ...stored, id };
  };
  const stripId = (record: SessionRecord): SessionRecord => ({ ...record, id: '' });

  /**
   * The stored record with its id restored. Stores that hand out shared, frozen records (the
   * memory store, the Redis store's local cache) get the same frozen answer on every request
   * until the record changes, instead of a copy per request.
   */
  const withIds = new WeakMap<SessionRecord, SessionRecord>();
  const withId = (stored: SessionRecord, id: string): SessionRecord => {
    if (!Object.isFrozen(stored)) return { ...stored, id };
    let record = withIds.get(stored);
    if (record === undefined || record.id !== id) {
      record = Object.freeze({ ...stored, id });
      withIds.set(stored, record);
    }
    return record;
  };

  // ---- load ---------------------------------------------------------------------------------

  const touch = async (jar: CookieJar, key: string, record: SessionRecord): Promise<SessionRecord | null> => {
    if (now() - record.lastSeenAt < config.touchIntervalMs) return record;
    const next: SessionRecord = { ...record, lastSeenAt: now(), version: record.version + 1 };
    if (store === null) {
      await writeSessionCookie(jar, next);
      return next;
    }
    try {
      if (await store.update(key, stripId(next), record.version, ttlMs(next))) return next;
      // Someone else wrote (a refresh, another instance's touch, or a logout): take theirs.
      const latest = await readFresh(key, record.id);
      if (latest === null) {
        clearCookies(jar);
        return null;
      }
      return latest;
    } catch (error) {
      // The read worked; failing the request because bookkeeping could not be written would
      // turn a store blip into errors. lastSeenAt is written on the next request instead.
      log.warn('could not record session activity; the store is unavailable', {
        session: keyTag(key),
        ...describeError(error),
      });
      return record;
    }
  };

  const loadFromCookie = async (jar: CookieJar): Promise<SessionRecord | null> => {
    const sealed = readChunkedCookie(jar, cookieName);
    if (sealed === undefined) {
      if (hasChunkedCookie(jar, cookieName)) clearCookies(jar);
      return null;
    }
    const record = parseSessionRecord(
      await unsealJson<unknown>(config.secrets, sealed, { purpose: 'session', now }),
    );
    await config.logouts!.ready?.();
    if (record === null || isExpired(record) || isLoggedOut(record) || !isWellFormedSessionId(record.id)) {
      log.debug('session cookie refused (tampered, sealed with an unknown secret, expired or logged out)');
      clearCookies(jar);
      return null;
    }
    return touch(jar, sessionKey(record.id), record);
  };

  const load = async (jar: CookieJar): Promise<SessionRecord | null> => {
    if (store === null) return loadFromCookie(jar);
    const id = jar.get(cookieName);
    if (id === undefined) {
      if (hasChunkedCookie(jar, cookieName)) clearCookies(jar);
      return null;
    }
    if (!isWellFormedSessionId(id)) {
      clearCookies(jar);
      return null;
    }
    const key = sessionKey(id);
    // storeCall inlined: this read runs on every request.
    let stored: SessionRecord | null;
    try {
      stored = await store.get(key);
    } catch (error) {
      throw isVmproError(error) ? error : storeUnavailable('read', error);
    }
    if (stored === null) {
      log.info('unknown or ended session id presented', { session: keyTag(key) });
      clearCookies(jar);
      return null;
    }
    const record = withId(stored, id);
    if (isExpired(record)) {
      await storeCall('delete', () => store.delete(key));
      log.info('session expired', { session: keyTag(key) });
      clearCookies(jar);
      return null;
    }
    // Most requests need no bookkeeping write: answer without another async step.
    return now() - record.lastSeenAt < config.touchIntervalMs ? record : touch(jar, key, record);
  };

  /** `load`'s happy path without I/O: a live, well-formed session the store holds in memory. */
  const loadCached = (jar: CookieJar): SessionRecord | undefined => {
    if (store === null || store.peek === undefined) return undefined;
    const id = jar.get(cookieName);
    if (id === undefined || !isWellFormedSessionId(id)) return undefined;
    const stored = store.peek(sessionKey(id));
    if (stored === undefined) return undefined;
    const record = withId(stored, id);
    if (isExpired(record) || now() - record.lastSeenAt >= config.touchIntervalMs) return undefined;
    return record;
  };

  // ---- create / destroy ---------------------------------------------------------------------

  const destroy = async (jar: CookieJar): Promise<SessionRecord | null> => {
    if (store === null) {
      const sealed = readChunkedCookie(jar, cookieName);
      const record =
        sealed === undefined
          ? null
          : parseSessionRecord(
              await unsealJson<unknown>(config.secrets, sealed, { purpose: 'session', now }),
            );
      // The cookie cannot be deleted from the server: remember that this session has ended, so a
      // copy of the cookie (kept by the browser, a proxy or a thief) is refused from now on. If
      // that cannot be recorded (Redis down), nothing is cleared and the logout fails with 503.
      if (record !== null && isWellFormedSessionId(record.id)) {
        await config.logouts!.add(`session:${record.id}`, now(), config.absoluteMs);
      }
      clearCookies(jar);
      return record;
    }
    const id = jar.get(cookieName);
    if (id === undefined || !isWellFormedSessionId(id)) {
      clearCookies(jar);
      return null;
    }
    const key = sessionKey(id);
    const removed = await readFresh(key, id);
    await storeCall('delete', () => store.delete(key));
    clearCookies(jar);
    if (removed !== null) log.info('session destroyed', { session: keyTag(key) });
    return removed;
  };

  const create: SessionManager['create'] = async (jar, init) => {
    if (typeof init?.user?.sub !== 'string' || typeof init.tokens?.accessToken !== 'string') {
      throw invalid('create() needs { tokens, user: { sub }, sid }.');
    }
    // Whatever the browser carried before is ended, never upgraded (fixation, two users mixed).
    if (store !== null) {
      const previous = jar.get(cookieName);
      if (previous !== undefined && isWellFormedSessionId(previous)) {
        const previousKey = sessionKey(previous);
        await storeCall('delete', () => store.delete(previousKey));
      }
    }
    const t = now();
    const id = newSessionId();
    const user = { ...init.user };
    const record: SessionRecord = {
      v: 1,
      id,
      version: 1,
      tokens: structuredClone(init.tokens),
      user,
      sid: init.sid ?? null,
      createdAt: t,
      lastSeenAt: t,
      absoluteExpiresAt: t + config.absoluteMs,
    };
    const key = sessionKey(id);
    if (store === null) {
      await writeSessionCookie(jar, record);
    } else {
      await storeCall('create', () => store.create(key, stripId(record), ttlMs(record)));
      // One cookie (the id); removes leftover chunks of an earlier cookie-store session.
      writeChunkedCookie(jar, cookieName, id, attributes, 4096);
    }
    log.info('session created', { session: keyTag(key) });
    return record;
  };

  // ---- the refresher ------------------------------------------------------------------------

  /**
   * Calls `refresh` with a deadline well inside the lock's lifetime (80 %), so that the new
   * tokens are saved before another instance could take the lock and spend the same refresh
   * token.
   */
  const callRefresh = (tokens: TokenSet) =>
    config.refresh(tokens, { signal: AbortSignal.timeout(Math.floor(config.lockTtlMs * 0.8)) });

  /**
   * The failure policy. Returns the record to use, or throws.
   * `current` is the record the refresh was attempted from.
   */
  const onRefreshFailure = async (
    error: unknown,
    key: string,
    current: SessionRecord,
    force: boolean,
  ): Promise<SessionRecord> => {
    if (isVmproError(error, 'VMPRO_REFRESH_EXPIRED')) {
      // Lost race: another worker may have rotated the refresh token we just spent.
      if (store === null) {
        const successor = successors.get(key);
        if (successor !== undefined && successor.spentRefreshToken === current.tokens.refreshToken) {
          return successor.record;
        }
      } else {
        const latest = await readFresh(key, current.id);
        if (latest !== null && latest.tokens.refreshToken !== current.tokens.refreshToken) {
          log.info('refresh token already rotated by another worker; using the stored tokens', {
            session: keyTag(key),
          });
          return latest;
        }
        await storeCall('delete', () => store.delete(key));
      }
      log.info('login ended: the login server refused the refresh token; session deleted', {
        session: keyTag(key),
      });
      throw error;
    }
    if (isRetryableRefreshError(error)) {
      if (!force && accessTokenValid(current.tokens)) {
        log.warn('token refresh failed temporarily; serving the current access token until it expires', {
          session: keyTag(key),
          ...describeError(error),
        });
        return current;
      }
      const retryAfter = isVmproError(error) && error.retryAfter !== undefined ? error.retryAfter : 5;
      throw new VmproError(
        'VMPRO_UPSTREAM_UNAVAILABLE',
        'The login server could not refresh the session right now and the access token has expired. ' +
          `The session is kept; try again in ${retryAfter} s.`,
        { cause: error, retryable: true, retryAfter },
      );
    }
    throw error;
  };

  /** A session without a refresh token cannot be refreshed: it ends once its access token does. */
  const withoutRefreshToken = async (
    key: string,
    current: SessionRecord,
    force: boolean,
  ): Promise<SessionRecord> => {
    if (!force && accessTokenValid(current.tokens)) return current;
    if (store !== null) await storeCall('delete', () => store.delete(key));
    throw new VmproError(
      'VMPRO_REFRESH_EXPIRED',
      'The access token has expired and the login server issued no refresh token (check the client’s scopes). Log in again.',
    );
  };

  /** Writes refreshed tokens (CAS) before anyone uses them; see the persistence rules in the TSDoc. */
  const persist = async (key: string, base: SessionRecord, tokens: TokenSet): Promise<SessionRecord> => {
    const s = store!;
    let from = base;
    for (let attempt = 0; attempt < MAX_PERSIST_ATTEMPTS; attempt++) {
      const next: SessionRecord = {
        ...from,
        tokens,
        version: from.version + 1,
        lastSeenAt: Math.max(from.lastSeenAt, now()),
        sid: from.sid ?? tokens.claims?.sid ?? tokens.sessionState ?? null,
      };
      let written: boolean;
      let latest: SessionRecord | null;
      try {
        written = await storeCall('write', () => s.update(key, stripId(next), from.version, ttlMs(next)));
        if (written) return next;
        latest = await readFresh(key, base.id);
      } catch (error) {
        log.error(
          'tokens were refreshed but could not be saved: the session store is unavailable. ' +
            'If the login server rotates refresh tokens, this user will have to log in again.',
          { session: keyTag(key), ...describeError(error) },
        );
        throw isVmproError(error, 'VMPRO_STORE_UNAVAILABLE') ? error : storeUnavailable('write', error);
      }
      if (latest === null) throw sessionEnded('it was logged out while its tokens were being refreshed');
      // Another instance refreshed (its lock expired, or a store without real locks): use theirs.
      if (latest.tokens.accessToken !== from.tokens.accessToken) return latest;
      // Same tokens: an unrelated write (lastSeenAt) won the CAS. Apply ours on top of it.
      from = latest;
    }
    throw storeUnavailable('the session kept changing while refreshed tokens were being saved');
  };

  /** Holding the lock: re-read, then refresh only if nobody else did. */
  const refreshLocked = async (
    key: string,
    id: string,
    started: TokenSet,
    force: boolean,
  ): Promise<SessionRecord> => {
    const current = await readFresh(key, id);
    if (current === null) throw sessionEnded('it was logged out');
    if (refreshedSince(current.tokens, started)) return current;
    if (current.tokens.refreshToken === null) return withoutRefreshToken(key, current, force);
    let tokens: TokenSet;
    try {
      tokens = await callRefresh(current.tokens);
    } catch (error) {
      return onRefreshFailure(error, key, current, force);
    }
    return persist(key, current, tokens);
  };

  const refreshStored = async (
    key: string,
    record: SessionRecord,
    force: boolean,
  ): Promise<SessionRecord> => {
    const s = store!;
    const started = record.tokens;
    const deadline = performance.now() + config.lockWaitMs;
    let lock: StoreLock | null = await storeCall('lock', () => s.lock(key, config.lockTtlMs));
    while (lock === null) {
      // Another instance is refreshing: wait for its write, or for the lock to free up.
      if (performance.now() >= deadline) {
        throw new VmproError(
          'VMPRO_UPSTREAM_UNAVAILABLE',
          'Another server instance is refreshing this session and has not finished in time ' +
            '(`lockWaitMs`). The session is kept; try again in a second.',
          { retryable: true, retryAfter: 1 },
        );
      }
      await sleep(50 + Math.random() * 50);
      const current = await readFresh(key, record.id);
      if (current === null) throw sessionEnded('it was logged out');
      if (refreshedSince(current.tokens, started)) return current;
      lock = await storeCall('lock', () => s.lock(key, config.lockTtlMs));
    }
    const held = lock;
    try {
      return await refreshLocked(key, record.id, started, force);
    } finally {
      await held.release().catch((error: unknown) => {
        log.warn('could not release the refresh lock; it expires by itself', {
          session: keyTag(key),
          ...describeError(error),
        });
      });
    }
  };

  const refreshCookie = async (
    key: string,
    record: SessionRecord,
    force: boolean,
  ): Promise<SessionRecord> => {
    // A request still carrying the cookie from before this process's last refresh of the session
    // (the browser had not received the new one yet): hand out the result, do not spend the
    // already-rotated refresh token again.
    const successor = successors.get(key);
    if (successor !== undefined) {
      if (successor.expiresAt <= now()) successors.delete(key);
      else if (
        successor.spentAccessToken === record.tokens.accessToken &&
        refreshedSince(successor.record.tokens, record.tokens)
      ) {
        return successor.record;
      }
    }
    if (record.tokens.refreshToken === null) return withoutRefreshToken(key, record, force);
    let tokens: TokenSet;
    try {
      tokens = await callRefresh(record.tokens);
    } catch (error) {
      return onRefreshFailure(error, key, record, force);
    }
    const next: SessionRecord = {
      ...record,
      tokens,
      version: record.version + 1,
      lastSeenAt: Math.max(record.lastSeenAt, now()),
      sid: record.sid ?? tokens.claims?.sid ?? tokens.sessionState ?? null,
    };
    successors.delete(key);
    successors.set(key, {
      spentAccessToken: record.tokens.accessToken,
      spentRefreshToken: record.tokens.refreshToken,
      record: next,
      expiresAt: now() + SUCCESSOR_TTL_MS,
    });
    while (successors.size > MAX_SUCCESSORS) {
      const oldest = successors.keys().next().value;
      if (oldest === undefined) break;
      successors.delete(oldest);
    }
    return next;
  };

  /** One flight per session in this process; later callers join it. */
  const flight = (key: string, record: SessionRecord, force: boolean): Promise<SessionRecord> => {
    const running = flights.get(key);
    if (running !== undefined) return running;
    const started = (async () => {
      try {
        return await (store === null ? refreshCookie(key, record, force) : refreshStored(key, record, force));
      } finally {
        flights.delete(key);
      }
    })();
    flights.set(key, started);
    return started;
  };

  const freshSession: SessionManager['freshSession'] = async (jar, record, opts = {}) => {
    const force = opts.forceRefresh === true;
    if (!force && !needsRefresh(record.tokens)) return record;
    if (opts.signal?.aborted) throw aborted(opts.signal);
    const key = sessionKey(record.id);
    const had = record.tokens.accessToken;
    let next: SessionRecord;
    try {
      next = await withSignal(flight(key, record, force), opts.signal);
      // Joined a flight that ended with the very token this caller was told is invalid: one more.
      if (force && next.tokens.accessToken === had) {
        next = await withSignal(flight(key, { ...record, ...next, id: record.id }, true), opts.signal);
      }
    } catch (error) {
      if (endsSession(error)) clearCookies(jar);
      throw error;
    }
    if (store === null && next.version !== record.version) await writeSessionCookie(jar, next);
    return next.id === record.id ? next : { ...next, id: record.id };
  };

  const freshTokens: SessionManager['freshTokens'] = async (jar, record, opts) =>
    (await freshSession(jar, record, opts)).tokens;

  const tokenSource = (jar: CookieJar, record: SessionRecord): TokenSource => {
    // Records are read-only: the source keeps the latest one itself.
    let current = record;
    return {
      async getAccessToken(opts) {
        current = await freshSession(jar, current, opts);
        return current.tokens.accessToken;
      },
    };
  };

  // ---- back-channel logout ------------------------------------------------------------------

  const endSessions: SessionManager['endSessions'] = async (filter) => {
    const sid = typeof filter?.sid === 'string' && filter.sid !== '' ? filter.sid : undefined;
    const sub = typeof filter?.sub === 'string' && filter.sub !== '' ? filter.sub : undefined;
    if (sid === undefined && sub === undefined) return 0;
    if (store === null) {
      const list = config.logouts!;
      await list.add(sid !== undefined ? `sid:${sid}` : `sub:${sub}`, now(), config.absoluteMs);
      log.info(
        `back-channel logout remembered (cookie store: ${list.kind === 'redis' ? 'every instance, through Redis' : 'this instance only'})`,
        { by: sid ? 'sid' : 'sub' },
      );
      return 0;
    }
    const keys =
      sid !== undefined
        ? await storeCall('index read', () => store.keysBySid(sid))
        : await storeCall('index read', () => store.keysBySub(sub!));
    const unique = [...new Set(keys)];
    await Promise.all(unique.map((key) => storeCall('delete', () => store.delete(key))));
    log.info('back-channel logout ended sessions', { by: sid ? 'sid' : 'sub', count: unique.length });
    return unique.length;
  };

  return {
    cookieName,
    load,
    loadCached,
    create,
    destroy,
    freshSession,
    freshTokens,
    tokenSource,
    endSessions,
    async close() {
      flights.clear();
      successors.clear();
      await store?.close?.();
      await config.logouts?.close?.();
    },
  };
}
