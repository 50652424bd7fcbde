/**
 * One Express 5 app, built with the auth library named by `BENCH_LIB`:
 *
 * - `vmpro`: vmpro-connect's Express adapter, memory store (`/auth/callback`);
 * - `eoc`:   express-openid-connect 3.4 (`/callback`), its default stateless `appSession` cookie.
 *
 * Both have the same shape: the library's middleware, then `GET /me` behind the library's guard
 * answering `{ sub, name }` of the logged-in user as JSON. Each registers its own client at the
 * emulator (`BENCH_EMULATOR_URL`, in another process), logs in once as demo/demo like a browser,
 * checks `/me` answers 200, and prints `{"ready":true,"url","cookie","cookieNames"}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import eoc from 'express-openid-connect';
import { vmproExpress } from '../../src/adapters/express.js';
import { createVmproAuth } from '../../src/http/index.js';
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
  const lib = required('BENCH_LIB');
  const emulatorUrl = required('BENCH_EMULATOR_URL');
  const issuer = `${emulatorUrl}/auth/realms/platform`;

  // Listen first: the port is part of the callback URL registered at the emulator.
  let listener: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = `bench-${lib}`;
  const clientSecret = `${clientId}-secret-0123456789`;

  const app: Express = express();
  let closeLib = async () => {};
  let loginUrl: string;

  if (lib === 'vmpro') {
    await registerClient(emulatorUrl, {
      clientId,
      clientSecret,
      redirectUris: [`${origin}/auth/callback`],
      postLogoutRedirectUris: [`${origin}/`],
    });
    const auth = createVmproAuth({
      clientId,
      clientSecret,
      issuer,
      apiBase: emulatorUrl,
      redirectUri: `${origin}/auth/callback`,
      session: { secrets: [BENCH_SECRET], store: memoryStore() },
    });
    const vmpro = vmproExpress(auth);
    app.use(vmpro.router());
    app.get('/me', vmpro.requireLogin(), async (req, res) => {
      const session = await req.vmpro.requireSession();
      res.json({ sub: session.user.sub, name: session.user.name ?? null });
    });
    app.use(vmpro.errorHandler());
    closeLib = () => auth.close();
    loginUrl = `${origin}/auth/login?returnTo=%2Fme`;
  } else if (lib === 'eoc') {
    await registerClient(emulatorUrl, {
      clientId,
      clientSecret,
      redirectUris: [`${origin}/callback`],
      postLogoutRedirectUris: [`${origin}/`],
    });
    // express-openid-connect 3.4 uses openid-client v6 and turns on its allowInsecureRequests
    // by itself when issuerBaseURL is http:// (lib/client.js); an http:// baseURL only forces
    // cookie.secure to false. With response_type 'code' the callback comes back as a query (GET).
    app.use(
      eoc.auth({
        issuerBaseURL: issuer,
        baseURL: origin,
        clientID: clientId,
        clientSecret,
        secret: BENCH_SECRET,
        authRequired: false,
        authorizationParams: { response_type: 'code', scope: 'openid' },
      }),
    );
    app.get('/me', eoc.requiresAuth(), (req, res) => {
      const user = req.oidc.user as { sub: string; name?: string } | undefined;
      res.json({ sub: user?.sub, name: user?.name ?? null });
    });
    loginUrl = `${origin}/login?returnTo=%2Fme`;
  } else {
    throw new Error(`BENCH_LIB must be vmpro or eoc (got ${lib})`);
  }
  listener = app;

  const browser = await browserLogin(loginUrl);
  const cookie = browser.cookieHeader(origin);
  const me = (await assertAuthenticated(`${origin}/me`, cookie)) as { sub?: unknown };
  if (typeof me.sub !== 'string') throw new Error(`/me answered without a sub: ${JSON.stringify(me)}`);

  announceReady(
    {
      url: origin,
      cookie,
      cookieNames: [...(browser.cookies.get(origin)?.keys() ?? [])],
      cookieBytes: cookie.length,
    },
    async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await closeLib();
    },
  );
});
