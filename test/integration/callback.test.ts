import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { cookieStore, redisLogoutList } from '../../src/session/index.js';
import { startApp, TEST_SECRET, type TestApp } from '../support/apps.js';
import { parseLoginForm, signIn, TestBrowser } from '../support/browser.js';

let emulator: RunningEmulator;
let app: TestApp;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
  app = await startApp('web', emulator);
});
afterAll(async () => {
  await app?.close();
  await emulator?.close();
});

/** Starts a login and returns the authorization URL the app sent the browser to. */
async function startLogin(browser: TestBrowser, returnTo = '/'): Promise<URL> {
  const r = await browser.request(`${app.origin}/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  expect(r.status).toBe(303);
  return new URL(r.headers.get('location') ?? '');
}

/** Completes the emulator's login form for an authorization URL; returns the callback URL (not yet visited). */
async function loginAtEmulator(browser: TestBrowser, authorizationUrl: URL, user = 'demo'): Promise<string> {
  const page = await browser.request(authorizationUrl.href);
  const sso = page.headers.get('location');
  if (page.status === 302 && sso) return new URL(sso, authorizationUrl).href; // already signed in at the login server
  const { action, hidden } = parseLoginForm(await page.text(), authorizationUrl.href);
  const posted = await browser.postForm(
    action,
    { ...hidden, username: user, password: user },
    authorizationUrl.href,
  );
  const location = posted.headers.get('location');
  expect(location).toBeTruthy();
  return new URL(location ?? '', action).href;
}

const sessionCookieName = () => app.auth.sessions.cookieName;

describe('the login route', () => {
  it('sends the scenario parameters plus PKCE S256 and a nonce, and sets a transaction cookie', async () => {
    const browser = new TestBrowser();
    const url = await startLogin(browser);
    const p = url.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('response_mode')).toBe('query');
    expect(p.get('scope')?.split(' ')).toContain('openid');
    expect(p.get('redirect_uri')).toBe(`${app.origin}/auth/callback`);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('state')?.length).toBeGreaterThanOrEqual(22);
    expect(p.get('nonce')?.length).toBeGreaterThanOrEqual(22);
    const tx = browser.hops.at(-1);
    expect(tx?.status).toBe(303);
  });

  it('marks cookies HttpOnly and SameSite=Lax (and not Secure on plain-http loopback)', async () => {
    const r = await fetch(`${app.origin}/auth/login`, { redirect: 'manual' });
    const cookie = r.headers.getSetCookie()[0] ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  it('ignores a returnTo that leaves the origin', async () => {
    const browser = new TestBrowser();
    const { finalUrl } = await signIn(browser, app.origin, undefined, '//evil.example/steal');
    expect(finalUrl).toBe(`${app.origin}/`);
  });
});

describe('the callback', () => {
  it('answers with no-referrer and no-store, then sends the user to returnTo with a session', async () => {
    const browser = new TestBrowser();
    const callback = await loginAtEmulator(browser, await startLogin(browser, '/me'));
    const r = await browser.request(callback);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/me');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(browser.cookie(app.origin, sessionCookieName())).toBeTruthy();
  });

  it('refuses a replayed callback without touching the session it created', async () => {
    const browser = new TestBrowser();
    const callback = await loginAtEmulator(browser, await startLogin(browser));
    expect((await browser.request(callback)).status).toBe(303);
    const replay = await browser.request(callback);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('VMPRO_TRANSACTION_MISSING');
    const me = await browser.request(`${app.origin}/me`, { headers: { accept: 'application/json' } });
    expect(me.status).toBe(200);
  });

  it('refuses a callback from another browser (no transaction cookie): login CSRF', async () => {
    const attacker = new TestBrowser();
    const callback = await loginAtEmulator(attacker, await startLogin(attacker));
    const victim = new TestBrowser();
    const r = await victim.request(callback);
    expect(r.status).toBe(400);
    expect(victim.cookie(app.origin, sessionCookieName())).toBeUndefined();
  });

  it('refuses a tampered state', async () => {
    const browser = new TestBrowser();
    const callback = new URL(await loginAtEmulator(browser, await startLogin(browser)));
    callback.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    expect((await browser.request(callback.href)).status).toBe(400);
  });

  it('refuses duplicated parameters', async () => {
    const browser = new TestBrowser();
    const callback = await loginAtEmulator(browser, await startLogin(browser));
    const r = await browser.request(`${callback}&code=other`);
    expect(r.status).toBe(400);
    expect(browser.cookie(app.origin, sessionCookieName())).toBeUndefined();
  });

  it('shows access_denied from the login server as a 403 page with the reason escaped', async () => {
    const browser = new TestBrowser();
    const auth = await startLogin(browser);
    const state = auth.searchParams.get('state') ?? '';
    const url = new URL(`${app.origin}/auth/callback`);
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('error_description', '<script>alert(1)</script>');
    url.searchParams.set('state', state);
    url.searchParams.set('iss', emulator.issuer);
    const r = await browser.request(url.href);
    expect(r.status).toBe(403);
    const html = await r.text();
    expect(html).toContain('access_denied');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(browser.cookie(app.origin, sessionCookieName())).toBeUndefined();
  });

  it('refuses a wrong iss (mix-up attack) before spending the code', async () => {
    const browser = new TestBrowser();
    const callback = new URL(await loginAtEmulator(browser, await startLogin(browser)));
    callback.searchParams.set('iss', 'https://attacker.example/realms/platform');
    const before = emulator.counters().login.tokenRequests.authorization_code ?? 0;
    expect((await browser.request(callback.href)).status).toBe(400);
    expect(emulator.counters().login.tokenRequests.authorization_code ?? 0).toBe(before);
  });

  it('lets two tabs log in at once', async () => {
    const browser = new TestBrowser();
    const first = await startLogin(browser, '/first');
    const second = await startLogin(browser, '/second');
    const cb2 = await loginAtEmulator(browser, second);
    const r2 = await browser.request(cb2);
    expect(r2.headers.get('location')).toBe('/second');
    const cb1 = await loginAtEmulator(browser, first);
    const r1 = await browser.request(cb1);
    expect(r1.headers.get('location')).toBe('/first');
  });

  it('issues a new session id at every login and ends the previous one (no fixation, no mixing)', async () => {
    const browser = new TestBrowser();
    await signIn(browser, app.origin, { username: 'demo', password: 'demo' });
    const firstId = browser.cookie(app.origin, sessionCookieName());
    const stale = new TestBrowser();
    stale.cookies.set(app.origin, new Map([[sessionCookieName(), firstId ?? '']]));

    // Log in as another user in the same browser (the emulator's SSO cookie is dropped first).
    browser.cookies.delete(new URL(emulator.url).origin);
    await signIn(browser, app.origin, { username: 'novms', password: 'novms' });
    const secondId = browser.cookie(app.origin, sessionCookieName());
    expect(secondId).toBeTruthy();
    expect(secondId).not.toBe(firstId);
    const me = await browser.request(`${app.origin}/me`, { headers: { accept: 'application/json' } });
    expect(await me.json()).toMatchObject({ name: 'Nico NoVMs' });
    const old = await stale.request(`${app.origin}/me`, { headers: { accept: 'application/json' } });
    expect(old.status).toBe(401);
  });

  it('never answers 5xx for whatever a browser puts in the callback URL', async () => {
    const browser = new TestBrowser();
    await startLogin(browser);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom('code', 'state', 'iss', 'error', 'session_state', 'x', 'id_token'),
            fc.string(),
          ),
          {
            maxLength: 5,
          },
        ),
        async (pairs) => {
          const query = new URLSearchParams(pairs).toString();
          const r = await browser.request(`${app.origin}/auth/callback?${query}`);
          await r.body?.cancel();
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('serves the fragment relay page when the answer came in the URL fragment', async () => {
    const r = await fetch(`${app.origin}/auth/callback`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    expect(await r.text()).toContain('location.hash');
  });
});

describe('when the login server fails at the callback', () => {
  it('answers 502/503/504, never 500, and creates no session', async () => {
    for (const fault of [
      { kind: 'status' as const, status: 503, retryAfter: 3 },
      { kind: 'reset' as const },
      { kind: 'html' as const, status: 502 },
    ]) {
      const browser = new TestBrowser();
      const callback = await loginAtEmulator(browser, await startLogin(browser));
      emulator.addTokenFault({ ...fault, grantType: 'authorization_code', times: 1 });
      const r = await browser.request(callback);
      expect([502, 503, 504]).toContain(r.status);
      expect(browser.cookie(app.origin, sessionCookieName())).toBeUndefined();
    }
  });

  it('answers a malformed token response with a 4xx page, never 500', async () => {
    const browser = new TestBrowser();
    const callback = await loginAtEmulator(browser, await startLogin(browser));
    emulator.addTokenFault({ kind: 'malformed_json', grantType: 'authorization_code', times: 1 });
    const r = await browser.request(callback);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });
});

describe('back-channel logout', () => {
  it('ends the sessions of a user logged out at the login server', async () => {
    const browser = new TestBrowser();
    await signIn(browser, app.origin);
    expect(
      (await browser.request(`${app.origin}/me`, { headers: { accept: 'application/json' } })).status,
    ).toBe(200);
    await emulator.logoutUser('demo');
    const r = await browser.request(`${app.origin}/me`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
  });

  it.skipIf(!process.env.REDIS_URL)(
    'cookie store + redisLogoutList: a logout received by one instance ends the session on the other (needs REDIS_URL)',
    async () => {
      const prefix = `vmpro-test:bcl:${process.pid}:${Date.now()}:`;
      const instances: TestApp[] = [];
      const clients: Redis[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          const client = new Redis(process.env.REDIS_URL as string);
          clients.push(client);
          const store = cookieStore({ logouts: redisLogoutList({ client, prefix, pollMs: 50 }) });
          instances.push(
            // Two servers of one app in one process: named instances, by the explicit opt-in.
            await startApp(
              'web',
              emulator,
              { instance: `bcl-${i}`, session: { secrets: [TEST_SECRET], store } },
              'bcl-cookie',
            ),
          );
        }
        const [a, b] = instances as [TestApp, TestApp];
        const browser = new TestBrowser();
        await signIn(browser, a.origin);
        const cookie = browser.cookieHeader(a.origin);
        const me = (origin: string) =>
          fetch(`${origin}/me`, { headers: { cookie, accept: 'application/json' } });
        expect((await me(b.origin)).status).toBe(200);

        // The login server sends the logout token to the first instance only.
        await emulator.logoutUser('demo');
        expect((await me(a.origin)).status).toBe(401);
        let status = 0;
        for (const deadline = Date.now() + 3000; Date.now() < deadline; ) {
          status = (await me(b.origin)).status;
          if (status === 401) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(status).toBe(401);
      } finally {
        for (const instance of instances) await instance.close();
        for (const client of clients) client.disconnect();
      }
    },
  );

  it('refuses a forged logout token with 400 and changes nothing', async () => {
    const browser = new TestBrowser();
    await signIn(browser, app.origin);
    const r = await fetch(`${app.origin}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }),
    });
    expect(r.status).toBe(400);
    expect(
      (await browser.request(`${app.origin}/me`, { headers: { accept: 'application/json' } })).status,
    ).toBe(200);
  });
});
