/**
 * The Koa adapter on Koa 3 (the installed one; Koa 2 and 3 also run as real apps in
 * test/frameworks/koa.test.ts) against the emulator over real sockets.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmproKoa } from '../../src/adapters/koa.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { VmproError } from '../../src/errors.js';
import { createVmproAuth, type VmproAuth } from '../../src/http/index.js';
import { silentLogger } from '../../src/logger.js';
import { signIn, TestBrowser } from '../support/browser.js';

const SECRET = 'koa-adapter-test-secret-0123456789-abc';

let emulator: RunningEmulator;
let server: Server;
let origin: string;
let auth: VmproAuth;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
  let handler: ReturnType<Koa['callback']> | undefined;
  server = createServer((req, res) => (handler ? handler(req, res) : res.end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  emulator.addClient({
    clientId: 'koa-app',
    clientSecret: 'koa-app-secret',
    redirectUris: [`${origin}/auth/callback`],
    postLogoutRedirectUris: [`${origin}/`],
  });
  auth = createVmproAuth({
    clientId: 'koa-app',
    clientSecret: 'koa-app-secret',
    apiBase: emulator.apiBase,
    redirectUri: `${origin}/auth/callback`,
    session: { secrets: SECRET },
    logger: silentLogger,
  });
  const vmpro = vmproKoa(auth);
  const app = new Koa();
  app.silent = true;
  app.use(vmpro.errorHandler());
  app.use(vmpro.middleware());
  app.use(async (ctx, next) => {
    if (ctx.path === '/open') ctx.body = { user: await ctx.vmpro.user() };
    else if (ctx.path === '/not-here') ctx.throw(404, 'No such page.');
    else await next();
  });
  const admins = vmpro.requireLogin({ role: 'portal-admin' });
  app.use(async (ctx, next) =>
    ctx.path === '/admin'
      ? admins(ctx, async () => {
          ctx.body = 'admin';
        })
      : next(),
  );
  app.use(vmpro.requireLogin());
  app.use(async (ctx) => {
    if (ctx.path === '/me') {
      const user = await ctx.vmpro.user();
      ctx.body = { name: user?.name };
    } else if (ctx.path === '/api/vms') {
      ctx.body = (await ctx.vmpro.api.vms.list()).map((v) => v.name);
    } else if (ctx.path === '/upstream-down') {
      throw new VmproError('VMPRO_UPSTREAM_UNAVAILABLE', 'The API is down.', { retryAfter: 7 });
    } else if (ctx.path === '/missing-video') {
      const [vm] = await ctx.vmpro.api.vms.list();
      ctx.body = await ctx.vmpro.api.videos.get(vm?.id ?? 0, 'no-such-video');
    }
  });
  handler = app.callback();
});

afterAll(async () => {
  await new Promise<void>((r) => {
    server?.close(() => r());
    server?.closeAllConnections();
  });
  await auth?.close();
  await emulator?.close();
});

describe('the Koa adapter', () => {
  it('answers /auth/login with a 303 to the login server (not the 204 Koa makes of an empty body)', async () => {
    const r = await fetch(`${origin}/auth/login`, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')?.startsWith(`${emulator.issuer}/protocol/openid-connect/auth?`)).toBe(
      true,
    );
    expect(r.headers.get('content-type')).toBeNull();
  });

  it('sends a page request without a session to login, keeping the path', async () => {
    const r = await new TestBrowser().request(`${origin}/me?x=1`);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/auth/login?returnTo=%2Fme%3Fx%3D1');
  });

  it('answers an API call without a session with 401 JSON', async () => {
    const r = await fetch(`${origin}/api/vms`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
  });

  it('sets ctx.vmpro before requireLogin, for routes open to everyone', async () => {
    const r = await fetch(`${origin}/open`);
    expect(await r.json()).toEqual({ user: null });
  });

  it('signs in, shows the user, calls the API, and signs out', async () => {
    const browser = new TestBrowser();
    const { finalUrl, response } = await signIn(browser, origin, undefined, '/me');
    expect(finalUrl).toBe(`${origin}/me`);
    expect(await response?.json()).toEqual({ name: 'Dana Demo' });
    const vms = await browser.request(`${origin}/api/vms`, { headers: { accept: 'application/json' } });
    expect(await vms.json()).toEqual(['Demo Marketing', 'Demo Training']);

    const out = await browser.postForm(`${origin}/auth/logout`, {}, `${origin}/`);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')?.startsWith(`${emulator.issuer}/protocol/openid-connect/logout`)).toBe(
      true,
    );
    const after = await browser.request(`${origin}/api/vms`, { headers: { accept: 'application/json' } });
    expect(after.status).toBe(401);
  });

  it('maps a VmproError thrown by a route to its status, message and Retry-After', async () => {
    const browser = new TestBrowser();
    await signIn(browser, origin, undefined, '/me');
    const r = await browser.request(`${origin}/upstream-down`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(await r.json()).toEqual({ error: 'VMPRO_UPSTREAM_UNAVAILABLE', message: 'The API is down.' });
  });

  it("passes the API's own 404 through as a 404", async () => {
    const browser = new TestBrowser();
    await signIn(browser, origin, undefined, '/me');
    const r = await browser.request(`${origin}/missing-video`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_API_ERROR' });
  });

  it('answers 403 to a signed-in user without the role requireLogin(rule) asks for', async () => {
    const browser = new TestBrowser();
    await signIn(browser, origin, undefined, '/me');
    const r = await browser.request(`${origin}/admin`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_FORBIDDEN' });
  });

  it("leaves other errors to Koa (ctx.throw(404) stays Koa's 404)", async () => {
    const r = await fetch(`${origin}/not-here`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('No such page.');
  });
});
