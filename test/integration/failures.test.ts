/**
 * What a user sees when something upstream fails: the login server, the API, or the session
 * store. Never a 500, never a logout because of an outage; a clean 401 when the login has ended.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { memoryStore, type SessionStore } from '../../src/session/index.js';
import { startApp, type TestApp } from '../support/apps.js';
import { signIn, TestBrowser } from '../support/browser.js';

let offsetSec = 0;
const now = () => Date.now() + offsetSec * 1000;
let emulator: RunningEmulator;
let app: TestApp;

/** A memory store that can be switched off, the way a Redis outage looks to the session layer. */
function switchableStore(): SessionStore & { down: boolean } {
  const inner = memoryStore();
  const wrapper = { down: false } as SessionStore & { down: boolean };
  for (const key of ['get', 'create', 'update', 'delete', 'keysBySid', 'keysBySub', 'lock'] as const) {
    (wrapper as unknown as Record<string, unknown>)[key] = (...args: unknown[]) => {
      if (wrapper.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
      return (inner[key] as (...a: unknown[]) => unknown)(...args);
    };
  }
  Object.defineProperty(wrapper, 'kind', { value: 'switchable' });
  return wrapper;
}

const store = switchableStore();

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
  app = await startApp('web', emulator, {
    now,
    session: { secrets: ['failures-secret-0123456789-abcdefghijkl'], store },
  });
});
afterAll(async () => {
  await app?.close();
  await emulator?.close();
});
afterEach(() => {
  store.down = false;
  emulator.clearFaults();
});

async function loggedIn(): Promise<TestBrowser> {
  const browser = new TestBrowser();
  await signIn(browser, app.origin);
  return browser;
}

const json = { accept: 'application/json' };

function expire(): void {
  offsetSec += 301;
  emulator.advanceClock(301);
}

describe('when the login server fails during a refresh', () => {
  it('answers 503 with Retry-After and keeps the session, which works again afterwards', async () => {
    const browser = await loggedIn();
    expire();
    emulator.addTokenFault({
      grantType: 'refresh_token',
      kind: 'status',
      status: 503,
      retryAfter: 7,
      times: 1,
    });
    const r = await browser.request(`${app.origin}/api/vms`, { headers: json });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(await r.json()).toMatchObject({ error: 'VMPRO_UPSTREAM_UNAVAILABLE' });
    const again = await browser.request(`${app.origin}/api/vms`, { headers: json });
    expect(again.status).toBe(200);
  });

  it('answers 504 when the login server is too slow', async () => {
    // The refresh is aborted at the session layer's limit; a dropped connection is a 502.
    const browser = await loggedIn();
    expire();
    emulator.addTokenFault({ grantType: 'refresh_token', kind: 'reset', times: 1 });
    const r = await browser.request(`${app.origin}/api/vms`, { headers: json });
    expect([502, 503]).toContain(r.status);
    expect((await browser.request(`${app.origin}/api/vms`, { headers: json })).status).toBe(200);
  });

  it('ends the session cleanly with 401 when the login has ended (invalid_grant)', async () => {
    const browser = await loggedIn();
    expire();
    emulator.addTokenFault({
      grantType: 'refresh_token',
      kind: 'oauth_error',
      status: 400,
      error: 'invalid_grant',
      times: 1,
    });
    const r = await browser.request(`${app.origin}/api/vms`, { headers: json });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_REFRESH_EXPIRED' });
    const me = await browser.request(`${app.origin}/me`, { headers: json });
    expect(me.status).toBe(401);
    const page = await browser.request(`${app.origin}/me`);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/auth\/login\?returnTo=/);
  });
});

describe('when the API fails', () => {
  it.each([
    [{ kind: 'status' as const, status: 503, retryAfter: 4 }, 503],
    [{ kind: 'status' as const, status: 500 }, 502],
    [{ kind: 'html' as const, status: 502 }, 502],
    [{ kind: 'reset' as const }, 502],
  ])('maps %j to %i with a clear message', async (fault, status) => {
    const browser = await loggedIn();
    emulator.api.addFault({ method: 'GET', path: '/v1/vms', ...fault });
    const r = await browser.request(`${app.origin}/api/vms`, { headers: json });
    emulator.api.clearFaults();
    expect(r.status).toBe(status);
    const body = (await r.json()) as { error: string; message: string };
    expect(body.message.length).toBeGreaterThan(10);
  });

  it('refreshes once and retries when the API says invalid_token', async () => {
    const browser = await loggedIn();
    const before = emulator.counters().login.tokenRequests.refresh_token ?? 0;
    emulator.api.addFault({ method: 'GET', path: '/v1/vms', kind: 'invalid_token', times: 1 });
    const r = await browser.request(`${app.origin}/api/vms`, { headers: json });
    expect(r.status).toBe(200);
    expect((emulator.counters().login.tokenRequests.refresh_token ?? 0) - before).toBe(1);
  });
});

describe('when the session store is down', () => {
  it('answers 503 with Retry-After, not a logout, and keeps the cookie', async () => {
    const browser = await loggedIn();
    const cookieBefore = browser.cookieHeader(app.origin);
    store.down = true;
    const r = await browser.request(`${app.origin}/me`, { headers: json });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBeTruthy();
    expect(await r.json()).toMatchObject({ error: 'VMPRO_STORE_UNAVAILABLE' });
    expect(r.headers.getSetCookie()).toEqual([]);
    expect(browser.cookieHeader(app.origin)).toBe(cookieBefore);
    store.down = false;
    expect((await browser.request(`${app.origin}/me`, { headers: json })).status).toBe(200);
  });

  it('answers the callback with 503 and no session, never 500', async () => {
    const browser = new TestBrowser();
    store.down = true;
    const { response } = await signIn(browser, app.origin).catch(() => ({ response: null }));
    const callback = browser.hops.find((h) => h.url.startsWith(`${app.origin}/auth/callback`));
    expect(callback?.status).toBe(503);
    expect(response === null || response.status !== 500).toBe(true);
  });
});
