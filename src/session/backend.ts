/**
 * Where sessions live, as the session manager and the refresher see it: one interface, two
 * kinds.
 *
 * - The **server backend** keeps records in a `SessionStore` (memory, Redis, or your own),
 *   behind a cookie that holds only the session id.
 * - The **cookie backend** seals the whole record into the browser's cookies (chunked), remembers
 *   logouts in a `LogoutList`, and keeps the result of its last refresh of each session for
 *   requests that still carry the cookie from before it.
 *
 * The manager keeps validation and delegation, and the refresher (`refresher.ts`) runs one
 * algorithm over either kind.
 */
import { isVmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import { clearChunkedCookie, hasChunkedCookie, readChunkedCookie, writeChunkedCookie } from './chunks.js';
import type { LogoutList } from './logout-list.js';
import {
  describeError,
  isWellFormedSessionId,
  keyTag,
  parseSessionRecord,
  sessionKey,
  storeCall,
  storeUnavailable,
} from './record.js';
import { sealJson, unsealJson } from './seal.js';
import type { CookieAttributes, CookieJar, SessionRecord, SessionStore, StoreLock } from './types.js';

/** A session as a backend hands it out: its key (the id's hash) and the record, id included. */
export interface LoadedSession {
  readonly key: string;
  readonly record: SessionRecord;
}

/** The time rules a backend applies (owned by the manager's configuration). */
export interface SessionClock {
  now(): number;
  /** True once the session is past its idle or absolute timeout. */
  isExpired(record: SessionRecord): boolean;
  /** How long a store should keep the record, in ms (at least 1 s). */
  ttlMs(record: SessionRecord): number;
  /** Called when a backend drops a session because `isExpired` said so (for the `session_ended` event). */
  onExpired?(record: SessionRecord): void;
}

/** One place sessions live. Every method throws `VMPRO_STORE_UNAVAILABLE` when the place cannot be reached. */
export interface SessionBackend {
  readonly kind: 'server' | 'cookie';
  /**
   * The live session the request's cookies point to, or `null`: no cookie, an unknown, expired,
   * tampered or logged-out session (its cookies are then cleared, and an expired record deleted).
   */
  read(jar: CookieJar): Promise<LoadedSession | null>;
  /**
   * The latest state of the session `seen` belongs to, past any cache; `null` when it has ended.
   * (The cookie backend has no shared state: `seen` itself, or this process's refresh of it.)
   */
  reread(key: string, seen: SessionRecord): Promise<SessionRecord | null>;
  /**
   * A newer state of the session `seen` belongs to that this process already holds, without I/O
   * (the cookie backend's last refresh of it, for a request still carrying the older cookie);
   * `null` otherwise.
   */
  newer(key: string, seen: SessionRecord): SessionRecord | null;
  /** Compare-and-set write of `next` over `previous` (on the version); false when someone else wrote first or the session is gone. */
  write(key: string, next: SessionRecord, previous: SessionRecord): Promise<boolean>;
  /** Puts `record` in the response's cookies when the backend keeps it there (the cookie backend); else nothing. */
  deliver(jar: CookieJar, record: SessionRecord): Promise<void>;
  /** Stores a new session and sets its cookie; ends whatever session the request carried before. */
  create(jar: CookieJar, key: string, record: SessionRecord): Promise<void>;
  /** Ends the request's session (a logout in the app) and clears its cookies; returns what ended. */
  destroy(jar: CookieJar): Promise<SessionRecord | null>;
  /** Forgets a session whose login has ended (refresh refused). The cookie backend has nothing to forget. */
  forget(key: string): Promise<void>;
  /** Back-channel logout: ends every session of the `sid` (else the `sub`); returns how many it knows of. */
  endSessions(filter: { sid: string } | { sub: string }): Promise<number>;
  /** A lock across instances, `null` while someone else holds it (the cookie backend: always granted, in-process single flight only). */
  lock(key: string, ttlMs: number): Promise<StoreLock | null>;
  /** Marks a login transaction used, across instances where the backend can (see `SessionManager.claimOnce`). */
  readonly claim: ((name: string, ttlMs: number) => Promise<boolean>) | undefined;
  /** Clears the session's cookies from the response. */
  clear(jar: CookieJar): void;
  close(): Promise<void>;
}

/** What a backend is built from: the session manager's configuration. */
export interface BackendContext {
  readonly cookieName: string;
  readonly attributes: CookieAttributes;
  readonly clock: SessionClock;
  readonly logger: Logger;
  /** The session secrets (the first seals). */
  readonly secrets: readonly string[];
  /** The absolute session timeout: no session is older (how long logouts are remembered). */
  readonly absoluteMs: number;
}

// ---- the server backend ----------------------------------------------------------------------

/** Sessions in a `SessionStore`, keyed by the hash of the id the cookie holds. */
export function serverBackend(store: SessionStore, options: BackendContext): SessionBackend {
  const { cookieName, attributes, clock, logger: log } = options;
  const clear = (jar: CookieJar) => clearChunkedCookie(jar, cookieName, attributes);
  const stripId = (record: SessionRecord): SessionRecord => ({ ...record, id: '' });

  return {
    kind: 'server',
    clear,
    async read(jar) {
      const id = jar.get(cookieName);
      if (id === undefined) {
        if (hasChunkedCookie(jar, cookieName)) clear(jar);
        return null;
      }
      if (!isWellFormedSessionId(id)) {
        clear(jar);
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
        clear(jar);
        return null;
      }
      const record = { ...stored, id };
      if (clock.isExpired(record)) {
        await storeCall('delete', () => store.delete(key));
        log.info('session expired', { session: keyTag(key) });
        clock.onExpired?.(record);
        clear(jar);
        return null;
      }
      return { key, record };
    },
    async reread(key, seen) {
      const stored = await storeCall('read', () => store.get(key, { fresh: true }));
      return stored === null ? null : { ...stored, id: seen.id };
    },
    newer: () => null,
    write: (key, next, previous) =>
      storeCall('write', () => store.update(key, stripId(next), previous.version, clock.ttlMs(next))),
    async deliver() {},
    async create(jar, key, record) {
      const previous = jar.get(cookieName);
      if (previous !== undefined && isWellFormedSessionId(previous)) {
        const previousKey = sessionKey(previous);
        await storeCall('delete', () => store.delete(previousKey));
      }
      await storeCall('create', () => store.create(key, stripId(record), clock.ttlMs(record)));
      // One cookie (the id); removes leftover chunks of an earlier cookie-backend session.
      writeChunkedCookie(jar, cookieName, record.id, attributes, 4096);
    },
    async destroy(jar) {
      const id = jar.get(cookieName);
      if (id === undefined || !isWellFormedSessionId(id)) {
        clear(jar);
        return null;
      }
      const key = sessionKey(id);
      const stored = await storeCall('read', () => store.get(key, { fresh: true }));
      await storeCall('delete', () => store.delete(key));
      clear(jar);
      if (stored !== null) log.info('session destroyed', { session: keyTag(key) });
      return stored === null ? null : { ...stored, id };
    },
    forget: (key) => storeCall('delete', () => store.delete(key)),
    async endSessions(filter) {
      const keys =
        'sid' in filter
          ? await storeCall('index read', () => store.keysBySid(filter.sid))
          : await storeCall('index read', () => store.keysBySub(filter.sub));
      const unique = [...new Set(keys)];
      await Promise.all(unique.map((key) => storeCall('delete', () => store.delete(key))));
      log.info('back-channel logout ended sessions', {
        by: 'sid' in filter ? 'sid' : 'sub',
        count: unique.length,
      });
      return unique.length;
    },
    lock: (key, ttlMs) => storeCall('lock', () => store.lock(key, ttlMs)),
    claim: store.claim?.bind(store),
    async close() {
      await store.close?.();
    },
  };
}

// ---- the cookie backend ----------------------------------------------------------------------

/** How long the result of a refresh is kept for requests still carrying the cookie from before it. */
const SUCCESSOR_TTL_MS = 60_000;
const MAX_SUCCESSORS = 10_000;

interface Successor {
  /** The access token the refresh replaced: a request carrying it gets `record`. */
  spentAccessToken: string;
  record: SessionRecord;
  expiresAt: number;
}

/** The whole record sealed into the browser's cookies; logouts remembered in `logouts`. */
export function cookieBackend(
  options: BackendContext,
  cookies: { maxChunkSize: number; logouts: LogoutList },
): SessionBackend {
  const { cookieName, attributes, clock, logger: log, absoluteMs } = options;
  const { maxChunkSize, logouts } = cookies;
  const secrets = [...options.secrets];
  const clear = (jar: CookieJar) => clearChunkedCookie(jar, cookieName, attributes);
  const successors = new Map<string, Successor>();
  /** Sealed once per record: every response of a refreshed session writes the same cookie. */
  const sealed = new WeakMap<SessionRecord, Promise<string>>();

  const unseal = async (value: string) =>
    parseSessionRecord(await unsealJson<unknown>(secrets, value, { purpose: 'session', now: clock.now }));

  /** Ended by a logout in the app (this session) or a back-channel logout (its `sid` or `sub`). */
  const isLoggedOut = (record: SessionRecord): boolean => {
    const endedBefore = (name: string) => {
      const at = logouts.endedAt(name);
      return at !== undefined && record.createdAt <= at;
    };
    return (
      endedBefore(`session:${record.id}`) ||
      (record.sid !== null && endedBefore(`sid:${record.sid}`)) ||
      endedBefore(`sub:${record.user.sub}`)
    );
  };

  const seal = (record: SessionRecord): Promise<string> => {
    let value = sealed.get(record);
    if (value === undefined) {
      value = sealJson(secrets, record, {
        purpose: 'session',
        maxAgeSec: Math.ceil(clock.ttlMs(record) / 1000),
        now: clock.now,
      });
      sealed.set(record, value);
    }
    return value;
  };

  /**
   * A request still carrying the cookie from before this process's last refresh of the session
   * (the browser had not received the new one yet) gets the result: the rotated refresh token
   * is not spent again.
   */
  const newer = (key: string, seen: SessionRecord): SessionRecord | null => {
    const successor = successors.get(key);
    if (successor === undefined) return null;
    if (successor.expiresAt <= clock.now()) {
      successors.delete(key);
      return null;
    }
    if (successor.spentAccessToken !== seen.tokens.accessToken) return null;
    return successor.record.id === seen.id ? successor.record : { ...successor.record, id: seen.id };
  };

  const deliver = async (jar: CookieJar, record: SessionRecord): Promise<void> => {
    const value = await seal(record);
    writeChunkedCookie(jar, cookieName, value, attributes, maxChunkSize);
    if (value.length > 3 * maxChunkSize) {
      log.warn(
        'the sealed session needs more than 3 cookies; mind header size limits or use a server-side store',
        {
          bytes: value.length,
        },
      );
    }
  };

  return {
    kind: 'cookie',
    clear,
    deliver,
    async read(jar) {
      const value = readChunkedCookie(jar, cookieName);
      if (value === undefined) {
        if (hasChunkedCookie(jar, cookieName)) clear(jar);
        return null;
      }
      const record = await unseal(value);
      await logouts.ready?.();
      const expired = record !== null && clock.isExpired(record);
      if (expired) clock.onExpired?.(record);
      if (record === null || expired || isLoggedOut(record) || !isWellFormedSessionId(record.id)) {
        log.debug('session cookie refused (tampered, sealed with an unknown secret, expired or logged out)');
        clear(jar);
        return null;
      }
      return { key: sessionKey(record.id), record };
    },
    newer,
    // No shared state: the cookie is the truth, unless this process refreshed it already.
    reread: async (key, seen) => newer(key, seen) ?? seen,
    async write(key, next, previous) {
      if (next.tokens.accessToken !== previous.tokens.accessToken) {
        successors.delete(key);
        successors.set(key, {
          spentAccessToken: previous.tokens.accessToken,
          record: next,
          expiresAt: clock.now() + SUCCESSOR_TTL_MS,
        });
        for (const oldest of successors.keys()) {
          if (successors.size <= MAX_SUCCESSORS) break;
          successors.delete(oldest);
        }
      }
      return true;
    },
    create: (jar, _key, record) => deliver(jar, record),
    async destroy(jar) {
      const value = readChunkedCookie(jar, cookieName);
      const record = value === undefined ? null : await unseal(value);
      // The cookie cannot be deleted from the server: remember that this session has ended, so a
      // copy of the cookie (kept by the browser, a proxy or a thief) is refused from now on. If
      // that cannot be recorded (Redis down), nothing is cleared and the logout fails with 503.
      if (record !== null && isWellFormedSessionId(record.id)) {
        await logouts.add(`session:${record.id}`, clock.now(), absoluteMs);
      }
      clear(jar);
      return record;
    },
    async forget() {},
    async endSessions(filter) {
      const name = 'sid' in filter ? `sid:${filter.sid}` : `sub:${filter.sub}`;
      await logouts.add(name, clock.now(), absoluteMs);
      log.info(
        `back-channel logout remembered (cookie store: ${logouts.kind === 'redis' ? 'every instance, through Redis' : 'this instance only'})`,
        { by: 'sid' in filter ? 'sid' : 'sub' },
      );
      return 0;
    },
    async lock() {
      return { release: async () => {} };
    },
    claim: logouts.claim?.bind(logouts),
    async close() {
      successors.clear();
      await logouts.close?.();
    },
  };
}

/** Logs a failed release; the lock expires by itself. */
export function releaseQuietly(lock: StoreLock, key: string, log: Logger): Promise<void> {
  return lock.release().catch((error: unknown) => {
    log.warn('could not release the refresh lock; it expires by itself', {
      session: keyTag(key),
      ...describeError(error),
    });
  });
}
