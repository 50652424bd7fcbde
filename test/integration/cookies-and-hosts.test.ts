import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createVmproAuth } from '../../src/http/index.js';
import { startApp, TEST_SECRET, type TestApp } from '../support/apps.js';
import { signIn, TestBrowser } from '../support/browser.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator?.close();
});

describe('on https', () => {
  it('marks the transaction cookie Secure with the __Host- prefix', async () => {
    const auth = createVmproAuth({
      clientId: 'vmpro-demo',
      clientSecret: 'vmpro-demo-secret',
      apiBase: emulator.apiBase,
      redirectUri: 'https://portal.example.com/auth/callback',
      session: { secrets: [TEST_SECRET] },
    });
    const r = await auth.login(new Request('https://portal.example.com/auth/login?returnTo=/videos'));
    expect(r.status).toBe(303);
    const [cookie] = r.headers.getSetCookie();
    expect(cookie).toMatch(/^__Host-vmpro-tx-[\w-]+=/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/);
    expect(auth.sessions.cookieName).toBe('__Host-vmpro');
    await auth.close();
  });
});

describe.each(['express', 'fastify', 'web', 'web-fetch'] as const)(
  'the %s adapter and forged host headers',
  (kind) => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startApp(kind, emulator);
    });
    afterAll(async () => {
      await app?.close();
    });

    it('sends the configured redirect URI whatever Host and X-Forwarded-* say', async () => {
      const r = await fetch(`${app.origin}/auth/login`, {
        redirect: 'manual',
        headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      });
      expect(r.status).toBe(303);
      const location = new URL(r.headers.get('location') ?? '');
      expect(location.searchParams.get('redirect_uri')).toBe(`${app.origin}/auth/callback`);
    });

    it('gives route handlers an authenticated fetch that only reaches the API origin', async () => {
      const browser = new TestBrowser();
      await signIn(browser, app.origin);
      const request = new Request(`${app.origin}/anything`, {
        headers: { cookie: browser.cookieHeader(app.origin) },
      });
      const ctx = app.auth.context(request, () => {});
      const r = await ctx.fetch('/v1/vms');
      expect(r.status).toBe(200);
      expect(((await r.json()) as unknown[]).length).toBe(2);
      await expect(ctx.fetch('//evil.example/v1/vms')).rejects.toMatchObject({
        code: 'VMPRO_CONFIG_INVALID',
      });
      await expect(ctx.fetch('https://evil.example/v1/vms')).rejects.toMatchObject({
        code: 'VMPRO_CONFIG_INVALID',
      });
    });
  },
);
