/**
 * The Express adapter on Express 5 (the installed one; Express 4 runs as a real app in
 * test/frameworks/express4.test.ts): mounted under a path, and async route handlers whose
 * failures reach `errorHandler()`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmproExpress } from '../../src/adapters/express.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { VmproError } from '../../src/errors.js';
import { createVmproAuth, type VmproAuth } from '../../src/http/index.js';
import { silentLogger } from '../../src/logger.js';
import { signIn, TestBrowser } from '../support/browser.js';

const SECRET = 'express-adapter-test-secret-0123456789';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator?.close();
});

/** An Express app on 127.0.0.1:0; `build` gets the auth configured for its origin. */
async function serve(
  build: (auth: (prefix: string) => VmproAuth) => express.Express,
): Promise<{ origin: string; close(): Promise<void> }> {
  let app: express.Express | undefined;
  const server: Server = createServer((req, res) => (app ? app(req, res) : res.end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const made: VmproAuth[] = [];
  app = build((prefix) => {
    const clientId = `express-${new URL(origin).port}`;
    emulator.addClient({
      clientId,
      clientSecret: `${clientId}-secret`,
      redirectUris: [`${origin}${prefix}/auth/callback`],
      postLogoutRedirectUris: [`${origin}/`],
    });
    const auth = createVmproAuth({
      clientId,
      clientSecret: `${clientId}-secret`,
      apiBase: emulator.apiBase,
      redirectUri: `${origin}${prefix}/auth/callback`,
      routes: {
        login: `${prefix}/auth/login`,
        logout: `${prefix}/auth/logout`,
        backchannelLogout: `${prefix}/auth/backchannel-logout`,
      },
      session: { secrets: SECRET },
      logger: silentLogger,
    });
    made.push(auth);
    return auth;
  });
  return {
    origin,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      for (const auth of made) await auth.close();
    },
  };
}

describe('the Express router mounted under a path', () => {
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    app = await serve((authFor) => {
      const vmpro = vmproExpress(authFor('/portal'));
      const portal = express.Router();
      portal.use(vmpro.router());
      portal.get('/me', vmpro.requireLogin(), async (req, res) => {
        res.json({ name: (await req.vmpro.user())?.name, baseUrl: req.baseUrl });
      });
      portal.use(vmpro.errorHandler());
      const root = express();
      root.use('/portal', portal);
      return root;
    });
  });
  afterAll(() => app?.close());

  it('sends a page request without a session to the login route under the mount, keeping the full path', async () => {
    const r = await new TestBrowser().request(`${app.origin}/portal/me?tab=1`);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/portal/auth/login?returnTo=%2Fportal%2Fme%3Ftab%3D1');
  });

  it('answers /portal/auth/login (the configured full path) with a redirect to the login server', async () => {
    const r = await new TestBrowser().request(`${app.origin}/portal/auth/login`);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')?.startsWith(`${emulator.issuer}/protocol/openid-connect/auth?`)).toBe(
      true,
    );
  });

  it('does not answer the mount-relative path /auth/login, which is not a configured route', async () => {
    const r = await fetch(`${app.origin}/auth/login`, { redirect: 'manual' });
    expect(r.status).toBe(404);
  });

  it('signs in through /portal/auth/callback and back to the protected page under the mount', async () => {
    const browser = new TestBrowser();
    const { finalUrl, response } = await signIn(browser, `${app.origin}/portal`, undefined, '/portal/me');
    expect(finalUrl).toBe(`${app.origin}/portal/me`);
    expect(await response?.json()).toEqual({ name: 'Dana Demo', baseUrl: '/portal' });
  });
});

describe('vmpro.handler() around route handlers', () => {
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    app = await serve((authFor) => {
      const vmpro = vmproExpress(authFor(''));
      const root = express();
      // No router here: handler() sets req.vmpro itself.
      root.get(
        '/async-throw',
        vmpro.handler(async () => {
          await new Promise((r) => setTimeout(r, 1));
          throw new VmproError('VMPRO_UPSTREAM_TIMEOUT', 'The API did not answer in time.');
        }),
      );
      root.get(
        '/sync-throw',
        vmpro.handler(() => {
          throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in.');
        }),
      );
      root.get(
        '/context',
        vmpro.handler(async (req, res) => {
          res.json({ hasContext: typeof req.vmpro.session === 'function', user: await req.vmpro.user() });
        }),
      );
      root.use(vmpro.errorHandler());
      return root;
    });
  });
  afterAll(() => app?.close());

  it('hands a rejection of an async handler to errorHandler(), which answers with the mapped status', async () => {
    const r = await fetch(`${app.origin}/async-throw`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(504);
    expect(await r.json()).toEqual({
      error: 'VMPRO_UPSTREAM_TIMEOUT',
      message: 'The API did not answer in time.',
    });
  });

  it('hands a synchronous throw to errorHandler() too', async () => {
    const r = await fetch(`${app.origin}/sync-throw`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
  });

  it('sets req.vmpro for the handler even where the router is not mounted', async () => {
    const r = await fetch(`${app.origin}/context`);
    expect(await r.json()).toEqual({ hasContext: true, user: null });
  });

  it('refuses something that is not a function at start-up', () => {
    const vmpro = vmproExpress(
      createVmproAuth({
        clientId: 'x',
        redirectUri: 'http://127.0.0.1:1/auth/callback',
        session: { secrets: SECRET },
      }),
    );
    expect(() => vmpro.handler(undefined as unknown as () => void)).toThrow(/fn must be a function/);
  });
});
