/**
 * Every login redeems its code once, under any race. The same callback (same transaction cookie,
 * same `?code=&state=`) sent many times at once — a double click, a prefetch, a retried
 * navigation, a copy — reaches the token endpoint exactly once and makes exactly one session, on
 * one instance and split over two instances sharing Redis. And 50 tabs of one user signing in at
 * once each get their own session, back on their own page.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import type { VmproAuthOptions } from '../../src/http/index.js';
import { cookieStore, memoryStore, redisLogoutList, redisStore } from '../../src/session/index.js';
import { flakyStore } from '../../src/session/test-support.js';
import { startApp, TEST_SECRET, type TestApp } from '../support/apps.js';
import { parseLoginForm, TestBrowser } from '../support/browser.js';

const SESSION_COOKIE = 'vmpro';

let emulator: RunningEmulator;
const apps: TestApp[] = [];
const clients: Redis[] = [];

beforeEach(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const c of clients.splice(0)) c.disconnect();
  await emulator.close();
});

const codeExchanges = () => emulator.counters().login.tokenRequests.authorization_code ?? 0;

/**
 * Starts a login at `origin` and signs in at the emulator, stopping at the redirect back to the
 * app: returns the callback URL (with code and state) and the browser holding the transaction
 * cookie, neither used yet.
 */
async function pendingCallback(
  origin: string,
  returnTo = '/me',
  browser = new TestBrowser(),
): Promise<{ browser: TestBrowser; callbackUrl: string }> {
  const toLoginPage = await browser.follow(
    `${origin}/auth/login?returnTo=${encodeURIComponent(returnTo)}`,
    {},
    (url) => url.startsWith(`${origin}/auth/callback`),
  );
  // Signed in at the login server already (another tab did): it sends the browser straight back.
  if (toLoginPage.response === null) return { browser, callbackUrl: toLoginPage.url };
  if (toLoginPage.response.status !== 200) throw new Error(`no login page at ${toLoginPage.url}`);
  const { action, hidden } = parseLoginForm(await toLoginPage.response.text(), toLoginPage.url);
  const posted = await browser.postForm(action, { ...hidden, username: 'demo', password: 'demo' });
  const location = posted.headers.get('location');
  if (!location) throw new Error(`the login form answered ${posted.status} without a redirect`);
  return { browser, callbackUrl: new URL(location, action).href };
}

interface Answer {
  status: number;
  location: string | null;
  /** The session cookie's value when the answer sets one. */
  session: string | null;
}

/** Sends `url` with exactly `cookie`, once, as a browser navigation would. */
async function send(url: string, cookie: string): Promise<Answer> {
  const response = await fetch(url, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
  await response.body?.cancel();
  let session: string | null = null;
  for (const line of response.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if ((name === SESSION_COOKIE || name.startsWith(`${SESSION_COOKIE}.`)) && value !== '') {
      session = session === null ? `${name}=${value}` : `${session}; ${name}=${value}`;
    }
  }
  return { status: response.status, location: response.headers.get('location'), session };
}

function histogram(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

/**
 * Fires `copies` identical callbacks at once, spread over `origins` (the transaction cookie was
 * set by the first), and checks the outcome: one code exchange, one session that works.
 */
async function race(origins: string[], copies: number, label: string): Promise<void> {
  const [first] = origins as [string, ...string[]];
  const { browser, callbackUrl } = await pendingCallback(first);
  const cookie = browser.cookieHeader(first);
  const { pathname, search } = new URL(callbackUrl);
  const before = codeExchanges();
  const answers = await Promise.all(
    Array.from({ length: copies }, (_, i) =>
      send(`${origins[i % origins.length]}${pathname}${search}`, cookie),
    ),
  );
  const exchanges = codeExchanges() - before;
  const sessions = answers.filter((a) => a.session !== null);
  console.log(
    `[callback-race] ${label}: ${copies} identical callbacks → code exchanges ${exchanges}, sessions ${sessions.length}, statuses ${JSON.stringify(histogram(answers))}`,
  );
  expect(exchanges).toBe(1);
  expect(sessions).toHaveLength(1);
  expect(answers.every((a) => a.status < 500)).toBe(true);
  // The winner goes on to returnTo; every loser gets the replay page.
  expect(sessions[0]).toMatchObject({ status: 303, location: '/me' });
  expect(answers.filter((a) => a.status === 400)).toHaveLength(copies - 1);
  // The one session works, on every instance.
  for (const origin of origins) {
    const me = await fetch(`${origin}/me`, {
      headers: { cookie: sessions[0]!.session!, accept: 'application/json' },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { sub: string }).sub).toBeTruthy();
  }
}

function redisClient(): Redis {
  const client = new Redis(process.env.REDIS_URL as string);
  clients.push(client);
  return client;
}

/** Two instances of one app (one client id, one secret) sharing `session` options. */
async function twoInstances(session: () => Partial<VmproAuthOptions['session']>): Promise<string[]> {
  const clientId = `race-app-${process.pid}-${Date.now()}`;
  // Named instances: two servers of one app in one process, by the explicit opt-in.
  const a = await startApp(
    'web',
    emulator,
    { instance: 'a', session: { secrets: [TEST_SECRET], ...session() } },
    clientId,
  );
  const b = await startApp(
    'web',
    emulator,
    { instance: 'b', session: { secrets: [TEST_SECRET], ...session() } },
    clientId,
  );
  apps.push(a, b);
  return [a.origin, b.origin];
}

describe('the same callback sent many times at once', () => {
  for (const copies of [2, 10, 50]) {
    it(`redeems the code once and makes one session: ${copies} copies on one instance`, async () => {
      const app = await startApp('web', emulator);
      apps.push(app);
      await race([app.origin], copies, `memory store, one instance`);
    });
  }

  it('redeems the code once with the cookie store on one instance', async () => {
    const app = await startApp('web', emulator, {
      session: { secrets: [TEST_SECRET], store: cookieStore() },
    });
    apps.push(app);
    await race([app.origin], 10, 'cookie store, one instance');
  });

  it('answers a late copy that carries the new session cookie with a redirect to returnTo', async () => {
    const app = await startApp('web', emulator);
    apps.push(app);
    const { browser, callbackUrl } = await pendingCallback(app.origin, '/videos?page=2');
    const txCookie = browser.cookieHeader(app.origin);
    const first = await send(callbackUrl, txCookie);
    expect(first).toMatchObject({ status: 303, location: '/videos?page=2' });
    // A retried navigation: the browser still had the transaction cookie, and now the session too.
    const again = await send(callbackUrl, `${txCookie}; ${first.session}`);
    expect(again).toEqual({ status: 303, location: '/videos?page=2', session: null });
    expect(codeExchanges()).toBe(1);
    // Without the session cookie, the same copy is the replay page.
    expect((await send(callbackUrl, txCookie)).status).toBe(400);
  });

  it('answers 503 when the store cannot tell, keeps the transaction, and a reload then signs in', async () => {
    const store = flakyStore(memoryStore());
    const app = await startApp('web', emulator, { session: { secrets: [TEST_SECRET], store } });
    apps.push(app);
    const { browser, callbackUrl } = await pendingCallback(app.origin);
    store.failOn.add('claim');
    const during = await browser.request(callbackUrl);
    expect(during.status).toBe(503);
    expect(codeExchanges()).toBe(0);
    store.failOn.delete('claim');
    // The browser still holds the transaction cookie: the reload completes the sign-in.
    const reload = await send(callbackUrl, browser.cookieHeader(app.origin));
    expect(reload).toMatchObject({ status: 303, location: '/me' });
    expect(reload.session).not.toBeNull();
    expect(codeExchanges()).toBe(1);
  });

  describe.skipIf(!process.env.REDIS_URL)('split over two instances sharing Redis (needs REDIS_URL)', () => {
    for (const copies of [2, 10, 50]) {
      it(`redeems the code once: ${copies} copies, Redis store`, async () => {
        const prefix = `vmpro-test:race:${process.pid}:${Date.now()}:`;
        const origins = await twoInstances(() => ({ store: redisStore({ client: redisClient(), prefix }) }));
        await race(origins, copies, 'Redis store, two instances');
      });
    }

    it('redeems the code once: 50 copies, cookie store with the Redis logout list', async () => {
      const prefix = `vmpro-test:race:${process.pid}:${Date.now()}:`;
      const origins = await twoInstances(() => ({
        store: cookieStore({ logouts: redisLogoutList({ client: redisClient(), prefix }) }),
      }));
      await race(origins, 50, 'cookie store + redisLogoutList, two instances');
    });
  });
});

describe('50 tabs of one user signing in at once', () => {
  it('gives each tab its own session or a clean failure, never a mix-up, and a retry signs in', async () => {
    const app = await startApp('web', emulator);
    apps.push(app);
    const TABS = 50;
    // One browser: the tabs share its cookies.
    const browser = new TestBrowser();
    const pending = await Promise.all(
      Array.from({ length: TABS }, (_, i) => pendingCallback(app.origin, `/tab/${i}`, browser)),
    );
    const cookie = browser.cookieHeader(app.origin);
    const before = codeExchanges();
    const answers = await Promise.all(pending.map((p) => send(p.callbackUrl, cookie)));
    const sessions = answers.map((a) => a.session).filter((s): s is string => s !== null);
    console.log(
      `[callback-race] ${TABS} tabs at once: cookie header ${cookie.length} bytes, code exchanges ${codeExchanges() - before}, sessions ${sessions.length}, statuses ${JSON.stringify(histogram(answers))}`,
    );
    // The browser's pending sign-ins stay within a few cookies (50 would be about 30 KB: 431).
    expect(cookie.length).toBeLessThan(4 * 700);
    answers.forEach((answer, i) => {
      if (answer.status === 303) {
        // Each tab lands on its own page, with its own session.
        expect(answer.location).toBe(`/tab/${i}`);
        expect(answer.session).not.toBeNull();
      } else {
        // A sign-in whose slot a newer tab took: the clean "start again" page.
        expect(answer.status).toBe(400);
        expect(answer.session).toBeNull();
      }
    });
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    expect(new Set(sessions).size).toBe(sessions.length);
    expect(codeExchanges() - before).toBe(sessions.length);
    for (const session of sessions) {
      const me = await fetch(`${app.origin}/me`, {
        headers: { cookie: session, accept: 'application/json' },
      });
      expect(me.status).toBe(200);
    }
    // Each failed tab's "start again" signs in (one after another, as a person clicks).
    const failed = answers.flatMap((a, i) => (a.status === 400 ? [i] : []));
    let retried = 0;
    for (const i of failed.slice(0, 10)) {
      const again = await pendingCallback(app.origin, `/tab/${i}`, browser);
      const answer = await send(again.callbackUrl, browser.cookieHeader(app.origin));
      expect(answer).toMatchObject({ status: 303, location: `/tab/${i}` });
      retried++;
    }
    console.log(`[callback-race] ${retried} failed tabs started again: all signed in`);
  });
});
