/**
 * vmpro-connect behind the adapter named by `BENCH_ADAPTER` — `fastify` (Fastify 5) or `hono`
 * (Hono on @hono/node-server, the `web` adapter) — with the memory store, in the shape of
 * bench/servers/express.ts (which is the Express adapter's app):
 *
 * - `GET /me`: the adapter's guard, then `{ sub, name }` of the session's user as JSON;
 * - `GET /me-json`: the same JSON (what `/me` answered after the login) through the same
 *   middleware, without the guard or any session read;
 * - `GET /healthz`: `ok`.
 *
 * Registers its client at the emulator (`BENCH_EMULATOR_URL`, in another process), logs in once
 * as demo/demo like a browser, checks `/me` answers 200, and prints `{"ready":true,"url","cookie"}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { vmproFastify } from '../../src/adapters/fastify.js';
import { vmproWeb } from '../../src/adapters/web.js';
import { createVmproAuth, type VmproContext } from '../../src/http/index.js';
import { memoryStore } from '../../src/session/index.js';
import { BENCH_SECRET } from '../lib/harness.js';
import {
  announceReady,
  assertAuthenticated,
  browserLogin,
  registerClient,
  required,
  runChild,
} from './child.js';

runChild(async () => {
  const adapter = required('BENCH_ADAPTER');
  if (adapter !== 'fastify' && adapter !== 'hono')
    throw new Error(`BENCH_ADAPTER must be fastify or hono (got ${adapter})`);
  const emulatorUrl = required('BENCH_EMULATOR_URL');

  // Listen first: the port is part of the callback URL registered at the emulator.
  let listener: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = `bench-${adapter}`;
  const clientSecret = `${clientId}-secret-0123456789`;
  await registerClient(emulatorUrl, {
    clientId,
    clientSecret,
    redirectUris: [`${origin}/auth/callback`],
    postLogoutRedirectUris: [`${origin}/`],
  });
  const auth = createVmproAuth({
    clientId,
    clientSecret,
    issuer: `${emulatorUrl}/auth/realms/platform`,
    apiBase: emulatorUrl,
    redirectUri: `${origin}/auth/callback`,
    session: { secrets: [BENCH_SECRET], store: memoryStore() },
  });
  // What /me answered after the login: /me-json sends the same JSON with no session read.
  let meAnswer: unknown = null;
  let closeApp = async () => {};

  if (adapter === 'fastify') {
    const vmpro = vmproFastify(auth);
    const app = Fastify({
      serverFactory: (handler) => {
        listener = handler;
        return server;
      },
    });
    app.get('/healthz', async () => 'ok');
    await app.register(vmpro.plugin);
    app.setErrorHandler(vmpro.errorHandler());
    app.get('/me', { preHandler: vmpro.requireLogin() }, async (request) => {
      const session = await request.vmpro.requireSession();
      return { sub: session.user.sub, name: session.user.name ?? null };
    });
    app.get('/me-json', async () => meAnswer);
    await app.ready();
    closeApp = () => app.close();
  } else {
    const vmpro = vmproWeb(auth);
    const app = new Hono<{ Variables: { vmpro: VmproContext } }>();
    app.get('/healthz', (c) => c.text('ok'));
    app.use(vmpro.hono());
    app.onError(vmpro.honoErrorHandler());
    app.get('/me', vmpro.honoRequireLogin(), async (c) => {
      const session = await c.get('vmpro').requireSession();
      return c.json({ sub: session.user.sub, name: session.user.name ?? null });
    });
    app.get('/me-json', (c) => c.json(meAnswer));
    // @hono/node-server's request listener, on the server that is already listening.
    listener = getRequestListener(app.fetch);
  }

  const browser = await browserLogin(`${origin}/auth/login?returnTo=%2Fme`);
  const cookie = browser.cookieHeader(origin);
  const me = (await assertAuthenticated(`${origin}/me`, cookie)) as { sub?: unknown };
  if (typeof me.sub !== 'string') throw new Error(`/me answered without a sub: ${JSON.stringify(me)}`);
  meAnswer = me;

  announceReady({ url: origin, cookie }, async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await closeApp();
    await auth.close();
  });
});
