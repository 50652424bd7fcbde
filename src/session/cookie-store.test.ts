import { afterEach, describe, expect, it, vi } from 'vitest';
import { isVmproError, VmproError } from '../errors.js';
import type { TokenSet } from '../oidc/types.js';
import { readChunkedCookie, writeChunkedCookie } from './chunks.js';
import { cookieStore } from './cookie-store.js';
import type { LogoutList } from './logout-list.js';
import { createSessionManager } from './manager.js';
import { Browser, clock, makeTokens, OLD_SECRET, SECRET, TestJar } from './test-support.js';
import type { CookieAttributes, SessionManager, SessionManagerOptions } from './types.js';

const attributes: CookieAttributes = { httpOnly: true, secure: true, sameSite: 'Lax', path: '/' };
const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sessionCookies(browser: Browser) {
  return [...browser.cookies.entries()].filter(([name]) => name.startsWith('__Host-vmpro'));
}

function setup(options: Partial<SessionManagerOptions> = {}) {
  const c = clock();
  const refresh = vi.fn<SessionManagerOptions['refresh']>(async () => {
    await sleep(20);
    return makeTokens(c.now());
  });
  const make = (extra: Partial<SessionManagerOptions> = {}) => {
    const manager = createSessionManager({
      store: cookieStore(),
      secrets: [SECRET],
      secure: true,
      refresh,
      now: c.now,
      ...options,
      ...extra,
    });
    managers.push(manager);
    return manager;
  };
  const manager = make();
  const browser = new Browser();
  const login = (tokens: TokenSet = makeTokens(c.now()), m: SessionManager = manager) =>
    m.create(browser.request(), { tokens, user: { sub: 'user-1', name: 'Dana Demo' }, sid: 'sid-1' });
  return { c, refresh, manager, make, browser, login };
}

describe('chunked cookies', () => {
  it('writes a single cookie when name=value fits', () => {
    const jar = new TestJar();
    writeChunkedCookie(jar, 'c', 'x'.repeat(100), attributes, 3800);
    expect(jar.setCalls.map((s) => s.name)).toEqual(['c']);
  });

  it('splits a long value into chunks of at most maxChunkSize bytes, name included, and reads them back in order', () => {
    const browser = new Browser();
    const value = Array.from({ length: 9000 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
    const jar = browser.request();
    writeChunkedCookie(jar, '__Host-vmpro', value, attributes, 3800);
    expect(jar.setCalls.map((s) => s.name)).toEqual(['__Host-vmpro.0', '__Host-vmpro.1', '__Host-vmpro.2']);
    for (const { name, value: part } of jar.setCalls)
      expect(name.length + 1 + part.length).toBeLessThanOrEqual(3800);
    expect(readChunkedCookie(browser.request(), '__Host-vmpro')).toBe(value);
  });

  it('deletes chunks an earlier, larger value left behind', () => {
    const browser = new Browser();
    writeChunkedCookie(browser.request(), 'c', 'a'.repeat(9000), attributes, 3800);
    const jar = browser.request();
    writeChunkedCookie(jar, 'c', 'b'.repeat(5000), attributes, 3800);
    expect(jar.deleteCalls.map((d) => d.name)).toEqual(['c.2']);
    expect([...browser.cookies.keys()].sort()).toEqual(['c.0', 'c.1']);
  });

  it('deletes the chunks when the value fits in one cookie again, and the single cookie when it no longer does', () => {
    const browser = new Browser();
    writeChunkedCookie(browser.request(), 'c', 'a'.repeat(9000), attributes, 3800);
    writeChunkedCookie(browser.request(), 'c', 'small', attributes, 3800);
    expect([...browser.cookies.keys()]).toEqual(['c']);
    writeChunkedCookie(browser.request(), 'c', 'a'.repeat(5000), attributes, 3800);
    expect([...browser.cookies.keys()].sort()).toEqual(['c.0', 'c.1']);
  });

  it('also deletes chunks set earlier in the same response', () => {
    const browser = new Browser();
    const jar = browser.request();
    writeChunkedCookie(jar, 'c', 'a'.repeat(9000), attributes, 3800);
    writeChunkedCookie(jar, 'c', 'b'.repeat(5000), attributes, 3800);
    expect([...browser.cookies.keys()].sort()).toEqual(['c.0', 'c.1']);
  });

  it('refuses a chunk size browsers cannot store', () => {
    expect(() => cookieStore({ maxChunkSize: 5000 })).toThrow(/maxChunkSize/);
  });
});

describe('cookie store sessions', () => {
  it('keeps a session with Keycloak-sized tokens in 2–3 encrypted cookies and reads it back', async () => {
    const { login, manager, browser } = setup();
    const record = await login();
    const cookies = sessionCookies(browser);
    expect(cookies.length).toBeGreaterThanOrEqual(2);
    expect(cookies.length).toBeLessThanOrEqual(3);
    for (const [name, value] of cookies) {
      expect(name).toMatch(/^__Host-vmpro\.\d$/);
      expect(name.length + 1 + value.length).toBeLessThanOrEqual(3800);
      expect(value).not.toContain(record.tokens.accessToken.slice(10, 40));
    }
    expect(await manager.load(browser.request())).toEqual(record);
  });

  it('refuses a session whose cookie was tampered with, and clears every chunk', async () => {
    const { login, manager, browser } = setup();
    await login();
    const value = browser.cookies.get('__Host-vmpro.1')!;
    browser.cookies.set('__Host-vmpro.1', (value[0] === 'A' ? 'B' : 'A') + value.slice(1));
    const jar = browser.request();
    expect(await manager.load(jar)).toBeNull();
    expect(sessionCookies(browser)).toEqual([]);
  });

  it('refuses a session with a missing chunk', async () => {
    const { login, manager, browser } = setup();
    await login();
    const last = sessionCookies(browser).length - 1;
    browser.cookies.delete(`__Host-vmpro.${last}`);
    expect(await manager.load(browser.request())).toBeNull();
    expect(sessionCookies(browser)).toEqual([]);
  });

  it('reads a cookie sealed with an older secret, and re-seals it with the first secret on the next write', async () => {
    const { login, make, browser, c } = setup();
    await login(undefined, make({ secrets: [OLD_SECRET] }));
    const rotated = make({ secrets: [SECRET, OLD_SECRET] });
    const newOnly = make({ secrets: [SECRET] });
    expect(await newOnly.load(browser.request())).toBeNull();
    // The failed read above cleared the cookies; log in again with the old secret.
    await login(undefined, make({ secrets: [OLD_SECRET] }));
    expect(await rotated.load(browser.request())).not.toBeNull();
    c.advance(61_000); // the next load records activity: a write
    expect(await rotated.load(browser.request())).not.toBeNull();
    expect(await newOnly.load(browser.request())).not.toBeNull();
  });

  it('ends a session after the absolute timeout', async () => {
    const { login, manager, browser, c } = setup({ absoluteTimeoutSec: 600, idleTimeoutSec: 3600 });
    await login();
    c.advance(600_000);
    expect(await manager.load(browser.request())).toBeNull();
  });

  it('destroy clears every chunk and returns the session', async () => {
    const { login, manager, browser } = setup();
    const record = await login();
    expect(await manager.destroy(browser.request())).toEqual(record);
    expect(sessionCookies(browser)).toEqual([]);
  });

  it('after a logout, a copy of the cookie taken before it is refused; other sessions of the user stay', async () => {
    const { login, manager, browser, c } = setup();
    await login();
    const copy = new Map(browser.cookies);
    const other = new Browser();
    await manager.create(other.request(), {
      tokens: makeTokens(c.now()),
      user: { sub: 'user-1' },
      sid: 'sid-2',
    });
    c.advance(1000);
    await manager.destroy(browser.request());
    const replay = new Browser();
    for (const [name, value] of copy) replay.cookies.set(name, value);
    expect(await manager.load(replay.request())).toBeNull();
    expect(sessionCookies(replay)).toEqual([]); // and cleared
    expect(await manager.load(other.request())).not.toBeNull();
    // Logging in again in the same browser makes a new session, which is accepted.
    await login();
    expect(await manager.load(browser.request())).not.toBeNull();
  });

  it('a logout that cannot be recorded fails with VMPRO_STORE_UNAVAILABLE and keeps the cookie', async () => {
    const down: LogoutList = {
      kind: 'redis',
      add: async () => {
        throw new VmproError('VMPRO_STORE_UNAVAILABLE', 'Redis is down');
      },
      endedAt: () => undefined,
    };
    const { login, manager, browser } = setup({ store: cookieStore({ logouts: down }) });
    await login();
    const before = sessionCookies(browser);
    const error = await manager.destroy(browser.request()).catch((e: unknown) => e);
    expect(isVmproError(error, 'VMPRO_STORE_UNAVAILABLE')).toBe(true);
    expect(sessionCookies(browser)).toEqual(before);
    expect(await manager.load(browser.request())).not.toBeNull();
  });

  it('refreshing writes the new tokens into the cookie', async () => {
    const { login, manager, browser, c } = setup();
    await login(makeTokens(c.now() - 301_000));
    const jar = browser.request();
    const tokens = await manager.freshTokens(jar, (await manager.load(jar))!);
    expect(jar.setCalls.length).toBeGreaterThan(0);
    expect((await manager.load(browser.request()))?.tokens.accessToken).toBe(tokens.accessToken);
  });

  it('50 concurrent requests of one browser cause one refresh, and every response carries the new cookie', async () => {
    const { login, manager, browser, c, refresh } = setup();
    await login(makeTokens(c.now() - 301_000));
    const jars = Array.from({ length: 50 }, () => browser.request());
    const results = await Promise.all(
      jars.map(async (jar) => manager.freshTokens(jar, (await manager.load(jar))!)),
    );
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    for (const jar of jars) expect(jar.setCalls.length).toBeGreaterThan(0);
  });

  it('a request still carrying the pre-refresh cookie gets the refreshed tokens without spending the refresh token again', async () => {
    const { login, manager, browser, c, refresh } = setup();
    await login(makeTokens(c.now() - 301_000));
    const late = browser.request(); // sent before the browser received the new cookie
    const first = browser.request();
    const fresh = await manager.freshTokens(first, (await manager.load(first))!);
    const tokens = await manager.freshTokens(late, (await manager.load(late))!);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(tokens.accessToken).toBe(fresh.accessToken);
    expect(late.setCalls.length).toBeGreaterThan(0);
  });

  it('invalid_grant clears the session cookies and passes the error on', async () => {
    const { login, manager, browser, c, refresh } = setup();
    await login(makeTokens(c.now() - 301_000));
    refresh.mockRejectedValueOnce(new VmproError('VMPRO_REFRESH_EXPIRED', 'ended'));
    const jar = browser.request();
    const error = await manager.freshTokens(jar, (await manager.load(jar))!).catch((e: unknown) => e);
    expect(isVmproError(error, 'VMPRO_REFRESH_EXPIRED')).toBe(true);
    expect(sessionCookies(browser)).toEqual([]);
  });

  it('a back-channel logout refuses the sessions of that sid created before it, on this instance', async () => {
    const { login, manager, browser, c } = setup();
    await login();
    c.advance(1000);
    expect(await manager.endSessions({ sid: 'sid-1' })).toBe(0);
    expect(await manager.load(browser.request())).toBeNull();
    c.advance(1000);
    await login();
    expect(await manager.load(browser.request())).not.toBeNull();
  });

  it('a back-channel logout by sub refuses every earlier session of the user', async () => {
    const { login, manager, browser, c } = setup();
    await login();
    c.advance(1000);
    await manager.endSessions({ sub: 'user-1' });
    expect(await manager.load(browser.request())).toBeNull();
  });
});
