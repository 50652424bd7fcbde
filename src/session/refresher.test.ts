import { afterEach, describe, expect, it, vi } from 'vitest';
import { isVmproError, VmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createSessionManager } from './manager.js';
import { memoryStore } from './memory-store.js';
import { sessionKey } from './record.js';
import { Browser, clock, flakyStore, makeTokens, SECRET } from './test-support.js';
import type { SessionManager, SessionManagerOptions, SessionRecord, SessionStore } from './types.js';

const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Refresh = SessionManagerOptions['refresh'];

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

/**
 * A session whose access token expired a second ago (requests wait for its refresh) on a memory store,
 * and a refresh that takes 20 ms like a real token endpoint.
 */
async function setup(
  options: Partial<SessionManagerOptions> & { store?: SessionStore; accessTokenAgeMs?: number } = {},
) {
  const { accessTokenAgeMs = 301_000, ...managerOptions } = options;
  const c = clock();
  const store = flakyStore(options.store ?? memoryStore({ now: c.now }));
  const refresh = vi.fn<Refresh>(async () => {
    await sleep(20);
    return makeTokens(c.now());
  });
  const make = (extra: Partial<SessionManagerOptions> = {}) => {
    const manager = createSessionManager({
      store,
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
  /** One request: load the session and ask for fresh tokens. */
  const request = async (m: SessionManager = manager, opts?: { forceRefresh?: boolean }) => {
    const jar = browser.request();
    const record = await m.load(jar);
    if (record === null) throw new Error('no session');
    return m.freshTokens(jar, record, opts);
  };
  const stored = () => store.get(sessionKey(created.id), { fresh: true });
  return { c, store, refresh, manager, make, browser, initial, created, request, stored };
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('the refresher: when it refreshes', () => {
  it('returns the current tokens without any I/O while the access token has more than the margin left', async () => {
    const { manager, refresh, created, store, c } = await setup();
    const record: SessionRecord = { ...created, tokens: makeTokens(c.now()) };
    store.down = true; // any store call would throw
    expect(await manager.freshTokens(browserJar(), record)).toBe(record.tokens);
    expect(refresh).not.toHaveBeenCalled();
  });

  it('refreshes once the access token is within the margin of its expiry', async () => {
    const { request, refresh, initial } = await setup();
    const tokens = await request();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh.mock.calls[0]![0].refreshToken).toBe(initial.refreshToken);
    expect(tokens.accessToken).not.toBe(initial.accessToken);
  });

  it('never uses a margin larger than half the access token’s lifetime', async () => {
    const { manager, refresh, created, c } = await setup({ refreshMarginSec: 30 });
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
    const { request, stored, created } = await setup();
    const tokens = await request();
    const saved = await stored();
    expect(saved?.tokens.accessToken).toBe(tokens.accessToken);
    expect(saved?.version).toBe(created.version + 1);
  });

  it('leaves the caller’s record alone and returns the record as stored', async () => {
    const { manager, browser, refresh, stored } = await setup();
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

describe('the refresher: ahead of expiry', () => {
  it('inside the margin answers at once with the valid token and refreshes once in the background', async () => {
    const { manager, browser, refresh, initial, stored } = await setup({ accessTokenAgeMs: 290_000 });
    let release: () => void = () => {};
    refresh.mockImplementationOnce(async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return makeTokens(Date.now());
    });
    const requests = Array.from({ length: 20 }, async () => {
      const jar = browser.request();
      return manager.freshTokens(jar, (await manager.load(jar))!);
    });
    // Every request is answered while the refresh is still waiting for the login server.
    for (const tokens of await Promise.all(requests)) expect(tokens.accessToken).toBe(initial.accessToken);
    await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));
    release();
    await vi.waitFor(async () => expect((await stored())?.tokens.accessToken).not.toBe(initial.accessToken));
    // The next request gets the new tokens from the store, without another refresh.
    const jar = browser.request();
    const next = await manager.freshTokens(jar, (await manager.load(jar))!);
    expect(next.accessToken).toBe((await stored())?.tokens.accessToken);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('a request whose token expires while the background refresh runs waits for that same refresh', async () => {
    const { manager, browser, refresh, c } = await setup({ accessTokenAgeMs: 290_000 });
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
    const { browser, refresh, make, stored } = await setup({ accessTokenAgeMs: 290_000 });
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

describe('the refresher: exactly once', () => {
  it('50 concurrent requests with an expiring token cause one refresh, and all get the same new token', async () => {
    const { request, refresh } = await setup();
    const results = await Promise.all(Array.from({ length: 50 }, () => request()));
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
  });

  it('two instances sharing a store: 50 requests split over both cause one refresh', async () => {
    const { request, refresh, make, store } = await setup();
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
    const { request, refresh, make, browser } = await setup();
    const other = make();
    const jar = browser.request();
    const staleRecord = (await other.load(jar))!; // loaded before the refresh elsewhere
    const first = await request();
    const second = await other.freshTokens(jar, staleRecord);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(second.accessToken).toBe(first.accessToken);
  });

  it('a waiter gives up with a retryable 503-style error when the other instance never finishes', async () => {
    const { manager, browser, store, created, refresh } = await setup({ lockWaitMs: 300 });
    const held = await store.lock(sessionKey(created.id), 60_000);
    expect(held).not.toBeNull();
    const jar = browser.request();
    const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
    expect(isVmproError(error, 'VMPRO_UPSTREAM_UNAVAILABLE')).toBe(true);
    expect(error).toMatchObject({ retryable: true, retryAfter: 1 });
    expect(refresh).not.toHaveBeenCalled();
  });

  it('a waiter takes over when the lock frees up without a refresh (the other instance failed)', async () => {
    const { manager, browser, store, created, refresh } = await setup();
    const held = await store.lock(sessionKey(created.id), 60_000);
    const jar = browser.request();
    const pending = manager.freshTokens(jar, (await manager.load(jar))!);
    await sleep(150);
    expect(refresh).not.toHaveBeenCalled();
    await held!.release();
    await pending;
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('a caller that aborts stops waiting; the others still get the token', async () => {
    const { manager, browser, refresh } = await setup();
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

describe('the refresher: forceRefresh', () => {
  it('refreshes even when the access token looks valid', async () => {
    const { manager, browser, refresh, request } = await setup();
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
    const { request, refresh, make, browser } = await setup();
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
    const { manager, browser, refresh } = await setup();
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

describe('the refresher: failure policy', () => {
  const invalidGrant = () =>
    new VmproError('VMPRO_REFRESH_EXPIRED', 'The login has ended (invalid_grant). Log in again.');
  const unavailable = (retryAfter?: number) =>
    new VmproError('VMPRO_UPSTREAM_UNAVAILABLE', 'Token endpoint answered 503.', {
      retryable: true,
      ...(retryAfter === undefined ? {} : { retryAfter }),
    });

  it('invalid_grant ends the session: record deleted, cookie cleared, error passed on', async () => {
    const { manager, browser, refresh, stored } = await setup();
    refresh.mockRejectedValueOnce(invalidGrant());
    const jar = browser.request();
    const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
    expect(isVmproError(error, 'VMPRO_REFRESH_EXPIRED')).toBe(true);
    expect(await stored()).toBeNull();
    expect(jar.deleteCalls.map((d) => d.name)).toEqual(['__Host-vmpro']);
    expect(await manager.load(browser.request())).toBeNull();
  });

  it('invalid_grant after another worker already rotated the refresh token: the stored tokens are used', async () => {
    const { manager, browser, refresh, store, created, c } = await setup();
    const theirs = makeTokens(c.now());
    refresh.mockImplementationOnce(async () => {
      // Another worker (without the lock) rotated the token and saved its result first.
      const current = (await store.get(sessionKey(created.id), { fresh: true }))!;
      await store.update(
        sessionKey(created.id),
        { ...current, tokens: theirs, version: current.version + 1 },
        current.version,
        60_000,
      );
      throw invalidGrant();
    });
    const jar = browser.request();
    const tokens = await manager.freshTokens(jar, (await manager.load(jar))!);
    expect(tokens.accessToken).toBe(theirs.accessToken);
    expect(jar.untouched).toBe(true);
    expect(await manager.load(browser.request())).not.toBeNull();
  });

  it('a temporary failure while the access token is still valid returns that token and keeps the session', async () => {
    const { logger, lines } = recordingLogger();
    const { browser, refresh, initial, make, c } = await setup({ accessTokenAgeMs: 290_000 });
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
    const { manager, browser, refresh, initial, c, stored } = await setup({ accessTokenAgeMs: 290_000 });
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
    const { manager, browser, refresh } = await setup();
    refresh.mockRejectedValueOnce(unavailable());
    const jar = browser.request();
    const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!, { forceRefresh: true }));
    expect(error).toMatchObject({ code: 'VMPRO_UPSTREAM_UNAVAILABLE', retryable: true });
  });

  it('a temporary failure with an expired access token is a retryable error carrying Retry-After; the session is kept', async () => {
    const { manager, browser, refresh, c, stored } = await setup();
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
    const { manager, browser, refresh, c } = await setup();
    c.advance(20_000);
    refresh.mockRejectedValueOnce(
      new VmproError('VMPRO_UPSTREAM_TIMEOUT', 'No answer in time.', { retryable: true }),
    );
    const jar = browser.request();
    const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
    expect(error).toMatchObject({ code: 'VMPRO_UPSTREAM_UNAVAILABLE', retryAfter: 5 });
  });

  it('tries the refresh once per call: no retry loop', async () => {
    const { manager, browser, refresh, c } = await setup();
    c.advance(20_000);
    refresh.mockRejectedValue(unavailable());
    const jar = browser.request();
    await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('other errors are passed on and the session is kept', async () => {
    const { manager, browser, refresh, stored } = await setup();
    const clientError = new VmproError('VMPRO_TOKEN_ERROR', 'invalid_client');
    refresh.mockRejectedValueOnce(clientError);
    const jar = browser.request();
    expect(await errorOf(manager.freshTokens(jar, (await manager.load(jar))!))).toBe(clientError);
    expect(jar.untouched).toBe(true);
    expect(await stored()).not.toBeNull();
  });

  it('a session without a refresh token ends when its access token has expired', async () => {
    const c = clock();
    const manager = createSessionManager({
      store: memoryStore({ now: c.now }),
      secrets: [SECRET],
      secure: true,
      refresh: async () => {
        throw new Error('must not be called');
      },
      now: c.now,
    });
    managers.push(manager);
    const browser = new Browser();
    const tokens = { ...makeTokens(c.now()), refreshToken: null, refreshTokenExpiresAt: null };
    await manager.create(browser.request(), { tokens, user: { sub: 'u' }, sid: null });
    c.advance(301_000);
    const jar = browser.request();
    const error = await errorOf(manager.freshTokens(jar, (await manager.load(jar))!));
    expect(isVmproError(error, 'VMPRO_REFRESH_EXPIRED')).toBe(true);
    expect(await manager.load(browser.request())).toBeNull();
  });

  it('refreshed tokens that cannot be saved are not used: VMPRO_STORE_UNAVAILABLE, logged without tokens', async () => {
    const { logger, lines } = recordingLogger();
    const { browser, refresh, store, make } = await setup();
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
    const { manager, browser, refresh, store, created, stored } = await setup();
    refresh.mockImplementationOnce(async (tokens) => {
      // Meanwhile another instance records activity (no lock: it does not touch tokens).
      const key = sessionKey(created.id);
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

  it('a session logged out while its tokens were being refreshed is over for the caller', async () => {
    const { manager, browser, refresh } = await setup();
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

function browserJar() {
  return new Browser().request();
}
