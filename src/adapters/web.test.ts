import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { VmproError } from '../errors.js';
import { createVmproAuth } from '../http/index.js';
import { cookieStore } from '../session/index.js';
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

describe('web adapter: honoHandler', () => {
  const vmpro = vmproWeb(auth);
  const app = new Hono();
  app.get(
    '/sync',
    vmpro.honoHandler(() => new Response('sync')),
  );
  app.get(
    '/async',
    vmpro.honoHandler(async (_c, ctx) => Response.json({ session: await ctx.session() })),
  );
  app.get(
    '/throws',
    vmpro.honoHandler(() => {
      throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in.');
    }),
  );
  app.get(
    '/rejects',
    vmpro.honoHandler(async () => {
      throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in.');
    }),
  );

  it('answers a synchronous handler synchronously', () => {
    const answer = app.fetch(new Request('http://127.0.0.1:3000/sync'));
    expect(answer).toBeInstanceOf(Response);
    expect((answer as Response).status).toBe(200);
  });

  it('waits for an async handler and gives it the vmpro context', async () => {
    const r = await app.fetch(new Request('http://127.0.0.1:3000/async'));
    expect(await r.json()).toEqual({ session: null });
  });

  it('turns thrown and rejected vmpro errors into their status and message', async () => {
    for (const path of ['/throws', '/rejects']) {
      const r = await app.fetch(
        new Request(`http://127.0.0.1:3000${path}`, {
          headers: { accept: 'application/json' },
        }),
      );
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
    }
  });
});

describe('context: cachedSession', () => {
  const vmpro = vmproWeb(auth);
  const app = new Hono();
  app.get(
    '/cached',
    vmpro.honoHandler((_c, ctx) => Response.json({ sub: ctx.cachedSession()?.user.sub ?? null })),
  );
  app.get(
    '/same',
    vmpro.honoHandler(async (_c, ctx) => {
      const cached = ctx.cachedSession();
      const loaded = await ctx.session();
      return Response.json({ same: cached !== undefined && cached === loaded });
    }),
  );

  /** A logged-in session in the auth's memory store; returns its Cookie header. */
  async function login(target = auth): Promise<string> {
    const jar = new TestJar();
    await target.sessions.create(jar, { tokens: makeTokens(Date.now()), user: { sub: 'user-1' }, sid: 's1' });
    return jar.setCalls.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  it('answers synchronously with the session the memory store holds, and session() agrees', async () => {
    const cookie = await login();
    const answer = app.fetch(new Request('http://127.0.0.1:3000/cached', { headers: { cookie } }));
    expect(answer).toBeInstanceOf(Response);
    expect(await (answer as Response).json()).toEqual({ sub: 'user-1' });
    const same = await app.fetch(new Request('http://127.0.0.1:3000/same', { headers: { cookie } }));
    expect(await same.json()).toEqual({ same: true });
  });

  it('is undefined without a session, and with the cookie store (which always needs to decrypt)', async () => {
    expect(await (await app.fetch(new Request('http://127.0.0.1:3000/cached'))).json()).toEqual({
      sub: null,
    });
    const unknown = await app.fetch(
      new Request('http://127.0.0.1:3000/cached', { headers: { cookie: `vmpro=${'A'.repeat(43)}` } }),
    );
    expect(await unknown.json()).toEqual({ sub: null });

    const cookieAuth = createVmproAuth({
      issuer: 'http://127.0.0.1:9/auth/realms/platform',
      clientId: 'app',
      clientSecret: 'app-secret',
      redirectUri: 'http://127.0.0.1:3000/auth/callback',
      session: { secrets: ['web-adapter-test-secret-0123456789abcdef'], store: cookieStore() },
    });
    try {
      const cookieApp = new Hono();
      const web = vmproWeb(cookieAuth);
      cookieApp.get(
        '/both',
        web.honoHandler(async (_c, ctx) =>
          Response.json({
            cached: ctx.cachedSession() ?? null,
            sub: (await ctx.session())?.user.sub ?? null,
          }),
        ),
      );
      const cookie = await login(cookieAuth);
      const r = await cookieApp.fetch(new Request('http://127.0.0.1:3000/both', { headers: { cookie } }));
      expect(await r.json()).toEqual({ cached: null, sub: 'user-1' });
    } finally {
      await cookieAuth.close();
    }
  });
});
