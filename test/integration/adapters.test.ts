import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { type AdapterKind, startApp, type TestApp } from '../support/apps.js';
import { signIn, TestBrowser } from '../support/browser.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator?.close();
});

describe.each<AdapterKind>(['express', 'fastify', 'web', 'web-fetch'])(
  'the %s adapter, through a whole login against the emulator',
  (kind) => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startApp(kind, emulator);
    });
    afterAll(async () => {
      await app?.close();
    });

    it('sends a page request without a session to login, keeping the path', async () => {
      const browser = new TestBrowser();
      const r = await browser.request(`${app.origin}/me?x=1`);
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe('/auth/login?returnTo=%2Fme%3Fx%3D1');
    });

    it('answers an API request without a session with 401 JSON', async () => {
      const r = await fetch(`${app.origin}/api/vms`, { headers: { accept: 'application/json' } });
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
    });

    it('logs in, shows the user, calls the API, and logs out', async () => {
      const browser = new TestBrowser();
      const { finalUrl, response } = await signIn(
        browser,
        app.origin,
        { username: 'demo', password: 'demo' },
        '/me',
      );
      expect(finalUrl).toBe(`${app.origin}/me`);
      expect(response?.status).toBe(200);
      expect(await response?.json()).toMatchObject({ name: 'Dana Demo' });

      const callbackHop = browser.hops.find((h) => h.url.startsWith(`${app.origin}/auth/callback`));
      expect(callbackHop?.status).toBe(303);

      const vms = await browser.request(`${app.origin}/api/vms`, { headers: { accept: 'application/json' } });
      expect(vms.status).toBe(200);
      const list = (await vms.json()) as Array<{ id: number; name: string }>;
      expect(list.map((v) => v.name).sort()).toEqual(['Demo Marketing', 'Demo Training']);

      const out = await browser.postForm(`${app.origin}/auth/logout`, {}, `${app.origin}/`);
      expect(out.status).toBe(303);
      const endSession = new URL(out.headers.get('location') ?? '');
      expect(endSession.href.startsWith(`${emulator.issuer}/protocol/openid-connect/logout`)).toBe(true);
      expect(endSession.searchParams.get('id_token_hint')).toBeTruthy();
      expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${app.origin}/`);

      const after = await browser.request(`${app.origin}/api/vms`, {
        headers: { accept: 'application/json' },
      });
      expect(after.status).toBe(401);
    });

    it('clears an unknown session cookie on the protected route’s own response', async () => {
      const unknown = 'A'.repeat(43);
      const r = await fetch(`${app.origin}/me`, {
        headers: { accept: 'application/json', cookie: `vmpro=${unknown}` },
      });
      expect(r.status).toBe(401);
      const cleared = r.headers.getSetCookie().find((c) => c.startsWith('vmpro='));
      expect(cleared).toMatch(/^vmpro=; Path=\/; Max-Age=0/);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(JSON.stringify(r.headers.getSetCookie())).not.toContain(unknown);
    });

    it('refuses a cross-site logout with 403 and keeps the session', async () => {
      const browser = new TestBrowser();
      await signIn(browser, app.origin);
      const r = await browser.postForm(`${app.origin}/auth/logout`, {}, 'https://evil.example/');
      expect(r.status).toBe(403);
      const me = await browser.request(`${app.origin}/me`, { headers: { accept: 'application/json' } });
      expect(me.status).toBe(200);
    });
  },
);
