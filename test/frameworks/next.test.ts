/**
 * vmpro-connect/next in a real Next.js App Router app (test/frameworks/apps/next), built with
 * `next build` WITHOUT any VMPRO_* variable (the instance is built on the first request), run with
 * `next start`, and used by Chromium through the emulator's login form — once with the default
 * memory store and once with the encrypted cookie store (Next evaluates lib/vmpro.ts once per
 * layer: both only work when those copies share one instance).
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppProcess,
  type FrameworkEmulator,
  fillLoginForm,
  frameworkEmulator,
  freePort,
  hasChromium,
  launchChromium,
  prepareApp,
  run,
  startProcess,
} from './harness.js';

const APP_VARIABLES = [
  'VMPRO_CLIENT_ID',
  'VMPRO_CLIENT_SECRET',
  'VMPRO_API_BASE',
  'VMPRO_ISSUER',
  'VMPRO_REDIRECT_URI',
  'VMPRO_SESSION_SECRET',
  'VMPRO_SESSION_STORE',
  'APP_ORIGIN',
];
/** Seconds an access token lives: short, so that the test sees one expire. */
const ACCESS_TOKEN_LIFETIME = 4;
const STEP_TIMEOUT = 60_000;

let dir = '';
let browser: Browser | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  const started = Date.now();
  const app = await prepareApp('next');
  dir = app.dir;
  const prepared = Date.now();
  // The proof of the lazy build: not one of the app's variables is in the build's environment.
  await run(
    'env',
    [...APP_VARIABLES.flatMap((name) => ['-u', name]), join(dir, 'node_modules/.bin/next'), 'build'],
    {
      cwd: dir,
      env: { NEXT_TELEMETRY_DISABLED: '1' },
      timeoutMs: 300_000,
    },
  );
  const built = Date.now();
  browser = await launchChromium();
  console.log(
    `next: ${app.installed ? 'cold (npm install)' : 'warm'} prepare ${prepared - started} ms, next build ${built - prepared} ms`,
  );
}, 660_000);

afterAll(async () => {
  await browser?.close();
});

/** The emulator and `next start` for one session store, on a port of their own. */
async function startApp(store: 'memory' | 'cookie'): Promise<{ fw: FrameworkEmulator; app: AppProcess }> {
  const port = await freePort();
  const fw = await frameworkEmulator(`http://127.0.0.1:${port}`, {
    accessTokenLifetime: ACCESS_TOKEN_LIFETIME,
  });
  const app = await startProcess({
    cwd: dir,
    command: join(dir, 'node_modules/.bin/next'),
    args: ['start', '-p', String(port), '-H', '127.0.0.1'],
    port,
    env: { ...fw.env, VMPRO_SESSION_STORE: store, NEXT_TELEMETRY_DISABLED: '1' },
    readyPath: '/',
    timeoutMs: 60_000,
  });
  return { fw, app };
}

async function signIn(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.click('#sign-in');
  await fillLoginForm(page);
  await page.waitForURL(`${origin}/videos`, { timeout: 20_000 });
}

/** The browser's session cookies as a `Cookie` header (a copy someone could have kept). */
async function sessionCookieHeader(context: BrowserContext, origin: string): Promise<string> {
  const cookies = await context.cookies(origin);
  return cookies
    .filter((c) => /^vmpro(\.\d+)?$/.test(c.name))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

/** Waits (bounded) until the access token shown on /videos has expired. */
async function waitForExpiry(page: Page): Promise<void> {
  const expires = Date.parse((await page.textContent('#access-expires')) ?? '');
  expect(Number.isFinite(expires)).toBe(true);
  const wait = expires - Date.now() + 500;
  expect(wait).toBeLessThan(ACCESS_TOKEN_LIFETIME * 1000 + 1000);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

const refreshes = (fw: FrameworkEmulator) => fw.emulator.counters().login.tokenRequests.refresh_token;

describe.skipIf(!hasChromium)('Next.js App Router with the memory store (next build && next start)', () => {
  let fw: FrameworkEmulator;
  let app: AppProcess;
  let context: BrowserContext;
  let page: Page;
  let keptCookie = '';

  beforeAll(async () => {
    ({ fw, app } = await startApp('memory'));
    context = await (browser as Browser).newContext();
    page = await context.newPage();
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await app?.stop();
    await fw?.close();
  });

  it('the middleware sends a visitor without a session cookie to login, with an absolute URL', async () => {
    const res = await fetch(`${app.origin}/videos`, { redirect: 'manual' });
    expect(res.status).toBe(307);
    // The middleware hands Next an absolute URL (Next refuses relative ones there); Next itself
    // shortens a same-origin Location to its path on the way out.
    const location = res.headers.get('location') ?? '';
    expect(new URL(location, app.origin).href).toBe(`${app.origin}/auth/login?returnTo=%2Fvideos`);
    expect(app.output()).not.toMatch(/absolute URL|URL is malformed/i);
  });

  it(
    'signs in through the login form and shows the name and the VideoManagers on /videos',
    async () => {
      await signIn(page, app.origin);
      expect(await page.textContent('#user')).toBe('Dana Demo');
      expect(await page.textContent('#vms')).toContain('Demo Marketing');
      keptCookie = await sessionCookieHeader(context, app.origin);
      expect(keptCookie).not.toBe('');
    },
    STEP_TIMEOUT,
  );

  it('route handlers see the session the callback created (auth() and route())', async () => {
    const me = await context.request.get(`${app.origin}/api/me`);
    expect(me.status()).toBe(200);
    expect(await me.json()).toMatchObject({ name: 'Dana Demo' });
    const vms = await context.request.get(`${app.origin}/api/vms`, {
      headers: { accept: 'application/json' },
    });
    expect(vms.status()).toBe(200);
    expect(JSON.stringify(await vms.json())).toContain('Demo Marketing');
  });

  it(
    'a server action calls the API as the signed-in user',
    async () => {
      await page.click('#count');
      await page.waitForSelector('#counted', { timeout: 20_000 });
      expect(await page.textContent('#counted')).toMatch(/counted [1-9]\d* VideoManagers/);
    },
    STEP_TIMEOUT,
  );

  it(
    'survives an access-token expiry: the server component refreshes and still renders',
    async () => {
      await page.goto(`${app.origin}/videos`);
      await waitForExpiry(page);
      const before = refreshes(fw);
      const res = await page.reload();
      expect(res?.status()).toBe(200);
      expect(await page.textContent('#vms')).toContain('Demo Marketing');
      expect(refreshes(fw)).toBeGreaterThan(before);
    },
    STEP_TIMEOUT,
  );

  it(
    'signs out; /videos then sends the browser to the login form',
    async () => {
      await page.goto(`${app.origin}/`);
      await page.click('#sign-out');
      await page.waitForURL(`${app.origin}/`, { timeout: 20_000 });
      expect(await page.textContent('h1')).toBe('Welcome');
      await page.goto(`${app.origin}/videos`);
      await page.waitForSelector('#kc-login', { timeout: 20_000 });
      const api = await context.request.get(`${app.origin}/api/vms`, {
        headers: { accept: 'application/json' },
      });
      expect(api.status()).toBe(401);
    },
    STEP_TIMEOUT,
  );

  it('a kept copy of the logged-out cookie is refused by the route handler and the server component', async () => {
    const api = await fetch(`${app.origin}/api/vms`, {
      headers: { cookie: keptCookie, accept: 'application/json' },
    });
    expect(api.status).toBe(401);
    expect((await api.json()) as unknown).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
    const pageRes = await fetch(`${app.origin}/videos`, {
      headers: { cookie: keptCookie, accept: 'text/html' },
      redirect: 'manual',
    });
    expect(pageRes.status).toBe(307);
    expect(pageRes.headers.get('location')).toMatch(
      /^(http:\/\/127\.0\.0\.1:\d+)?\/auth\/login\?returnTo=%2Fvideos$/,
    );
  });
});

describe.skipIf(!hasChromium)('Next.js App Router with the encrypted cookie store', () => {
  let fw: FrameworkEmulator;
  let app: AppProcess;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    ({ fw, app } = await startApp('cookie'));
    context = await (browser as Browser).newContext();
    page = await context.newPage();
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await app?.stop();
    await fw?.close();
  });

  it(
    'signs in and shows the VideoManagers on /videos',
    async () => {
      await signIn(page, app.origin);
      expect(await page.textContent('#user')).toBe('Dana Demo');
      expect(await page.textContent('#vms')).toContain('Demo Marketing');
    },
    STEP_TIMEOUT,
  );

  it(
    'a server component whose tokens expired is refreshed once, through the refresh route, and the new cookie is kept',
    async () => {
      await waitForExpiry(page);
      const cookieBefore = await sessionCookieHeader(context, app.origin);
      const before = refreshes(fw);
      const visited: string[] = [];
      page.on('request', (r) => visited.push(new URL(r.url()).pathname));
      const res = await page.reload();
      expect(res?.status()).toBe(200);
      expect(await page.textContent('#vms')).toContain('Demo Marketing');
      expect(visited).toContain('/auth/refresh');
      expect(refreshes(fw)).toBe(before + 1);
      expect(await sessionCookieHeader(context, app.origin)).not.toBe(cookieBefore);
      // The refreshed tokens live in the new cookie: the next page needs no refresh.
      await page.reload();
      expect(await page.textContent('#vms')).toContain('Demo Marketing');
      expect(refreshes(fw)).toBe(before + 1);
    },
    STEP_TIMEOUT,
  );

  it(
    'a kept copy of the logged-out cookie is refused by the route handler and the server component',
    async () => {
      const kept = await sessionCookieHeader(context, app.origin);
      await page.goto(`${app.origin}/`);
      await page.click('#sign-out');
      await page.waitForURL(`${app.origin}/`, { timeout: 20_000 });
      const api = await fetch(`${app.origin}/api/vms`, {
        headers: { cookie: kept, accept: 'application/json' },
      });
      expect(api.status).toBe(401);
      const me = await fetch(`${app.origin}/api/me`, { headers: { cookie: kept } });
      expect(me.status).toBe(401);
      const pageRes = await fetch(`${app.origin}/videos`, {
        headers: { cookie: kept, accept: 'text/html' },
        redirect: 'manual',
      });
      expect(pageRes.status).toBe(307);
      expect(pageRes.headers.get('location')).toMatch(/\/auth\/login\?returnTo=%2Fvideos$/);
    },
    STEP_TIMEOUT,
  );
});
