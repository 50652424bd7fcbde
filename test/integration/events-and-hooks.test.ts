/**
 * Events (login, logout, refresh, refresh_failed, session_ended), the after-login hook and
 * custom error pages, in real flows: the emulator and the app on real sockets, a scripted
 * browser signing in through the emulator's login form.
 */
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { DEMO_USERS, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import {
  type AfterLoginContext,
  loginRefused,
  type VmproAuthOptions,
  type VmproEvent,
  type VmproUser,
} from '../../src/http/index.js';
import type { Logger } from '../../src/logger.js';
import { startApp, type TestApp } from '../support/apps.js';
import { signIn, TestBrowser } from '../support/browser.js';

declare module '../../src/http/index.js' {
  interface VmproClaims {
    /** A claim this test types through augmentation (the emulator does not send it). */
    vmpro_test_tenant?: string;
  }
}

const DEMO = DEMO_USERS[0];
let emulator: RunningEmulator;
/** The app's clock offset; the emulator's follows it (tests that move only the app's catch it up afterwards). */
let offsetSec = 0;
let emulatorOffsetSec = 0;
const now = () => Date.now() + offsetSec * 1000;
const apps: TestApp[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  emulator.clearFaults();
  // The emulator's clock only moves forward: bring it level with the app's for the next test.
  emulator.advanceClock(offsetSec - emulatorOffsetSec);
  emulatorOffsetSec = offsetSec;
});
afterAll(async () => {
  await emulator?.close();
});

/** Moves both clocks (the app's and the login server's) forward. */
function advance(seconds: number): void {
  offsetSec += seconds;
  emulatorOffsetSec += seconds;
  emulator.advanceClock(seconds);
}

/** Resolves once `check()` holds; fails after 2 s (events are delivered on a timer, not inline). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Lets every event already scheduled be delivered (they are sent on a 0 ms timer). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

function recording(): {
  events: VmproEvent[];
  of<T extends VmproEvent['type']>(type: T): Extract<VmproEvent, { type: T }>[];
} {
  const events: VmproEvent[] = [];
  return {
    events,
    of: <T extends VmproEvent['type']>(type: T) =>
      events.filter((e): e is Extract<VmproEvent, { type: T }> => e.type === type),
  };
}

function errorLog(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    debug() {},
    info() {},
    warn() {},
    error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields ?? {})}`),
  };
}

async function app(extra: Partial<VmproAuthOptions>): Promise<TestApp> {
  const started = await startApp('web', emulator, { now, ...extra });
  apps.push(started);
  return started;
}

const json = { accept: 'application/json' };

describe('events', () => {
  it('reports a sign-in once, with sub, sid and how long it took', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    await signIn(new TestBrowser(), a.origin);
    await until(() => rec.of('login').length > 0, 'the login event');
    await settle();
    expect(rec.of('login')).toHaveLength(1);
    const [login] = rec.of('login');
    expect(login).toEqual({
      type: 'login',
      at: expect.any(Number),
      sub: DEMO?.sub,
      sid: expect.any(String),
      durationMs: expect.any(Number),
    });
    expect(login?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports one refresh for a burst of requests with an expired access token', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    advance(301);
    const cookie = browser.cookieHeader(a.origin);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${a.origin}/api/vms`, { headers: { ...json, cookie } }).then(async (r) => {
          await r.body?.cancel();
          return r.status;
        }),
      ),
    );
    expect(statuses).toEqual(Array(10).fill(200));
    await until(() => rec.of('refresh').length > 0, 'the refresh event');
    await settle();
    expect(rec.of('refresh')).toEqual([
      {
        type: 'refresh',
        at: expect.any(Number),
        sub: DEMO?.sub,
        durationMs: expect.any(Number),
        outcome: 'refreshed',
      },
    ]);
    expect(rec.of('refresh_failed')).toEqual([]);
  });

  it('reports a refused refresh token as refresh_failed (not retryable) and session_ended (refresh_expired)', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    emulator.addTokenFault({ grantType: 'refresh_token', kind: 'oauth_error', error: 'invalid_grant' });
    advance(301);
    const r = await browser.request(`${a.origin}/api/vms`, { headers: json });
    expect(r.status).toBe(401);
    await until(() => rec.of('session_ended').length > 0, 'the session_ended event');
    await settle();
    expect(rec.of('refresh_failed')).toEqual([
      {
        type: 'refresh_failed',
        at: expect.any(Number),
        sub: DEMO?.sub,
        code: 'VMPRO_REFRESH_EXPIRED',
        retryable: false,
      },
    ]);
    expect(rec.of('session_ended')).toEqual([
      {
        type: 'session_ended',
        at: expect.any(Number),
        sub: DEMO?.sub,
        sid: expect.any(String),
        reason: 'refresh_expired',
      },
    ]);
    expect(rec.of('refresh')).toEqual([]);
  });

  it('reports a login server that is down as a retryable refresh_failed, and ends no session', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    emulator.addTokenFault({ grantType: 'refresh_token', kind: 'status', status: 503, retryAfter: 2 });
    advance(301);
    const r = await browser.request(`${a.origin}/api/vms`, { headers: json });
    expect(r.status).toBe(503);
    await until(() => rec.of('refresh_failed').length > 0, 'the refresh_failed event');
    await settle();
    expect(rec.of('refresh_failed')).toEqual([
      {
        type: 'refresh_failed',
        at: expect.any(Number),
        sub: DEMO?.sub,
        code: 'VMPRO_UPSTREAM_UNAVAILABLE',
        retryable: true,
      },
    ]);
    expect(rec.of('session_ended')).toEqual([]);
  });

  it('reports a logout as logout (user) and session_ended (logout)', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    const out = await browser.postForm(`${a.origin}/auth/logout`, {}, `${a.origin}/`);
    expect(out.status).toBe(303);
    await until(() => rec.of('session_ended').length > 0, 'the session_ended event');
    await settle();
    const sid = rec.of('login')[0]?.sid;
    expect(rec.of('logout')).toEqual([
      { type: 'logout', at: expect.any(Number), sub: DEMO?.sub, sid, reason: 'user' },
    ]);
    expect(rec.of('session_ended')).toEqual([
      { type: 'session_ended', at: expect.any(Number), sub: DEMO?.sub, sid, reason: 'logout' },
    ]);
  });

  it('reports a back-channel logout from the login server as logout (backchannel) and session_ended (backchannel)', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    expect(await emulator.logoutUser('demo')).toBeGreaterThan(0);
    await until(() => rec.of('session_ended').length > 0, 'the session_ended event');
    await settle();
    const sid = rec.of('login')[0]?.sid;
    expect(rec.of('logout')).toEqual([
      { type: 'logout', at: expect.any(Number), sub: DEMO?.sub, sid, reason: 'backchannel', sessions: 1 },
    ]);
    expect(rec.of('session_ended')).toEqual([
      { type: 'session_ended', at: expect.any(Number), sub: DEMO?.sub, sid, reason: 'backchannel' },
    ]);
    expect((await browser.request(`${a.origin}/me`, { headers: json })).status).toBe(401);
  });

  it('reports a session past its idle timeout as session_ended (idle)', async () => {
    const rec = recording();
    const a = await app({
      onEvent: (e) => void rec.events.push(e),
      session: { secrets: [TEST_SECRET_FOR_EVENTS], idleTimeoutSec: 60 },
    });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    offsetSec += 61; // the app's clock only: the login server is not asked
    expect((await browser.request(`${a.origin}/me`, { headers: json })).status).toBe(401);
    await until(() => rec.of('session_ended').length > 0, 'the session_ended event');
    await settle();
    expect(rec.of('session_ended')).toEqual([
      {
        type: 'session_ended',
        at: expect.any(Number),
        sub: DEMO?.sub,
        sid: expect.any(String),
        reason: 'idle',
      },
    ]);
  });

  it('reports a session past its absolute timeout as session_ended (absolute)', async () => {
    const rec = recording();
    const a = await app({
      onEvent: (e) => void rec.events.push(e),
      session: { secrets: [TEST_SECRET_FOR_EVENTS], absoluteTimeoutSec: 60 },
    });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    offsetSec += 61;
    expect((await browser.request(`${a.origin}/me`, { headers: json })).status).toBe(401);
    await until(() => rec.of('session_ended').length > 0, 'the session_ended event');
    await settle();
    expect(rec.of('session_ended')).toEqual([
      {
        type: 'session_ended',
        at: expect.any(Number),
        sub: DEMO?.sub,
        sid: expect.any(String),
        reason: 'absolute',
      },
    ]);
  });

  it('never carries a token', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    const request = new Request(`${a.origin}/`, { headers: { cookie: browser.cookieHeader(a.origin) } });
    const tokens = (await a.auth.context(request, () => {}).requireSession()).tokens;
    advance(301);
    expect((await browser.request(`${a.origin}/api/vms`, { headers: json })).status).toBe(200);
    await browser.postForm(`${a.origin}/auth/logout`, {}, `${a.origin}/`);
    await until(() => rec.of('session_ended').length > 0, 'the session_ended event');
    const text = JSON.stringify(rec.events);
    expect(rec.events.map((e) => e.type)).toEqual(['login', 'refresh', 'logout', 'session_ended']);
    for (const secret of [tokens.accessToken, tokens.refreshToken, tokens.idToken]) {
      expect(secret).toBeTruthy();
      expect(text).not.toContain(secret as string);
    }
  });

  it('keeps serving when the listener throws, and logs the failure', async () => {
    const logger = errorLog();
    const a = await app({
      logger,
      onEvent: () => {
        throw new Error('metrics backend down');
      },
    });
    const browser = new TestBrowser();
    const { response } = await signIn(browser, a.origin);
    expect(response?.status).toBe(200);
    await until(() => logger.errors.length > 0, 'the logged listener failure');
    expect(logger.errors[0]).toContain('the onEvent listener failed');
    expect(logger.errors[0]).toContain('"event":"login"');
    expect(logger.errors[0]).toContain('metrics backend down');
  });

  it('keeps serving when the listener rejects or never settles', async () => {
    const logger = errorLog();
    let calls = 0;
    const a = await app({
      logger,
      onEvent: (event) => {
        calls++;
        return event.type === 'login'
          ? new Promise<void>(() => {})
          : Promise.reject(new Error('audit store down'));
      },
    });
    const browser = new TestBrowser();
    const { response } = await signIn(browser, a.origin);
    expect(response?.status).toBe(200);
    const out = await browser.postForm(`${a.origin}/auth/logout`, {}, `${a.origin}/`);
    expect(out.status).toBe(303);
    await until(() => logger.errors.length >= 2, 'the logged rejections');
    expect(calls).toBe(3);
    expect(logger.errors.every((line) => line.includes('audit store down'))).toBe(true);
  });

  it('calls the listener after the handler has answered, not inline', async () => {
    const rec = recording();
    const a = await app({ onEvent: (e) => void rec.events.push(e) });
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    await until(() => rec.of('login').length > 0, 'the login event');
    const request = new Request(`${a.origin}/auth/logout`, {
      method: 'POST',
      headers: { cookie: browser.cookieHeader(a.origin), 'sec-fetch-site': 'same-origin' },
    });
    const response = await a.auth.logout(request);
    expect(response.status).toBe(303);
    expect(rec.of('logout')).toEqual([]);
    await until(() => rec.of('logout').length > 0, 'the logout event');
  });
});

const TEST_SECRET_FOR_EVENTS = 'events-test-secret-0123456789abcdefghij';

describe('afterLogin', () => {
  it('stores the data it returns with the session, readable as session().data', async () => {
    let seen: AfterLoginContext | undefined;
    const a = await app({
      afterLogin: async (ctx) => {
        seen = ctx;
        const vms = await ctx.api.vms.list();
        return { data: { tenant: 'acme', videoManagers: vms.map((vm) => String(vm.id)) } };
      },
    });
    const browser = new TestBrowser();
    const { finalUrl } = await signIn(browser, a.origin, undefined, '/me?x=1');
    expect(finalUrl).toBe(`${a.origin}/me?x=1`);
    const request = new Request(`${a.origin}/`, { headers: { cookie: browser.cookieHeader(a.origin) } });
    const session = await a.auth.context(request, () => {}).requireSession();
    expect(session.data?.['tenant']).toBe('acme');
    expect(session.data?.['videoManagers']).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(seen?.claims.sub).toBe(DEMO?.sub);
    expect(seen?.user).toEqual(expect.objectContaining({ sub: DEMO?.sub, email: DEMO?.email }));
    expect(seen?.returnTo).toBe('/me?x=1');
    expect(Object.keys(seen?.tokens ?? {}).sort()).toEqual([
      'accessTokenExpiresAt',
      'hasRefreshToken',
      'refreshTokenExpiresAt',
      'scope',
    ]);
    expect(seen?.hasRole('offline_access')).toBe(true);
    expect(seen?.hasRole('portal-admin')).toBe(false);
  });

  it('refuses the sign-in with a 403 page saying why: no session, refresh token revoked', async () => {
    const a = await app({
      afterLogin: () => {
        throw loginRefused(
          'This portal is for the Example Inc. team only. Ask your administrator for access.',
        );
      },
    });
    const revokedBefore = emulator.counters().login.revocations;
    const browser = new TestBrowser();
    const { response } = await signIn(browser, a.origin);
    expect(response?.status).toBe(403);
    const html = await response?.text();
    expect(html).toContain('This portal is for the Example Inc. team only.');
    expect(html).toContain('VMPRO_LOGIN_REFUSED');
    expect(browser.cookie(a.origin, a.auth.sessions.cookieName)).toBeUndefined();
    expect((await browser.request(`${a.origin}/me`, { headers: json })).status).toBe(401);
    expect(emulator.counters().login.revocations).toBe(revokedBefore + 1);
  });

  it('fails with a 500 and a log line when it returns data that is not JSON, and creates no session', async () => {
    const logger = errorLog();
    const a = await app({ logger, afterLogin: () => ({ data: { when: new Date() as never } }) });
    const browser = new TestBrowser();
    const { response } = await signIn(browser, a.origin);
    expect(response?.status).toBe(500);
    expect(logger.errors.join('\n')).toContain('VMPRO_CONFIG_INVALID');
    expect(browser.cookie(a.origin, a.auth.sessions.cookieName)).toBeUndefined();
  });
});

describe('the user and typed claims', () => {
  it('gives user() the ID token claims with the stored profile, typed by VmproClaims augmentation', async () => {
    const a = await app({});
    const browser = new TestBrowser();
    await signIn(browser, a.origin);
    const request = new Request(`${a.origin}/`, { headers: { cookie: browser.cookieHeader(a.origin) } });
    const user = await a.auth.context(request, () => {}).user();
    expectTypeOf(user).toEqualTypeOf<VmproUser | null>();
    expectTypeOf<NonNullable<typeof user>['vmpro_test_tenant']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<NonNullable<typeof user>['sub']>().toEqualTypeOf<string>();
    expect(user).toEqual(
      expect.objectContaining({ sub: DEMO?.sub, name: DEMO?.name, email: DEMO?.email, iss: emulator.issuer }),
    );
    expect(user?.vmpro_test_tenant).toBeUndefined();
  });
});

describe('errorPage', () => {
  it('renders the HTML error answers: a string becomes the page, with status, no-store and a script-free CSP', async () => {
    const pages: unknown[] = [];
    const a = await app({
      afterLogin: () => {
        throw loginRefused('No <access> for you.');
      },
      errorPage: (error, request) => {
        pages.push({ ...error, path: new URL(request.url).pathname });
        return `<!doctype html><title>Acme</title><h1>Acme: ${error.status}</h1><p>${error.messageHtml}</p>`;
      },
    });
    const { response } = await signIn(new TestBrowser(), a.origin);
    expect(response?.status).toBe(403);
    expect(response?.headers.get('cache-control')).toBe('no-store');
    expect(response?.headers.get('content-security-policy')).toContain("script-src 'none'");
    expect(await response?.text()).toBe(
      '<!doctype html><title>Acme</title><h1>Acme: 403</h1><p>No &#60;access&#62; for you.</p>',
    );
    expect(pages).toEqual([
      {
        status: 403,
        code: 'VMPRO_LOGIN_REFUSED',
        message: 'No <access> for you.',
        messageHtml: 'No &#60;access&#62; for you.',
        path: '/auth/callback',
      },
    ]);
  });

  it('sends a Response it returns as it is, and leaves JSON answers alone', async () => {
    const a = await app({
      errorPage: (error) =>
        new Response(`custom ${error.code}`, { status: error.status, headers: { 'x-page': 'custom' } }),
    });
    const page = await fetch(`${a.origin}/auth/callback?state=x&code=y`, {
      headers: { accept: 'text/html' },
    });
    expect(page.status).toBe(400);
    expect(page.headers.get('x-page')).toBe('custom');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await page.text()).toBe('custom VMPRO_TRANSACTION_MISSING');
    const api = await fetch(`${a.origin}/auth/logout`, {
      method: 'POST',
      headers: { ...json, 'sec-fetch-site': 'cross-site' },
    });
    expect(api.status).toBe(403);
    expect(await api.json()).toEqual({ error: 'VMPRO_CROSS_SITE_REQUEST', message: expect.any(String) });
  });

  it('falls back to the default page, and logs, when errorPage throws', async () => {
    const logger = errorLog();
    const a = await app({
      logger,
      errorPage: () => {
        throw new Error('template missing');
      },
    });
    const page = await fetch(`${a.origin}/auth/callback?state=x&code=y`, {
      headers: { accept: 'text/html' },
    });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('Sign-in did not work');
    expect(logger.errors.join('\n')).toContain('template missing');
  });
});

describe('afterLogin types', () => {
  it('accept a hook that only checks and returns nothing, sync or async', () => {
    const check: NonNullable<VmproAuthOptions['afterLogin']> = (ctx) => {
      if (!ctx.hasRole('offline_access')) throw loginRefused('No access.');
    };
    const asyncCheck: NonNullable<VmproAuthOptions['afterLogin']> = async (ctx) => {
      await ctx.api.vms.list();
    };
    expectTypeOf(check).toBeFunction();
    expectTypeOf(asyncCheck).toBeFunction();
  });
});
