/**
 * The session manager: validates its configuration, picks the backend (a server-side store, or
 * the encrypted cookie), applies the time rules (idle and absolute timeouts, activity), and hands
 * refreshes to the refresher (`refresher.ts`), which refreshes a session's tokens exactly once
 * even when many requests — on several instances — need it at the same moment.
 */
import { configError } from '../errors.js';
import { asLogger, type Logger } from '../logger.js';
import { type BackendContext, type SessionBackend, type SessionClock, serverBackend } from './backend.js';
import { eventEmitter } from './events.js';
import { memoryStore } from './memory-store.js';
import { describeError, keyTag, newSessionId, sessionKey, storeCall } from './record.js';
import { createRefresher } from './refresher.js';
import { assertSecrets } from './seal.js';
import type {
  CookieAttributes,
  CookieJar,
  SessionBackendSource,
  SessionManager,
  SessionManagerOptions,
  SessionRecord,
  SessionStore,
} from './types.js';

const MINUTE = 60_000;
const DEFAULT_IDLE_WITHOUT_REFRESH_TOKEN_MS = 3_600_000;
/** Used login transactions remembered in this process at most (the oldest are forgotten first). */
const MAX_SPENT = 100_000;

interface Config {
  backend: (context: BackendContext) => SessionBackend;
  secrets: string[];
  cookieName: string;
  attributes: CookieAttributes;
  refresh: SessionManagerOptions['refresh'];
  marginMs: number;
  idleMs: number | undefined;
  absoluteMs: number;
  lockTtlMs: number;
  lockWaitMs: number;
  refreshWaitMs: number;
  touchIntervalMs: number;
  now: () => number;
  logger: Logger;
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
    throw configError(field, `must be a number ≥ ${min} (got ${String(value)})`);
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

function isBackendSource(value: unknown): value is SessionBackendSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SessionBackendSource).createBackend === 'function'
  );
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function resolveConfig(options: SessionManagerOptions): Config {
  if (typeof options !== 'object' || options === null) throw configError('options', 'are required');
  assertSecrets(options.secrets);
  if (typeof options.secure !== 'boolean') {
    throw configError('secure', 'must be true (https) or false (plain-http loopback development only).');
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw configError(
      'onEvent',
      'must be a function `(event) => void` (it receives refreshes and ended sessions).',
    );
  }
  if (typeof options.refresh !== 'function') {
    throw configError(
      'refresh',
      "must be the protocol client's refresh function `(tokens) => Promise<TokenSet>`.",
    );
  }
  const cookieName = options.cookieName ?? (options.secure ? '__Host-vmpro' : 'vmpro');
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName)) {
    throw configError('cookieName', "must be a non-empty cookie name (letters, digits and !#$%&'*+-.^_`|~).");
  }
  if ((cookieName.startsWith('__Host-') || cookieName.startsWith('__Secure-')) && !options.secure) {
    throw configError(
      'cookieName',
      `"${cookieName}" needs \`secure: true\`: browsers drop prefixed cookies without Secure.`,
    );
  }
  const source = options.store ?? memoryStore();
  let backend: Config['backend'];
  if (isBackendSource(source)) {
    backend = (context) => source.createBackend(context);
  } else if (isSessionStore(source)) {
    // Stores that keep records outside this process (Redis) encrypt them with these secrets.
    source.useSecrets?.(options.secrets);
    backend = (context) => serverBackend(source, context);
  } else {
    throw configError(
      'store',
      'must be memoryStore(), redisStore({ client }), cookieStore() or an object implementing SessionStore.',
    );
  }
  const idleSec =
    options.idleTimeoutSec === undefined ? undefined : optionalNumber(options, 'idleTimeoutSec', 0, 1);
  const idleMs = idleSec === undefined ? undefined : idleSec * 1000;
  return {
    backend,
    secrets: [...options.secrets],
    cookieName,
    attributes: Object.freeze({ httpOnly: true, secure: options.secure, sameSite: 'Lax', path: '/' }),
    refresh: options.refresh,
    marginMs: optionalNumber(options, 'refreshMarginSec', 30, 0) * 1000,
    idleMs,
    absoluteMs: optionalNumber(options, 'absoluteTimeoutSec', 12 * 3600, 1) * 1000,
    lockTtlMs: optionalNumber(options, 'lockTtlMs', 15_000, 100),
    lockWaitMs: optionalNumber(options, 'lockWaitMs', 10_000, 0),
    refreshWaitMs: optionalNumber(options, 'refreshWaitMs', 10_000, 1),
    // Idle expiry moves with lastSeenAt; write it often enough that a short idle timeout works.
    touchIntervalMs: idleMs === undefined ? MINUTE : Math.min(MINUTE, Math.max(1000, idleMs / 4)),
    now: options.now ?? Date.now,
    logger: asLogger(options.logger),
  };
}

/**
 * Creates the session manager.
 *
 * Guarantees of the refresher (`freshSession`, `freshTokens`):
 * - no I/O while the access token has more than the margin left; inside the margin the request
 *   is answered with the still-valid token while the refresh runs in the background;
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
  const { now, logger: log, cookieName } = config;

  const idleExpiresAt = (record: SessionRecord): number => {
    if (config.idleMs !== undefined) return record.lastSeenAt + config.idleMs;
    const { refreshTokenExpiresAt, accessTokenExpiresAt } = record.tokens;
    if (refreshTokenExpiresAt !== null) return Math.max(refreshTokenExpiresAt, accessTokenExpiresAt ?? 0);
    return record.lastSeenAt + DEFAULT_IDLE_WITHOUT_REFRESH_TOKEN_MS;
  };
  const expiresAt = (record: SessionRecord) => Math.min(record.absoluteExpiresAt, idleExpiresAt(record));
  const emit = eventEmitter(options.onEvent, log);
  const clock: SessionClock = {
    now,
    isExpired: (record) => now() >= expiresAt(record),
    ttlMs: (record) => Math.max(1000, expiresAt(record) - now()),
    onExpired: (record) =>
      emit({
        type: 'session_ended',
        at: now(),
        sub: record.user.sub,
        sid: record.sid,
        reason: now() >= record.absoluteExpiresAt ? 'absolute' : 'idle',
      }),
  };

  const backend = config.backend({
    cookieName,
    attributes: config.attributes,
    clock,
    logger: log,
    secrets: config.secrets,
    absoluteMs: config.absoluteMs,
  });
  const refresher = createRefresher({
    backend,
    refresh: config.refresh,
    marginMs: config.marginMs,
    lockTtlMs: config.lockTtlMs,
    lockWaitMs: config.lockWaitMs,
    refreshWaitMs: config.refreshWaitMs,
    now,
    logger: log,
    emit,
  });

  /** Records activity at most every `touchIntervalMs` (idle expiry moves with it). */
  const touch = async (jar: CookieJar, key: string, record: SessionRecord): Promise<SessionRecord | null> => {
    if (now() - record.lastSeenAt < config.touchIntervalMs) return record;
    const next: SessionRecord = { ...record, lastSeenAt: now(), version: record.version + 1 };
    try {
      if (await backend.write(key, next, record)) {
        await backend.deliver(jar, next);
        return next;
      }
      // Someone else wrote (a refresh, another instance's touch, or a logout): take theirs.
      const latest = await backend.reread(key, record);
      if (latest === null) backend.clear(jar);
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

  const load: SessionManager['load'] = async (jar) => {
    const loaded = await backend.read(jar);
    return loaded === null ? null : touch(jar, loaded.key, loaded.record);
  };

  const create: SessionManager['create'] = async (jar, init) => {
    if (typeof init?.user?.sub !== 'string' || typeof init.tokens?.accessToken !== 'string') {
      throw configError('create()', 'needs { tokens, user: { sub }, sid }');
    }
    const t = now();
    const record: SessionRecord = {
      v: 1,
      id: newSessionId(),
      version: 1,
      tokens: structuredClone(init.tokens),
      user: { ...init.user },
      sid: init.sid ?? null,
      ...(init.data !== undefined && { data: structuredClone(init.data) }),
      createdAt: t,
      lastSeenAt: t,
      absoluteExpiresAt: t + config.absoluteMs,
    };
    const key = sessionKey(record.id);
    // Whatever the browser carried before is ended, never upgraded (fixation, two users mixed).
    await backend.create(jar, key, record);
    log.info('session created', { session: keyTag(key) });
    return record;
  };

  // ---- single-use login transactions --------------------------------------------------------

  /** Transactions used in this process → until when they stay recorded (insertion ≈ expiry order). */
  const spent = new Map<string, number>();

  const claimOnce: SessionManager['claimOnce'] = async (name, ttlMs) => {
    const t = now();
    for (const [oldest, until] of spent) {
      if (until > t && spent.size < MAX_SPENT) break;
      spent.delete(oldest);
    }
    const until = spent.get(name);
    if (until !== undefined && until > t) return false;
    // Taken before any I/O: a second request in this process loses without a round trip.
    spent.set(name, t + ttlMs);
    const shared = backend.claim;
    if (shared === undefined) return true;
    try {
      return await storeCall('claim', () => shared(name, ttlMs));
    } catch (error) {
      // Nothing was redeemed: the user may try the same callback again once the store is back.
      spent.delete(name);
      throw error;
    }
  };

  return {
    cookieName,
    load,
    create,
    destroy: (jar) => backend.destroy(jar),
    freshSession: refresher.freshSession,
    freshTokens: async (jar, record, opts) => (await refresher.freshSession(jar, record, opts)).tokens,
    tokenSource: refresher.tokenSource,
    claimOnce,
    async endSessions(filter) {
      const sid = typeof filter?.sid === 'string' && filter.sid !== '' ? filter.sid : undefined;
      const sub = typeof filter?.sub === 'string' && filter.sub !== '' ? filter.sub : undefined;
      if (sid !== undefined) return backend.endSessions({ sid });
      if (sub !== undefined) return backend.endSessions({ sub });
      return 0;
    },
    async close() {
      await refresher.settled();
      refresher.close();
      spent.clear();
      await backend.close();
    },
  };
}
