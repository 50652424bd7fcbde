import { afterEach, describe, expect, it, vi } from 'vitest';
import { isVmproError } from '../errors.js';
import type { TokenSet } from '../oidc/types.js';
import { createSessionManager } from './manager.js';
import { memoryStore } from './memory-store.js';
import { sessionKey } from './record.js';
import { Browser, clock, flakyStore, makeTokens, SECRET, TestJar } from './test-support.js';
import type { SessionManager, SessionManagerOptions, SessionStore } from './types.js';

const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

function setup(options: Partial<SessionManagerOptions> = {}) {
  const c = clock();
  const store = flakyStore(memoryStore({ now: c.now }));
  const refresh = vi.fn(async (_tokens: TokenSet) => makeTokens(c.now()));
  const manager = createSessionManager({
    store,
    secrets: [SECRET],
    secure: true,
    refresh,
    now: c.now,
    ...options,
  });
  managers.push(manager);
  const browser = new Browser();
  const login = (tokens: TokenSet = makeTokens(c.now()), sid: string | null = 'sid-1', sub = 'user-1') =>
    manager.create(browser.request(), { tokens, user: { sub, name: 'Dana Demo' }, sid });
  return { c, store, refresh, manager, browser, login };
}

const storeUnavailable = (error: unknown) => isVmproError(error, 'VMPRO_STORE_UNAVAILABLE');

describe('session manager: configuration', () => {
  it('refuses a secret shorter than 32 characters and names `secrets`', () => {
    const error = (() => {
      try {
        createSessionManager({ secrets: ['too-short'], secure: true, refresh: async (t) => t });
      } catch (e) {
        return e;
      }
    })();
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('secrets');
  });

  it('names the cookie __Host-vmpro when secure and vmpro otherwise', () => {
    const a = createSessionManager({ secrets: [SECRET], secure: true, refresh: async (t) => t });
    const b = createSessionManager({ secrets: [SECRET], secure: false, refresh: async (t) => t });
    managers.push(a, b);
    expect(a.cookieName).toBe('__Host-vmpro');
    expect(b.cookieName).toBe('vmpro');
  });

  it('refuses a __Host- cookie name without secure', () => {
    expect(() =>
      createSessionManager({
        secrets: [SECRET],
        secure: false,
        cookieName: '__Host-x',
        refresh: async (t) => t,
      }),
    ).toThrow(/secure/);
  });
});

describe('session manager: create and load', () => {
  it('sets an HttpOnly, Secure, SameSite=Lax, host-only session cookie holding an opaque 256-bit id', async () => {
    const { manager } = setup();
    const jar = new TestJar();
    const record = await manager.create(jar, {
      tokens: makeTokens(Date.now()),
      user: { sub: 'u' },
      sid: null,
    });
    expect(record.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(jar.setCalls).toEqual([
      {
        name: '__Host-vmpro',
        value: record.id,
        attributes: { httpOnly: true, secure: true, sameSite: 'Lax', path: '/' },
      },
    ]);
  });

  it('keeps the record under a hash of the id and never stores the raw id', async () => {
    const { login, store } = setup();
    const record = await login();
    const stored = await store.get(sessionKey(record.id));
    expect(stored).not.toBeNull();
    expect(JSON.stringify(stored)).not.toContain(record.id);
    expect(await store.get(record.id)).toBeNull();
  });

  it('loads the session the cookie points to', async () => {
    const { login, manager, browser } = setup();
    const record = await login();
    const loaded = await manager.load(browser.request());
    expect(loaded).toEqual(record);
  });

  it('answers null without touching cookies when there is no cookie', async () => {
    const { manager } = setup();
    const jar = new TestJar();
    expect(await manager.load(jar)).toBeNull();
    expect(jar.untouched).toBe(true);
  });

  it('answers null and deletes the cookie for an id the server never issued', async () => {
    const { manager } = setup();
    const browser = new Browser();
    browser.cookies.set('__Host-vmpro', 'A'.repeat(43));
    const jar = browser.request();
    expect(await manager.load(jar)).toBeNull();
    expect(jar.deleteCalls.map((d) => d.name)).toEqual(['__Host-vmpro']);
  });

  it('answers null and deletes a malformed cookie without asking the store', async () => {
    const { manager, store } = setup();
    store.down = true; // would throw if asked
    const browser = new Browser();
    browser.cookies.set('__Host-vmpro', 'not-an-id');
    const jar = browser.request();
    expect(await manager.load(jar)).toBeNull();
    expect(jar.deleteCalls).toHaveLength(1);
  });

  it('always issues a new id at login and ends the session the browser had before', async () => {
    const { login, manager, browser } = setup();
    const first = await login(makeTokens(Date.now(), { sub: 'alice' }), 'sid-a', 'alice');
    const oldBrowser = new Browser();
    oldBrowser.cookies.set('__Host-vmpro', first.id);
    const second = await login(makeTokens(Date.now(), { sub: 'bob' }), 'sid-b', 'bob');
    expect(second.id).not.toBe(first.id);
    expect((await manager.load(browser.request()))?.user.sub).toBe('bob');
    expect(await manager.load(oldBrowser.request())).toBeNull();
  });

  it('ends a session after the idle timeout', async () => {
    const { login, manager, browser, c, store } = setup({ idleTimeoutSec: 600 });
    const record = await login();
    c.advance(599_000);
    expect(await manager.load(browser.request())).not.toBeNull();
    c.advance(600_000);
    const jar = browser.request();
    expect(await manager.load(jar)).toBeNull();
    expect(jar.deleteCalls.map((d) => d.name)).toEqual(['__Host-vmpro']);
    expect(await store.get(sessionKey(record.id))).toBeNull();
  });

  it('by default ends a session when its refresh token has expired', async () => {
    const { login, manager, browser, c } = setup();
    await login(makeTokens(c.now(), { refreshTtlSec: 1800 }));
    c.advance(1_799_000);
    expect(await manager.load(browser.request())).not.toBeNull();
    c.advance(1000);
    expect(await manager.load(browser.request())).toBeNull();
  });

  it('ends a session after the absolute timeout even while it is in use', async () => {
    const { login, manager, browser, c } = setup({ absoluteTimeoutSec: 3600, idleTimeoutSec: 600 });
    await login();
    for (let minute = 0; minute < 59; minute++) {
      c.advance(60_000);
      expect(await manager.load(browser.request())).not.toBeNull();
    }
    c.advance(60_000);
    expect(await manager.load(browser.request())).toBeNull();
  });

  it('records activity at most once a minute, not on every request', async () => {
    const { login, manager, browser, c } = setup();
    const created = await login();
    c.advance(30_000);
    const a = await manager.load(browser.request());
    expect(a?.version).toBe(created.version);
    expect(a?.lastSeenAt).toBe(created.lastSeenAt);
    c.advance(30_000);
    const b = await manager.load(browser.request());
    expect(b?.version).toBe(created.version + 1);
    expect(b?.lastSeenAt).toBe(c.now());
    c.advance(10_000);
    const again = await manager.load(browser.request());
    expect(again?.version).toBe(created.version + 1);
  });
});

describe('session manager: destroy and back-channel logout', () => {
  it('destroy deletes the session, clears the cookie and returns what was removed', async () => {
    const { login, manager, browser, store } = setup();
    const record = await login();
    const jar = browser.request();
    const removed = await manager.destroy(jar);
    expect(removed).toEqual(record);
    expect(jar.deleteCalls.map((d) => d.name)).toEqual(['__Host-vmpro']);
    expect(await store.get(sessionKey(record.id))).toBeNull();
    expect(await manager.load(browser.request())).toBeNull();
  });

  it('destroy without a session returns null', async () => {
    const { manager } = setup();
    expect(await manager.destroy(new TestJar())).toBeNull();
  });

  it('endSessions by sid ends only the sessions of that sid', async () => {
    const { manager } = setup();
    const [a, b, other] = [new Browser(), new Browser(), new Browser()];
    const tokens = makeTokens(Date.now());
    await manager.create(a.request(), { tokens, user: { sub: 'u1' }, sid: 's1' });
    await manager.create(b.request(), { tokens, user: { sub: 'u1' }, sid: 's1' });
    await manager.create(other.request(), { tokens, user: { sub: 'u1' }, sid: 's2' });
    expect(await manager.endSessions({ sid: 's1' })).toBe(2);
    expect(await manager.load(a.request())).toBeNull();
    expect(await manager.load(b.request())).toBeNull();
    expect(await manager.load(other.request())).not.toBeNull();
  });

  it('endSessions by sub ends every session of that user', async () => {
    const { manager } = setup();
    const [a, b, other] = [new Browser(), new Browser(), new Browser()];
    const tokens = makeTokens(Date.now());
    await manager.create(a.request(), { tokens, user: { sub: 'u1' }, sid: 's1' });
    await manager.create(b.request(), { tokens, user: { sub: 'u1' }, sid: 's2' });
    await manager.create(other.request(), { tokens, user: { sub: 'u2' }, sid: 's3' });
    expect(await manager.endSessions({ sub: 'u1' })).toBe(2);
    expect(await manager.load(a.request())).toBeNull();
    expect(await manager.load(b.request())).toBeNull();
    expect(await manager.load(other.request())).not.toBeNull();
  });

  it('a session ended by back-channel logout is gone for every manager sharing the store', async () => {
    const shared = memoryStore();
    const refresh = async (t: TokenSet) => t;
    const one = createSessionManager({ store: shared, secrets: [SECRET], secure: true, refresh });
    const two = createSessionManager({ store: shared, secrets: [SECRET], secure: true, refresh });
    managers.push(one, two);
    const browser = new Browser();
    await one.create(browser.request(), { tokens: makeTokens(Date.now()), user: { sub: 'u' }, sid: 's' });
    expect(await two.load(browser.request())).not.toBeNull();
    await one.endSessions({ sid: 's' });
    expect(await two.load(browser.request())).toBeNull();
  });
});

describe('session manager: single-use login transactions (claimOnce)', () => {
  it('answers true to the first of many concurrent claims and false to the rest', async () => {
    const { manager } = setup();
    const results = await Promise.all(Array.from({ length: 20 }, () => manager.claimOnce('tx:a', 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await manager.claimOnce('tx:b', 60_000)).toBe(true);
  });

  it('is shared through the store: a second manager on the same store loses the claim', async () => {
    const { store, manager } = setup();
    const other = createSessionManager({ store, secrets: [SECRET], secure: true, refresh: async (t) => t });
    managers.push(other);
    expect(await manager.claimOnce('tx:a', 60_000)).toBe(true);
    expect(await other.claimOnce('tx:a', 60_000)).toBe(false);
  });

  it('forgets a claim after its lifetime', async () => {
    const { c, manager } = setup();
    expect(await manager.claimOnce('tx:a', 1000)).toBe(true);
    c.advance(1001);
    expect(await manager.claimOnce('tx:a', 1000)).toBe(true);
  });

  it('throws VMPRO_STORE_UNAVAILABLE when the store cannot tell, and leaves the transaction unused', async () => {
    const { store, manager } = setup();
    store.failOn.add('claim');
    await expect(manager.claimOnce('tx:a', 60_000)).rejects.toSatisfy(storeUnavailable);
    store.failOn.delete('claim');
    expect(await manager.claimOnce('tx:a', 60_000)).toBe(true);
  });

  it('still holds within the process for a custom store without claim()', async () => {
    const inner = memoryStore();
    const { claim: _ignored, ...custom } = inner;
    const manager = createSessionManager({
      store: { ...custom, kind: 'custom' },
      secrets: [SECRET],
      secure: true,
      refresh: async (t) => t,
    });
    managers.push(manager);
    const results = await Promise.all([manager.claimOnce('tx:a', 60_000), manager.claimOnce('tx:a', 60_000)]);
    expect(results.sort()).toEqual([false, true]);
  });
});

describe('session manager: a slow login server', () => {
  it('a request stops waiting after refreshWaitMs (504-style, retryable); the refresh goes on and is saved', async () => {
    const { c, browser } = setup();
    let release: () => void = () => {};
    const refresh = vi.fn(async (_tokens: TokenSet, opts?: { timeoutMs?: number | undefined }) => {
      expect(opts?.timeoutMs).toBe(12_000); // 80 % of the lock's lifetime, not the request's wait
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return makeTokens(c.now());
    });
    const manager = createSessionManager({
      store: memoryStore({ now: c.now }),
      secrets: [SECRET],
      secure: true,
      refresh,
      now: c.now,
      refreshWaitMs: 50,
    });
    managers.push(manager);
    await manager.create(browser.request(), { tokens: makeTokens(c.now()), user: { sub: 'u' }, sid: null });
    c.advance(301_000);
    const jar = browser.request();
    const record = (await manager.load(jar))!;
    const error = await manager.freshTokens(jar, record).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VMPRO_UPSTREAM_TIMEOUT', retryable: true });
    release();
    await vi.waitFor(async () => {
      const later = browser.request();
      const next = await manager.freshTokens(later, (await manager.load(later))!);
      expect(next.accessTokenExpiresAt).toBeGreaterThan(c.now());
    });
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});

describe('session manager: store outage', () => {
  async function outage() {
    const ctx = setup();
    await ctx.login();
    ctx.store.down = true;
    return ctx;
  }

  it('load throws VMPRO_STORE_UNAVAILABLE (retryable) and leaves the cookies alone', async () => {
    const { manager, browser } = await outage();
    const jar = browser.request();
    const error = await manager.load(jar).catch((e: unknown) => e);
    expect(storeUnavailable(error)).toBe(true);
    expect((error as { retryable: boolean }).retryable).toBe(true);
    expect(jar.untouched).toBe(true);
  });

  it('load still works when only the activity write fails', async () => {
    const { manager, browser, c, store } = setup();
    const created = await manager.create(browser.request(), {
      tokens: makeTokens(c.now()),
      user: { sub: 'u' },
      sid: null,
    });
    c.advance(120_000);
    store.failOn.add('update');
    const jar = browser.request();
    expect((await manager.load(jar))?.id).toBe(created.id);
    expect(jar.untouched).toBe(true);
  });

  it('create throws VMPRO_STORE_UNAVAILABLE and sets no cookie', async () => {
    const { manager, store } = setup();
    store.down = true;
    const jar = new TestJar();
    const error = await manager
      .create(jar, { tokens: makeTokens(Date.now()), user: { sub: 'u' }, sid: null })
      .catch((e: unknown) => e);
    expect(storeUnavailable(error)).toBe(true);
    expect(jar.untouched).toBe(true);
  });

  it('destroy throws VMPRO_STORE_UNAVAILABLE and keeps the cookie', async () => {
    const { manager, browser } = await outage();
    const jar = browser.request();
    expect(storeUnavailable(await manager.destroy(jar).catch((e: unknown) => e))).toBe(true);
    expect(jar.untouched).toBe(true);
  });

  it('freshTokens throws VMPRO_STORE_UNAVAILABLE, does not log out and does not refresh', async () => {
    const { manager, browser, c, store, refresh } = setup();
    await manager.create(browser.request(), { tokens: makeTokens(c.now()), user: { sub: 'u' }, sid: null });
    const record = await manager.load(browser.request());
    c.advance(301_000);
    store.down = true;
    const jar = browser.request();
    expect(storeUnavailable(await manager.freshTokens(jar, record!).catch((e: unknown) => e))).toBe(true);
    expect(refresh).not.toHaveBeenCalled();
    expect(jar.untouched).toBe(true);
    store.down = false;
    expect(await manager.load(browser.request())).not.toBeNull();
  });

  it('endSessions throws VMPRO_STORE_UNAVAILABLE', async () => {
    const { manager } = await outage();
    expect(storeUnavailable(await manager.endSessions({ sid: 'sid-1' }).catch((e: unknown) => e))).toBe(true);
  });

  it('a custom store that throws a plain error is reported as VMPRO_STORE_UNAVAILABLE', async () => {
    const broken: SessionStore = {
      ...memoryStore(),
      kind: 'custom',
      get: async () => {
        throw new TypeError('socket hang up');
      },
    };
    const manager = createSessionManager({
      store: broken,
      secrets: [SECRET],
      secure: true,
      refresh: async (t) => t,
    });
    managers.push(manager);
    const browser = new Browser();
    browser.cookies.set('__Host-vmpro', 'B'.repeat(43));
    const error = await manager.load(browser.request()).catch((e: unknown) => e);
    expect(storeUnavailable(error)).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });
});
