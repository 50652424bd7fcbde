/**
 * Starts a small app on each adapter (Express, Fastify, the web adapter via the demo's Hono app),
 * wired to a running emulator, on 127.0.0.1 and port 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { createDemoApp } from '../../packages/cli/src/demo/app.js';
import { vmproExpress } from '../../src/adapters/express.js';
import { vmproFastify } from '../../src/adapters/fastify.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { createVmproAuth, type VmproAuth, type VmproAuthOptions } from '../../src/http/index.js';

/** `web`: the demo's Hono app as @hono/node-server runs it; `web-fetch`: the same app given only the Request (Bun, Deno, Next.js). */
export type AdapterKind = 'express' | 'fastify' | 'web' | 'web-fetch';

export interface TestApp {
  origin: string;
  auth: VmproAuth;
  close(): Promise<void>;
}

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';

const registered = new WeakMap<RunningEmulator, Map<string, string[]>>();

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Registers a client for the app at the emulator and returns the auth instance. */
export function authFor(
  emulator: RunningEmulator,
  origin: string,
  extra: Partial<VmproAuthOptions> = {},
  clientId = `app-${new URL(origin).port}`,
): VmproAuth {
  const clientSecret = `${clientId}-secret`;
  // Several instances of one app share a client id (each test instance has its own origin).
  const origins = (registered.get(emulator) ?? new Map<string, string[]>()).set(clientId, [
    ...(registered.get(emulator)?.get(clientId) ?? []),
    origin,
  ]);
  registered.set(emulator, origins);
  const all = origins.get(clientId) ?? [origin];
  emulator.addClient({
    clientId,
    clientSecret,
    redirectUris: all.map((o) => `${o}/auth/callback`),
    postLogoutRedirectUris: all.map((o) => `${o}/`),
    backchannelLogoutUri: `${all[0]}/auth/backchannel-logout`,
  });
  return createVmproAuth({
    clientId,
    clientSecret,
    apiBase: emulator.apiBase,
    redirectUri: `${origin}/auth/callback`,
    ...extra,
    session: { ...extra.session, secrets: extra.session?.secrets ?? [TEST_SECRET] },
  });
}

/** Starts an app on the given adapter with `/me` and `/api/vms` behind `requireLogin`. */
export async function startApp(
  kind: AdapterKind,
  emulator: RunningEmulator,
  extra: Partial<VmproAuthOptions> = {},
  clientId?: string,
): Promise<TestApp> {
  let listener: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => listener(req, res));
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  const auth = authFor(emulator, origin, extra, clientId);
  let closeApp = async () => {};

  if (kind === 'express') {
    const vmpro = vmproExpress(auth);
    const app = express();
    app.use(vmpro.router());
    app.get('/me', vmpro.requireLogin(), async (req, res) => {
      const s = await req.vmpro.requireSession();
      res.json({ sub: s.user.sub, name: s.user.name });
    });
    app.get('/api/vms', vmpro.requireLogin(), async (req, res) => {
      res.json(await req.vmpro.api.vms.list());
    });
    app.use(vmpro.errorHandler());
    listener = app;
  } else if (kind === 'fastify') {
    const vmpro = vmproFastify(auth);
    const app = Fastify();
    await app.register(vmpro.plugin);
    app.setErrorHandler(vmpro.errorHandler());
    app.get('/me', { preHandler: vmpro.requireLogin() }, async (request) => {
      const s = await request.vmpro.requireSession();
      return { sub: s.user.sub, name: s.user.name };
    });
    app.get('/api/vms', { preHandler: vmpro.requireLogin() }, async (request) =>
      request.vmpro.api.vms.list(),
    );
    await app.ready();
    listener = (req, res) => app.routing(req, res);
    closeApp = () => app.close();
  } else {
    const app = createDemoApp(auth);
    listener =
      kind === 'web'
        ? getRequestListener((request, env) => app.fetch(request, env))
        : getRequestListener((request) => app.fetch(request));
  }

  return {
    origin,
    auth,
    async close() {
      await closeServer(server);
      await closeApp();
      await auth.close();
    },
  };
}
