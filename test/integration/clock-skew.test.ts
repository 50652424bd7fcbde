/**
 * A login server whose clock is off, over real sockets (issue #10): real servers drift, and up to
 * the default 60 s of clock tolerance (Spring Security's) a sign-in must still work; 5 minutes
 * are refused with a 4xx page that names the typed error code, never a 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { type AdapterKind, startApp, type TestApp } from '../support/apps.js';
import { signIn, TestBrowser } from '../support/browser.js';

const ADAPTERS: AdapterKind[] = ['web', 'express'];

/** An emulator whose clock runs `seconds` ahead of this machine's, with one app per adapter. */
function aheadBy(seconds: number) {
  const setup = { emulator: null as unknown as RunningEmulator, apps: new Map<AdapterKind, TestApp>() };
  beforeAll(async () => {
    setup.emulator = await startEmulator({ port: 0 });
    setup.emulator.advanceClock(seconds);
    for (const kind of ADAPTERS) setup.apps.set(kind, await startApp(kind, setup.emulator));
  });
  afterAll(async () => {
    for (const app of setup.apps.values()) await app.close();
    await setup.emulator?.close();
  });
  return setup;
}

describe('a login server whose clock runs 45 s ahead', () => {
  const setup = aheadBy(45);

  it('sends Date headers from its own clock (what `vmpro doctor` measures)', async () => {
    const res = await fetch(`${setup.emulator.issuer}/.well-known/openid-configuration`);
    const skew = Date.parse(res.headers.get('date') ?? '') - Date.now();
    expect(skew).toBeGreaterThan(43_000);
    expect(skew).toBeLessThan(47_000);
  });

  it.each(ADAPTERS)('signs the user in (%s)', async (kind) => {
    const app = setup.apps.get(kind)!;
    const browser = new TestBrowser();
    const { finalUrl, response } = await signIn(browser, app.origin);
    expect(finalUrl).toBe(`${app.origin}/me`);
    expect(response?.status).toBe(200);
    expect(await response?.json()).toMatchObject({ name: expect.any(String) });
  });
});

describe('a login server whose clock runs 5 minutes ahead', () => {
  const setup = aheadBy(300);

  it.each(ADAPTERS)(
    'refuses the sign-in with a 400 page naming the clocks and the error code (%s)',
    async (kind) => {
      const app = setup.apps.get(kind)!;
      const browser = new TestBrowser();
      const { finalUrl, response } = await signIn(browser, app.origin);
      expect(new URL(finalUrl).pathname).toBe('/auth/callback');
      expect(response?.status).toBe(400);
      expect(response?.headers.get('content-type')).toContain('text/html');
      const page = (await response?.text()) ?? '';
      expect(page).toContain('Sign-in did not work');
      expect(page).toContain('VMPRO_ID_TOKEN_INVALID');
      expect(page).toMatch(/issued \d+ s in the future, beyond the 60 s clock tolerance/);
      expect(browser.cookie(app.origin, app.auth.sessions.cookieName)).toBeUndefined();
    },
  );
});
