/**
 * The refresher's behaviour, specified once and run over every kind of backend: the memory
 * store, the Redis store (with `REDIS_URL`), the PostgreSQL store (with `DATABASE_URL`) and the
 * cookie store. What only one kind can do — a lock and compare-and-set writes shared by several
 * instances, a browser still sending the cookie from before a refresh — has its own block below,
 * saying why.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { isVmproError, VmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TokenSet } from '../oidc/types.js';
import type { SessionBackend } from './backend.js';
import { cookieStore } from './cookie-store.js';
import { createSessionManager } from './manager.js';
import { memoryStore } from './memory-store.js';
import { postgresStore } from './postgres-store.js';
import { sessionKey } from './record.js';
import { redisStore } from './redis-store.js';
import { Browser, clock, flakyStore, makeTokens, SECRET, type TestJar } from './test-support.js';
import type {
  SessionBackendSource,
  SessionManager,
  SessionManagerOptions,
  SessionRecord,
  SessionStore,
} from './types.js';

const url = process.env.REDIS_URL;
/** Every Redis key this file writes is under it (one prefix per test below it), deleted at the end. */
const runPrefix = `vmpro-test:refresher:${randomUUID()}:`;
let redisStores = 0;

const managers: SessionManager[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  if (url === undefined) return;
  const admin = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${runPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
  admin.disconnect();
});

/** PostgreSQL (with `DATABASE_URL`): one table for this file (random name), dropped at the end; one key prefix per test. */
const databaseUrl = process.env.DATABASE_URL;
const pgTable = `vmpro_test_refresher_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let postgresStores = 0;
afterAll(async () => {
  if (databaseUrl === undefined) return;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP TABLE IF EXISTS ${pgTable}`);
  await admin.end();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Refresh = SessionManagerOptions['refresh'];
type FlakyStore = ReturnType<typeof flakyStore>;

function recordingLogger() {
  const lines: { level: string; message: string; fields: unknown }[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

// ---- the backends ------------------------------------------------------------------------------

/** One test's sessions in one backend, and the ways a test looks into it. */
interface Place {
  /** What `createSessionManager` gets as `store`. */
  readonly store: SessionStore | SessionBackendSource;
  /** While true, every call into the backend throws like an unreachable store. */
  setDown(down: boolean): void;
  /**
   * The session as the next request finds it, past any cache; `null` once it has ended.
   * Server: the record in the store. Cookie: the browser's latest cookie, or the newer record
   * this process holds for it (the result of a refresh the browser has not received yet).
   */
  stored(browser: Browser, key: string): Promise<SessionRecord | null>;
  /** The session the browser's cookies carry themselves (the cookie backend only; server: `null`). */
  inCookie(browser: Browser): Promise<SessionRecord | null>;
  /** Another worker rotated the session's tokens to `tokens` and saved its result first. */
  savedElsewhere(browser: Browser, key: string, tokens: TokenSet): Promise<void>;
}

interface ServerPlace extends Place {
  /** The store, wrapped: `down` and `failOn` make its calls throw. */
  readonly store: FlakyStore;
}

interface Row<P extends Place = Place> {
  readonly name: string;
  readonly kind: 'server' | 'cookie';
  /** Why this row cannot run here: its tests are skipped, under a title that says so. */
  readonly skip?: string;
  open(now: () => number): Promise<P>;
}

/** A copy of the browser's cookies: looking at them changes nothing. */
function peek(browser: Browser): TestJar {
  const copy = new Browser();
  for (const [name, value] of browser.cookies) copy.cookies.set(name, value);
  return copy.request();
}

function serverPlace(inner: SessionStore): ServerPlace {
  const store = flakyStore(inner);
  return {
    store,
    setDown: (down) => {
      store.down = down;
    },
    stored: (_browser, key) => store.get(key, { fresh: true }),
    inCookie: async () => null,
    async savedElsewhere(_browser, key, tokens) {
      const current = (await store.get(key, { fresh: true }))!;
      await store.update(key, { ...current, tokens, version: current.version + 1 }, current.version, 60_000);
    },
  };
}

/**
 * `cookieStore()`, its backends guarded (every call throws while down) and kept: the first one
 * created (`setup`'s `manager`) reads the browser's cookies and knows the refreshes it made.
 */
function cookiePlace(): Place {
  const source = cookieStore();
  const backends: SessionBackend[] = [];
  let down = false;
  const store: SessionBackendSource = {
    kind: source.kind,
    createBackend(context) {
      const backend = source.createBackend(context);
      backends.push(backend);
      return new Proxy(backend, {
        get(target, name) {
          const value: unknown = Reflect.get(target, name);
          // `close` stays callable: the managers are closed after a test that left it down.
          if (typeof value !== 'function' || name === 'close') return value;
          return (...args: unknown[]) => {
            if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    },
  };
  const inCookie = async (browser: Browser) => (await backends[0]!.read(peek(browser)))?.record ?? null;
  return {
    store,
    setDown: (value) => {
      down = value;
    },
    inCookie,
    async stored(browser, key) {
      const seen = await inCookie(browser);
      return seen === null ? null : backends[0]!.reread(key, seen);
    },
    async savedElsewhere(browser, key, tokens) {
      // No state is shared with other workers: what the backend can know of another refresh is
      // the newer record it keeps for the cookie the browser still sends.
      const current = (await inCookie(browser))!;
      await backends[0]!.write(key, { ...current, tokens, version: current.version + 1 }, current);
    },
  };
}

async function openRedisStore(): Promise<SessionStore> {
  const client = new Redis(url!);
  cleanups.push(() => client.disconnect());
  const store = redisStore({
    client,
    prefix: `${runPrefix}${++redisStores}:`,
    commandTimeoutMs: 2000,
    heartbeatMs: 200,
    secrets: [SECRET],
  });
  cleanups.push(() => store.close?.());
  return store;
}

const memoryRow: Row<ServerPlace> = {
  name: 'memory store',
  kind: 'server',
  open: async (now) => serverPlace(memoryStore({ now })),
};
const redisRow: Row<ServerPlace> = {
  name: 'Redis store',
  kind: 'server',
  ...(url === undefined ? { skip: 'needs a real Redis: set REDIS_URL' } : {}),
  open: async () => serverPlace(await openRedisStore()),
};
async function openPostgresStore(): Promise<SessionStore> {
  const pool = new pg.Pool({ connectionString: databaseUrl!, max: 4 });
  pool.on('error', () => {});
  cleanups.push(() => pool.end());
  const store = postgresStore({
    pool,
    table: pgTable,
    createTable: true,
    keyPrefix: `${++postgresStores}:`,
    commandTimeoutMs: 2000,
    heartbeatMs: 200,
    secrets: [SECRET],
  });
  cleanups.push(() => store.close?.());
  return store;
}

const postgresRow: Row<ServerPlace> = {
  name: 'PostgreSQL store',
  kind: 'server',
  ...(databaseUrl === undefined ? { skip: 'needs a real PostgreSQL: set DATABASE_URL' } : {}),
  open: async () => serverPlace(await openPostgresStore()),
};
const cookieRow: Row = { name: 'cookie store', kind: 'cookie', open: async () => cookiePlace() };

const serverRows = [memoryRow, redisRow, postgresRow];
const everyRow: Row[] = [...serverRows, cookieRow];
/** `describe.each` rows whose `%s` is the backend's name, and why it is skipped. */
const titled = <P extends Place>(rows: Row<P>[]): [string, Row<P>][] =>
  rows.map((row) => [row.skip === undefined ? row.name : `${row.name} (skipped: ${row.skip})`, row]);

// ---- one test's world --------------------------------------------------------------------------

/**
 * A session whose access token expired a second ago (requests wait for its refresh) in the
 * row's backend, and a refresh that takes 20 ms like a real token endpoint.
 */
async function setup<P extends Place>(
  row: Row<P>,
  options: Partial<SessionManagerOptions> & { accessTokenAgeMs?: number } = {},
) {
  const { accessTokenAgeMs = 301_000, ...managerOptions } = options;
  const c = clock();
  const place = await row.open(c.now);
  const refresh = vi.fn<Refresh>(async () => {
    await sleep(20);
    return makeTokens(c.now());
  });
  const make = (extra: Partial<SessionManagerOptions> = {}) => {
    const manager = createSessionManager({
      store: place.store,
      secrets: [SECRET],
      secure: true,
      refresh,
      now: c.now,
      ...managerOptions,
      ...extra,
    });
    managers.push(manager);
    return manager;
  };
  const manager = make();
  const browser = new Browser();
  const initial = makeTokens(c.now() - accessTokenAgeMs);
  const created = await manager.create(browser.request(), {
    tokens: initial,
    user: { sub: 'user-1' },
    sid: 'sid-1',
  });
  const key = sessionKey(created.id);
  /** One request: load the session and ask for fresh tokens. */
  const request = async (m: SessionManager = manager, opts?: { forceRefresh?: boolean }) => {
    const jar = browser.request();
    const record = await m.load(jar);
    if (record === null) throw new Error('no session');
    return m.freshTokens(jar, record, opts);
  };
  const stored = () => place.stored(browser, key);
  return { c, place, refresh, manager, make, browser, initial, created, key, request, stored };
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

/** The names of the session cookies a request carried (the id, or the chunks of the sealed record). */
const sessionCookiesOf = (jar: TestJar) =>
  jar.names().filter((name) => name === '__Host-vmpro' || name.startsWith('__Host-vmpro.'));

// ---- every backend -----------------------------------------------------------------------------

describe.each(titled(everyRow))('the refresher over the %s', (_, row) => {
  const group = describe.skipIf(row.skip !== undefined);

  group('when it refreshes', () => {
    it('returns the current tokens without any I/O while the access token has more than the margin left', async () => {
      const { manager, browser, refresh, created, place, c } = await setup(row);
      const record: SessionRecord = { ...created, tokens: makeTokens(c.now()) };
      place.setDown(true); // any call into the backend would throw
      expect(await manager.freshTokens(browserJar(), record)).toBe(record.tokens);
      expect(refresh).not.toHaveBeenCalled();
      await expect(manager.load(browser.request())).rejects.toThrow(); // the backend really is down
    });

    it('refreshes once the access token is within the margin of its expiry', async () => {
      const { request, refresh, initial } = await setup(row);
      const tokens = await request();
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(refresh.mock.calls[0]![0].refreshToken).toBe(initial.refreshToken);
      expect(tokens.accessToken).not.toBe(initial.accessToken);
    });

    it('never uses a margin larger than half the access token’s lifetime', async () => {
      const { manager, refresh, created, c } = await setup(row, { refreshMarginSec: 30 });
      // A 40 s token: the margin is 20 s, not 30 s.
      const record: SessionRecord = { ...created, tokens: makeTokens(c.now(), { accessTtlSec: 40 }) };
      c.advance(19_000);
      await manager.freshTokens(browserJar(), record);
      expect(refresh).not.toHaveBeenCalled();
      c.advance(1_000);
      await manager.freshTokens(browserJar(), record);
      await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));
    });

    it('saves the new tokens with the next version before returning them', async () => {
      const { request, stored, created } = await setup(row);
      const tokens = await request();
      const saved = await stored();
      expect(saved?.tokens.accessToken).toBe(tokens.accessToken);
      expect(saved?.version).toBe(created.version + 1);
    });

    it('leaves the caller’s record alone and returns the record as stored', async () => {
      const { manager, browser, refresh, stored } = await setup(row);
      const jar = browser.request();
      const record = (await manager.load(jar))!;
      const before = record.tokens;
      const next = await manager.freshSession(jar, record);
      expect(record.tokens).toBe(before);
      expect(next.id).toBe(record.id);
      expect(next.tokens).toEqual((await stored())!.tokens);
      expect(next.version).toBe(record.version + 1);
      // The returned record is fresh: no second refresh.
      expect(await manager.freshSession(jar, next)).toBe(next);
      expect(refresh).toHaveBeenCalledTimes(1);
    });
  });

  group('ahead of expiry', () => {
    it('inside the margin answers at once with the valid token and refreshes once in the background', async () => {
      const { manager, browser, refresh, initial, stored, c } = await setup(row, {
        accessTokenAgeMs: 290_000,
      });
      let release: () => void = () => {};
      refresh.mockImplementationOnce(async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return makeTokens(c.now());
      });
      const requests = Array.from({ length: 20 }, async () => {
        const jar = browser.request();
        return manager.freshTokens(jar, (await manager.load(jar))!);
      });
      // Every request is answered while the refresh is still waiting for the login server.
      for (const tokens of await Promise.all(requests)) expect(tokens.accessToken).toBe(initial.accessToken);
      await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));
      release();
      await vi.waitFor(async () =>
        expect((await stored())?.tokens.accessToken).not.toBe(initial.accessToken),
      );
      // The next request gets the new tokens from the store, without another refresh.
      const jar = browser.request();
      const next = await manager.freshTokens(jar, (await manager.load(jar))!);
      expect(next.accessToken).toBe((await stored())?.tokens.accessToken);
      expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('a request whose token expires while the background refresh runs waits for that same refresh', async () => {
      const { manager, browser, refresh, c } = await setup(row, { accessTokenAgeMs: 290_000 });
      let release: () => void = () => {};
      refresh.mockImplementationOnce(async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return makeTokens(c.now());
      });
      const first = browser.request();
      await manager.freshTokens(first, (await manager.load(first))!);
      c.advance(11_000); // now expired
      const later = browser.request();
      const waiting = manager.freshTokens(later, (await manager.load(later))!);
      await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));
      release();
      const tokens = await waiting;
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(tokens.accessTokenExpiresAt).toBeGreaterThan(c.now());
    });

    it('a background refresh that fails is logged, and nothing is lost', async () => {
      const { logger, lines } = recordingLogger();
      const { browser, refresh, make, stored } = await setup(row, { accessTokenAgeMs: 290_000 });
      const manager = make({ logger });
      refresh.mockRejectedValueOnce(new VmproError('VMPRO_TOKEN_ERROR', 'refused'));
      const jar = browser.request();
      await manager.freshTokens(jar, (await manager.load(jar))!);
      await vi.waitFor(() =>
        expect(lines.some((l) => l.level === 'warn' && l.message.includes('refreshing ahead'))).toBe(true),
      );
      expect(await stored()).not.toBeNull();
    });
  });

  group('exactly once', () => {
    it('50 concurrent requests with an expiring token cause one refresh, and all get the same new token', async () => {
      const { request, refresh } = await setup(row);
      const results = await Promise.all(Array.from({ length: 50 }, () => request()));
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    });

    it('a caller that aborts stops waiting; the others still get the token', async () => {
      const { manager, browser, refresh } = await setup(row);
      const jar = browser.request();
      const record = (await manager.load(jar))!;
      const controller = new AbortController();
      const aborted = errorOf(manager.freshTokens(jar, record, { signal: controller.signal }));
      const other = manager.freshTokens(browser.request(), { ...record });
      controller.abort();
      expect(isVmproError(await aborted, 'VMPRO_ABORTED')).toBe(true);
      expect((await other).accessToken).not.toBe(record.tokens.accessToken);
      expect(refresh).toHaveBeenCalledTimes(1);
    });
  });

  group('forceRefresh', () => {
    it('refreshes even when the access token looks valid', async () => {
      const { manager, browser, refresh, request } = await setup(row);
      await request(); // now the session holds a token valid for 5 minutes
      const jar = browser.request();
      const record = (await manager.load(jar))!;
      const rejected = record.tokens.accessToken;
      expect(await manager.freshTokens(jar, record)).toBe(record.tokens);
      const forced = await manager.freshTokens(jar, record, { forceRefresh: true });
      expect(refresh).toHaveBeenCalledTimes(2);
      expect(forced.accessToken).not.toBe(rejected);
    });

    it('uses the token another instance already force-refreshed instead of refreshing again', async () => {
      const { request, refresh, make, browser } = await setup(row);
      const fresh = await request(); // the session now has a fresh token, T1
      const other = make();
      const jarA = browser.request();
      const jarB = browser.request();
      const a = (await other.load(jarA))!;
      const b = (await other.load(jarB))!;
      // Both got "invalid_token" for T1 from the API; A forces first, B then finds A's result.
      const forcedA = await other.freshTokens(jarA, a, { forceRefresh: true });
      const forcedB = await other.freshTokens(jarB, b, { forceRefresh: true });
      expect(forcedA.accessToken).not.toBe(fresh.accessToken);
      expect(forcedB.accessToken).toBe(forcedA.accessToken);
      expect(refresh).toHaveBeenCalledTimes(2);
    });

    it('tokenSource hands out the access token and force-refreshes on request', async () => {
      const { manager, browser, refresh } = await setup(row);
      const jar = browser.request();
      const source = manager.tokenSource(jar, (await manager.load(jar))!);
      const first = await source.getAccessToken();
      const second = await source.getAccessToken();
      expect(second).toBe(first);
      const forced = await source.getAccessToken({ forceRefresh: true });
      expect(forced).not.toBe(first);
      expect(refresh).toHaveBeenCalledTimes(2);
    });
  });

  group('failure policy', () => {
    it('invalid_grant ends the session: record deleted, cookie cleared, error passed on', async () => {
      const { manager, browser, refresh, stored } = await setup(row);
      refresh.mockRejectedValueOnce(invalidGrant());
      const jar = browser.request();
      const carried = sessionCookiesOf(jar);
      expect(carried.length).toBeGreaterThan(0);
      const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(isVmproError(error, 'VMPRO_REFRESH_EXPIRED')).toBe(true);
      expect(await stored()).toBeNull();
      expect(jar.deleteCalls.map((d) => d.name).sort()).toEqual(carried.sort());
      expect(await manager.load(browser.request())).toBeNull();
    });

    it('invalid_grant after another worker already rotated the refresh token: the stored tokens are used', async () => {
      const { manager, browser, refresh, place, key, c } = await setup(row);
      const theirs = makeTokens(c.now());
      refresh.mockImplementationOnce(async () => {
        // Another worker (without the lock) rotated the token and saved its result first.
        await place.savedElsewhere(browser, key, theirs);
        throw invalidGrant();
      });
      const jar = browser.request();
      const tokens = await manager.freshTokens(jar, (await manager.load(jar))!);
      expect(tokens.accessToken).toBe(theirs.accessToken);
      // Server backends leave the cookie (the id) alone; the cookie backend sends the tokens used.
      if (row.kind === 'server') expect(jar.untouched).toBe(true);
      else expect((await place.inCookie(browser))?.tokens.accessToken).toBe(theirs.accessToken);
      expect(await manager.load(browser.request())).not.toBeNull();
    });

    it('a temporary failure while the access token is still valid returns that token and keeps the session', async () => {
      const { logger, lines } = recordingLogger();
      const { browser, refresh, initial, make, c } = await setup(row, { accessTokenAgeMs: 290_000 });
      const manager = make({ logger });
      refresh.mockRejectedValueOnce(unavailable());
      const jar = browser.request();
      const tokens = await manager.freshTokens(jar, (await manager.load(jar))!);
      expect(tokens.accessToken).toBe(initial.accessToken);
      await vi.waitFor(() => expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1));
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(jar.untouched).toBe(true);
      // The same failure once the access token has expired: the request waits, and is told to retry.
      c.advance(11_000);
      refresh.mockRejectedValueOnce(unavailable());
      const later = browser.request();
      const error = await errorOf(manager.freshTokens(later, (await manager.load(later))!));
      expect(error).toMatchObject({ code: 'VMPRO_UPSTREAM_UNAVAILABLE', retryable: true });
      expect(await manager.load(browser.request())).not.toBeNull();
    });

    it('an answer that is no token response (an HTML page with 200) is temporary: the valid access token is served', async () => {
      const { manager, browser, refresh, initial, c, stored } = await setup(row, {
        accessTokenAgeMs: 290_000,
      });
      const garbled = () =>
        new VmproError(
          'VMPRO_TOKEN_RESPONSE_INVALID',
          "The token refresh failed: the login server's answer is not a valid token response (HTTP 200).",
        );
      refresh.mockRejectedValueOnce(garbled());
      const jar = browser.request();
      const tokens = await manager.freshTokens(jar, (await manager.load(jar))!);
      expect(tokens.accessToken).toBe(initial.accessToken);
      expect(jar.untouched).toBe(true);
      await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));
      await sleep(10); // the background flight settles
      // Once the access token has expired, the same answer is a retryable error; the session is kept.
      c.advance(20_000);
      refresh.mockRejectedValueOnce(garbled());
      const later = browser.request();
      const error = await errorOf(manager.freshTokens(later, (await manager.load(later))!));
      expect(error).toMatchObject({ code: 'VMPRO_UPSTREAM_UNAVAILABLE', retryable: true, retryAfter: 5 });
      expect(await stored()).not.toBeNull();
    });

    it('a forced refresh that fails temporarily does not hand back the token the API refused', async () => {
      const { manager, browser, refresh } = await setup(row);
      refresh.mockRejectedValueOnce(unavailable());
      const jar = browser.request();
      const error = await errorOf(
        manager.freshTokens(jar, (await manager.load(jar))!, { forceRefresh: true }),
      );
      expect(error).toMatchObject({ code: 'VMPRO_UPSTREAM_UNAVAILABLE', retryable: true });
    });

    it('a temporary failure with an expired access token is a retryable error carrying Retry-After; the session is kept', async () => {
      const { manager, browser, refresh, c, stored } = await setup(row);
      c.advance(20_000); // the access token expired 10 s ago
      const cause = unavailable(7);
      refresh.mockRejectedValueOnce(cause);
      const jar = browser.request();
      const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(isVmproError(error, 'VMPRO_UPSTREAM_UNAVAILABLE')).toBe(true);
      expect(error).toMatchObject({ retryable: true, retryAfter: 7, cause });
      expect(jar.untouched).toBe(true);
      expect(await stored()).not.toBeNull();
    });

    it('a temporary failure without Retry-After suggests 5 seconds', async () => {
      const { manager, browser, refresh, c } = await setup(row);
      c.advance(20_000);
      refresh.mockRejectedValueOnce(
        new VmproError('VMPRO_UPSTREAM_TIMEOUT', 'No answer in time.', { retryable: true }),
      );
      const jar = browser.request();
      const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(error).toMatchObject({ code: 'VMPRO_UPSTREAM_UNAVAILABLE', retryAfter: 5 });
    });

    it('tries the refresh once per call: no retry loop', async () => {
      const { manager, browser, refresh, c } = await setup(row);
      c.advance(20_000);
      refresh.mockRejectedValue(unavailable());
      const jar = browser.request();
      await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('other errors are passed on and the session is kept', async () => {
      const { manager, browser, refresh, stored } = await setup(row);
      const clientError = new VmproError('VMPRO_TOKEN_ERROR', 'invalid_client');
      refresh.mockRejectedValueOnce(clientError);
      const jar = browser.request();
      expect(await errorOf(manager.freshTokens(jar, (await manager.load(jar))!))).toBe(clientError);
      expect(jar.untouched).toBe(true);
      expect(await stored()).not.toBeNull();
    });

    it('a session without a refresh token ends when its access token has expired', async () => {
      const { make, c } = await setup(row);
      const manager = make({
        refresh: async () => {
          throw new Error('must not be called');
        },
      });
      const browser = new Browser();
      const tokens = { ...makeTokens(c.now()), refreshToken: null, refreshTokenExpiresAt: null };
      await manager.create(browser.request(), { tokens, user: { sub: 'u' }, sid: null });
      c.advance(301_000);
      const jar = browser.request();
      const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(isVmproError(error, 'VMPRO_REFRESH_EXPIRED')).toBe(true);
      expect(await manager.load(browser.request())).toBeNull();
    });
  });
});

// ---- server backends only ----------------------------------------------------------------------

// Several instances share one server-side store: a lock in it, and compare-and-set writes that
// another instance (or an activity write) can win. The cookie backend shares nothing between
// instances (its lock is this process's single flight, its write always succeeds: the record
// goes out with the response), so none of this applies to it.
describe.each(titled(serverRows))('the refresher over the %s: server backends only', (_, row) => {
  const group = describe.skipIf(row.skip !== undefined);

  group('exactly once across instances', () => {
    it('two instances sharing a store: 50 requests split over both cause one refresh', async () => {
      const { request, refresh, make, place } = await setup(row);
      const { store } = place;
      const other = make();
      const lock = vi.spyOn(store, 'lock');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => request(i % 2 === 0 ? undefined : other)),
      );
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
      // The second instance really met the first one's lock (and waited for its result).
      const outcomes = await Promise.all(lock.mock.results.map((r) => r.value));
      expect(outcomes).toContain(null);
    });

    it('an instance that finds the tokens already refreshed by another after taking the lock does not refresh', async () => {
      const { request, refresh, make, browser } = await setup(row);
      const other = make();
      const jar = browser.request();
      const staleRecord = (await other.load(jar))!; // loaded before the refresh elsewhere
      const first = await request();
      const second = await other.freshTokens(jar, staleRecord);
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(second.accessToken).toBe(first.accessToken);
    });

    it('a waiter gives up with a retryable 503-style error when the other instance never finishes', async () => {
      const { manager, browser, place, key, refresh } = await setup(row, { lockWaitMs: 300 });
      const { store } = place;
      const held = await store.lock(key, 60_000);
      expect(held).not.toBeNull();
      const jar = browser.request();
      const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(isVmproError(error, 'VMPRO_UPSTREAM_UNAVAILABLE')).toBe(true);
      expect(error).toMatchObject({ retryable: true, retryAfter: 1 });
      expect(refresh).not.toHaveBeenCalled();
    });

    it('a waiter takes over when the lock frees up without a refresh (the other instance failed)', async () => {
      const { manager, browser, place, key, refresh } = await setup(row);
      const { store } = place;
      const held = await store.lock(key, 60_000);
      const jar = browser.request();
      const pending = manager.freshTokens(jar, (await manager.load(jar))!);
      await sleep(150);
      expect(refresh).not.toHaveBeenCalled();
      await held!.release();
      await pending;
      expect(refresh).toHaveBeenCalledTimes(1);
    });
  });

  group('failure policy: the shared record', () => {
    it('refreshed tokens that cannot be saved are not used: VMPRO_STORE_UNAVAILABLE, logged without tokens', async () => {
      const { logger, lines } = recordingLogger();
      const { browser, refresh, place, make } = await setup(row);
      const { store } = place;
      const manager = make({ logger });
      refresh.mockImplementationOnce(async (tokens) => {
        store.failOn.add('update');
        return { ...makeTokens(tokens.receivedAt + 290_000), accessToken: 'NEW-ACCESS-TOKEN' };
      });
      const jar = browser.request();
      const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(isVmproError(error, 'VMPRO_STORE_UNAVAILABLE')).toBe(true);
      expect(jar.untouched).toBe(true);
      const logged = lines.filter((l) => l.level === 'error');
      expect(logged).toHaveLength(1);
      expect(JSON.stringify(lines)).not.toContain('NEW-ACCESS-TOKEN');
      expect(JSON.stringify(lines)).not.toMatch(/rt\d+\./);
    });

    it('a concurrent activity write does not make the refreshed tokens get lost', async () => {
      const { manager, browser, refresh, place, key, created, stored } = await setup(row);
      const { store } = place;
      refresh.mockImplementationOnce(async (tokens) => {
        // Meanwhile another instance records activity (no lock: it does not touch tokens).
        const current = (await store.get(key, { fresh: true }))!;
        await store.update(
          key,
          { ...current, lastSeenAt: current.lastSeenAt + 1, version: current.version + 1 },
          current.version,
          60_000,
        );
        return makeTokens(tokens.receivedAt + 290_000);
      });
      const jar = browser.request();
      const tokens = await manager.freshTokens(jar, (await manager.load(jar))!);
      const saved = await stored();
      expect(saved?.tokens.accessToken).toBe(tokens.accessToken);
      expect(saved?.version).toBe(created.version + 2);
    });

    // The cookie backend learns of a logout from its logout list at the next read, not mid-refresh.
    it('a session logged out while its tokens were being refreshed is over for the caller', async () => {
      const { manager, browser, refresh } = await setup(row);
      refresh.mockImplementationOnce(async (tokens) => {
        await manager.endSessions({ sid: 'sid-1' });
        return makeTokens(tokens.receivedAt + 290_000);
      });
      const jar = browser.request();
      const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
      expect(isVmproError(error, 'VMPRO_NOT_AUTHENTICATED')).toBe(true);
      expect(jar.deleteCalls.map((d) => d.name)).toEqual(['__Host-vmpro']);
    });
  });
});

// ---- the cookie backend only -------------------------------------------------------------------

// Only a cookie carries the tokens: a request the browser sent before it received the refreshed
// cookie still holds the spent refresh token. (A server backend's cookie is the id, unchanged by
// a refresh.)
describe('the refresher over the cookie store: cookie backend only', () => {
  it('a request still carrying the pre-refresh cookie gets the refreshed tokens without spending the refresh token again', async () => {
    const { manager, browser, refresh } = await setup(cookieRow);
    const late = browser.request(); // sent before the browser received the new cookie
    const first = browser.request();
    const fresh = await manager.freshTokens(first, (await manager.load(first))!);
    const tokens = await manager.freshTokens(late, (await manager.load(late))!);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(tokens.accessToken).toBe(fresh.accessToken);
    expect(late.setCalls.length).toBeGreaterThan(0);
  });
});

function invalidGrant() {
  return new VmproError('VMPRO_REFRESH_EXPIRED', 'The login has ended (invalid_grant). Log in again.');
}

function unavailable(retryAfter?: number) {
  return new VmproError('VMPRO_UPSTREAM_UNAVAILABLE', 'Token endpoint answered 503.', {
    retryable: true,
    ...(retryAfter === undefined ? {} : { retryAfter }),
  });
}

function browserJar() {
  return new Browser().request();
}
