/**
 * The refresher: a session's tokens refreshed exactly once, even when many requests — on several
 * instances — need it at the same moment. One algorithm over any `SessionBackend`:
 *
 * 1. one flight per session in this process (later callers join it);
 * 2. a lock in the backend across instances (the cookie backend: this process only);
 * 3. a re-read after taking the lock: another instance may already have refreshed;
 * 4. the refresh, then a compare-and-set write of the new tokens before the lock is released
 *    and before anyone uses them.
 *
 * While the access token is still valid but inside the refresh margin, the request is answered
 * with it and the refresh runs in the background; only a request whose access token has expired
 * (or that forces a refresh) waits for it.
 */
import { isVmproError, VmproError } from '../errors.js';
import { sleep } from '../internal/time.js';
import type { Logger } from '../logger.js';
import type { TokenSet } from '../oidc/types.js';
import type { TokenSource } from '../token-source.js';
import { releaseQuietly, type SessionBackend } from './backend.js';
import { type Emit, noEmit } from './events.js';
import { describeError, keyTag, sessionKey, storeUnavailable } from './record.js';
import type { CookieJar, SessionEvent, SessionManagerOptions, SessionRecord, StoreLock } from './types.js';

/** Write attempts after a refresh when unrelated writes (lastSeenAt) keep winning the CAS. */
const MAX_PERSIST_ATTEMPTS = 3;

export interface RefresherOptions {
  backend: SessionBackend;
  refresh: SessionManagerOptions['refresh'];
  marginMs: number;
  lockTtlMs: number;
  lockWaitMs: number;
  refreshWaitMs: number;
  now: () => number;
  logger: Logger;
  /** Receives `refresh`, `refresh_failed` and `session_ended` (`refresh_expired`) events. */
  emit?: Emit<SessionEvent> | undefined;
}

export interface Refresher {
  /** See `SessionManager.freshSession`. */
  freshSession(
    jar: CookieJar,
    record: SessionRecord,
    options?: { forceRefresh?: boolean | undefined; signal?: AbortSignal | undefined },
  ): Promise<SessionRecord>;
  tokenSource(jar: CookieJar, record: SessionRecord): TokenSource;
  /** Refreshes still running in the background (for shutdown and tests). */
  settled(): Promise<void>;
  close(): void;
}

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
      // An answer that is no token response (a proxy's HTML page with 200, a cut-off body) says
      // nothing about the login: as temporary as a 503.
      error.code === 'VMPRO_TOKEN_RESPONSE_INVALID' ||
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

export function createRefresher(options: RefresherOptions): Refresher {
  const { backend, now, logger: log } = options;
  const emit = options.emit ?? noEmit;
  const flights = new Map<string, Promise<SessionRecord>>();
  const ended = (record: SessionRecord) =>
    emit({
      type: 'session_ended',
      at: now(),
      sub: record.user.sub,
      sid: record.sid,
      reason: 'refresh_expired',
    });
  const failedEvent = (record: SessionRecord, error: unknown) =>
    emit({
      type: 'refresh_failed',
      at: now(),
      sub: record.user.sub,
      code: isVmproError(error) ? error.code : 'VMPRO_INTERNAL',
      retryable: isRetryableRefreshError(error),
    });
  const background = new Set<Promise<unknown>>();
  /** Token sets this process got from the login server (tells `refreshed` from `refreshed_elsewhere`). */
  const refreshedHere = new WeakSet<TokenSet>();

  /** True when the access token is within the margin of its expiry (never more than half its lifetime). */
  const needsRefresh = (tokens: TokenSet): boolean => {
    const exp = tokens.accessTokenExpiresAt;
    if (exp === null) return false;
    const margin = Math.min(options.marginMs, Math.max(0, (exp - tokens.receivedAt) / 2));
    return now() >= exp - margin;
  };
  const accessTokenValid = (tokens: TokenSet) =>
    tokens.accessTokenExpiresAt === null || now() < tokens.accessTokenExpiresAt;
  /** Someone else refreshed since `started`: the stored tokens are different and fresh. */
  const refreshedSince = (tokens: TokenSet, started: TokenSet) =>
    tokens.accessToken !== started.accessToken && !needsRefresh(tokens);

  /**
   * Calls `refresh` with a deadline well inside the lock's lifetime (80 %), so that the new
   * tokens are saved before another instance could take the lock and spend the same refresh
   * token.
   */
  const callRefresh = (tokens: TokenSet) => {
    const deadlineMs = Math.floor(options.lockTtlMs * 0.8);
    return options.refresh(tokens, { signal: AbortSignal.timeout(deadlineMs), timeoutMs: deadlineMs });
  };

  /** Waits for a flight at most `refreshWaitMs`; the flight itself goes on and saves its result. */
  const waitFor = (running: Promise<SessionRecord>): Promise<SessionRecord> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new VmproError(
              'VMPRO_UPSTREAM_TIMEOUT',
              'The login server is slow to refresh the session. The refresh goes on and its result is kept; try again in a moment.',
              { retryable: true, retryAfter: 1 },
            ),
          ),
        options.refreshWaitMs,
      );
      timer.unref?.();
    });
    return Promise.race([running, late]).finally(() => clearTimeout(timer));
  };

  /** The failure policy: the record to use, or an error. `current` is the record the refresh started from. */
  const onRefreshFailure = async (
    error: unknown,
    key: string,
    current: SessionRecord,
    force: boolean,
  ): Promise<SessionRecord> => {
    if (isVmproError(error, 'VMPRO_REFRESH_EXPIRED')) {
      // Lost race: another worker may have rotated the refresh token we just spent.
      const latest = await backend.reread(key, current);
      if (latest !== null && latest.tokens.refreshToken !== current.tokens.refreshToken) {
        log.info('refresh token already rotated by another worker; using the stored tokens', {
          session: keyTag(key),
        });
        return latest;
      }
      await backend.forget(key);
      log.info('login ended: the login server refused the refresh token; session deleted', {
        session: keyTag(key),
      });
      ended(current);
      throw error;
    }
    if (isRetryableRefreshError(error)) {
      if (!force && accessTokenValid(current.tokens)) {
        // Not thrown, so the flight does not report it: report it here.
        failedEvent(current, error);
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
  const withoutRefreshToken = async (key: string, current: SessionRecord, force: boolean) => {
    if (!force && accessTokenValid(current.tokens)) return current;
    await backend.forget(key);
    ended(current);
    throw new VmproError(
      'VMPRO_REFRESH_EXPIRED',
      'The access token has expired and the login server issued no refresh token (check the client’s scopes). Log in again.',
    );
  };

  /** Writes refreshed tokens (compare-and-set) before anyone uses them. */
  const persist = async (key: string, base: SessionRecord, tokens: TokenSet): Promise<SessionRecord> => {
    let from = base;
    for (let attempt = 0; attempt < MAX_PERSIST_ATTEMPTS; attempt++) {
      const next: SessionRecord = {
        ...from,
        tokens,
        version: from.version + 1,
        lastSeenAt: Math.max(from.lastSeenAt, now()),
        sid: from.sid ?? tokens.claims?.sid ?? tokens.sessionState ?? null,
      };
      let latest: SessionRecord | null;
      try {
        if (await backend.write(key, next, from)) return next;
        latest = await backend.reread(key, base);
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
    record: SessionRecord,
    force: boolean,
  ): Promise<SessionRecord> => {
    const current = await backend.reread(key, record);
    if (current === null) throw sessionEnded('it was logged out');
    if (refreshedSince(current.tokens, record.tokens)) return current;
    if (current.tokens.refreshToken === null) return withoutRefreshToken(key, current, force);
    let tokens: TokenSet;
    try {
      tokens = await callRefresh(current.tokens);
    } catch (error) {
      return onRefreshFailure(error, key, current, force);
    }
    refreshedHere.add(tokens);
    return persist(key, current, tokens);
  };

  const refresh = async (key: string, record: SessionRecord, force: boolean): Promise<SessionRecord> => {
    const deadline = performance.now() + options.lockWaitMs;
    let lock: StoreLock | null = await backend.lock(key, options.lockTtlMs);
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
      const current = await backend.reread(key, record);
      if (current === null) throw sessionEnded('it was logged out');
      if (refreshedSince(current.tokens, record.tokens)) return current;
      lock = await backend.lock(key, options.lockTtlMs);
    }
    const held = lock;
    try {
      return await refreshLocked(key, record, force);
    } finally {
      await releaseQuietly(held, key, log);
    }
  };

  /**
   * One flight per session in this process; later callers join it. Each flight reports once:
   * `refresh` when it ends with tokens newer than the ones it started from, `refresh_failed`
   * when it throws (a concurrent logout is no refresh failure).
   */
  const flight = (key: string, record: SessionRecord, force: boolean): Promise<SessionRecord> => {
    const running = flights.get(key);
    if (running !== undefined) return running;
    const started = (async () => {
      const startedAt = performance.now();
      try {
        const result = await refresh(key, record, force);
        if (result.tokens.accessToken !== record.tokens.accessToken) {
          emit({
            type: 'refresh',
            at: now(),
            sub: record.user.sub,
            durationMs: Math.round(performance.now() - startedAt),
            outcome: refreshedHere.has(result.tokens) ? 'refreshed' : 'refreshed_elsewhere',
          });
        }
        return result;
      } catch (error) {
        if (!isVmproError(error, 'VMPRO_NOT_AUTHENTICATED')) failedEvent(record, error);
        throw error;
      } finally {
        flights.delete(key);
      }
    })();
    flights.set(key, started);
    return started;
  };

  /** Starts a refresh nobody waits for (the access token is still valid); its failures are logged. */
  const refreshAhead = (key: string, record: SessionRecord): void => {
    if (flights.has(key)) return;
    const running = flight(key, record, false).then(
      () => {},
      (error: unknown) => {
        log.warn('refreshing ahead of expiry failed; the next request after expiry tries again', {
          session: keyTag(key),
          ...describeError(error),
        });
      },
    );
    background.add(running);
    void running.finally(() => background.delete(running));
  };

  const freshSession: Refresher['freshSession'] = async (jar, record, opts = {}) => {
    const force = opts.forceRefresh === true;
    if (!force && !needsRefresh(record.tokens)) return record;
    const key = sessionKey(record.id);
    if (!force && accessTokenValid(record.tokens)) {
      // Inside the margin and still valid: answer with it; the refresh runs meanwhile. A request
      // with an older cookie gets the refreshed record this process already has (cookie backend).
      const known = backend.newer(key, record);
      if (known !== null && !needsRefresh(known.tokens)) {
        await backend.deliver(jar, known);
        return known;
      }
      refreshAhead(key, record);
      return record;
    }
    if (opts.signal?.aborted) throw aborted(opts.signal);
    const had = record.tokens.accessToken;
    let next: SessionRecord;
    try {
      next = await withSignal(waitFor(flight(key, record, force)), opts.signal);
      // Joined a flight that ended with the very token this caller was told is invalid: one more.
      if (force && next.tokens.accessToken === had) {
        next = await withSignal(
          waitFor(flight(key, { ...record, ...next, id: record.id }, true)),
          opts.signal,
        );
      }
    } catch (error) {
      if (endsSession(error)) backend.clear(jar);
      throw error;
    }
    if (next.version !== record.version) await backend.deliver(jar, next);
    return next.id === record.id ? next : { ...next, id: record.id };
  };

  return {
    freshSession,
    tokenSource(jar, record) {
      // Records are read-only: the source keeps the latest one itself.
      let current = record;
      return {
        async getAccessToken(opts) {
          current = await freshSession(jar, current, opts);
          return current.tokens.accessToken;
        },
      };
    },
    async settled() {
      // Bounded: a refresh gives up within the lock's lifetime anyway.
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, options.lockTtlMs).unref());
      const all = (async () => {
        while (background.size > 0) await Promise.all(background);
      })();
      await Promise.race([all, deadline]);
    },
    close() {
      flights.clear();
    },
  };
}
