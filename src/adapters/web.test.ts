import { Hono } from 'hono';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { VmproError } from '../errors.js';
import { createVmproAuth, type VmproContext } from '../http/index.js';
import { makeTokens, TestJar } from '../session/test-support.js';
import { vmproWeb } from './web.js';

const auth = createVmproAuth({
  issuer: 'http://127.0.0.1:9/auth/realms/platform',
  clientId: 'app',
  clientSecret: 'app-secret',
  redirectUri: 'http://127.0.0.1:3000/auth/callback',
  session: { secrets: ['web-adapter-test-secret-0123456789abcdef'] },
});
afterAll(() => auth.close());

/** A logged-in session in the auth's memory store; returns its Cookie header. */
async function login(): Promise<string> {
  const jar = new TestJar();
  await auth.sessions.create(jar, { tokens: makeTokens(Date.now()), user: { sub: 'user-1' }, sid: 's1' });
  return jar.setCalls.map((c) => `${c.name}=${c.value}`).join('; ');
}

describe('web adapter: Hono middleware', () => {
  const vmpro = vmproWeb(auth);
  const app = new Hono<{ Variables: { vmpro: VmproContext } }>();
  app.use(vmpro.hono());
  app.onError(vmpro.honoErrorHandler());
  app.get('/who', async (c) => c.json({ sub: (await c.get('vmpro').user())?.sub ?? null }));
  app.get('/me', vmpro.honoRequireLogin(), async (c) => c.json((await c.get('vmpro').requireSession()).user));
  app.get('/throws', () => {
    throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in.');
  });

  it('gives every route the vmpro context, with or without a session', async () => {
    const cookie = await login();
    const signedIn = await app.fetch(new Request('http://127.0.0.1:3000/who', { headers: { cookie } }));
    expect(await signedIn.json()).toEqual({ sub: 'user-1' });
    const anonymous = await app.fetch(new Request('http://127.0.0.1:3000/who'));
    expect(await anonymous.json()).toEqual({ sub: null });
  });

  it('guards a route: 401 JSON for API calls, a redirect to login for pages', async () => {
    const api = await app.fetch(
      new Request('http://127.0.0.1:3000/me', { headers: { accept: 'application/json' } }),
    );
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
    const page = await app.fetch(
      new Request('http://127.0.0.1:3000/me?x=1', { headers: { accept: 'text/html' } }),
    );
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/auth/login?returnTo=%2Fme%3Fx%3D1');
    const cookie = await login();
    const ok = await app.fetch(new Request('http://127.0.0.1:3000/me', { headers: { cookie } }));
    expect(await ok.json()).toMatchObject({ sub: 'user-1' });
  });

  it('turns a vmpro error thrown in a route into its status and message', async () => {
    const r = await app.fetch(
      new Request('http://127.0.0.1:3000/throws', { headers: { accept: 'application/json' } }),
    );
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED', message: 'Not signed in.' });
  });

  it('puts the cookie changes of a request on its response (a stale cookie is cleared)', async () => {
    const r = await app.fetch(
      new Request('http://127.0.0.1:3000/who', { headers: { cookie: `vmpro=${'A'.repeat(43)}` } }),
    );
    expect(await r.json()).toEqual({ sub: null });
    expect(r.headers.getSetCookie().join('\n')).toMatch(/^vmpro=; .*Max-Age=0/m);
    expect(r.headers.get('cache-control')).toBe('no-store');
  });
});

describe('web adapter: fetch-style handlers', () => {
  const vmpro = vmproWeb(auth);
  const handler = vmpro.requireLogin(async (_request, ctx) =>
    Response.json((await ctx.requireSession()).user),
  );

  it('calls the handler with a session, answers 401 without', async () => {
    const none = await handler(
      new Request('http://127.0.0.1:3000/x', { headers: { accept: 'application/json' } }),
    );
    expect(none.status).toBe(401);
    const cookie = await login();
    const ok = await handler(new Request('http://127.0.0.1:3000/x', { headers: { cookie } }));
    expect(await ok.json()).toMatchObject({ sub: 'user-1' });
  });
});

describe('unexpected errors without a logger', () => {
  it('answer a generic 500 and write the error with its message and stack to standard error', async () => {
    const vmpro = vmproWeb(auth);
    const handler = vmpro.withVmpro(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'id')");
    });
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const r = await handler(
        new Request('http://127.0.0.1:3000/videos', { headers: { accept: 'application/json' } }),
      );
      expect(r.status).toBe(500);
      expect(await r.json()).toMatchObject({ error: 'VMPRO_INTERNAL' });
    } finally {
      spy.mockRestore();
    }
    const text = written.join('');
    expect(text).toContain('vmpro-connect: request failed');
    expect(text).toContain("Cannot read properties of undefined (reading 'id')");
    expect(text).toMatch(/at .*web\.test\.ts/);
  });
});
