/**
 * One Express 5 app, built with the auth library named by `BENCH_LIB` and the session store named
 * by `BENCH_STORE` (`memory`, the default, or `cookie`):
 *
 * - `vmpro`: vmpro-connect's Express adapter (`/auth/callback`) with `memoryStore()` or
 *   `cookieStore()`;
 * - `eoc`:   express-openid-connect 3.4 (`/callback`) with its default stateless `appSession`
 *   cookie (`cookie`), or (`memory`) a custom `session.store` that keeps the sessions in a `Map`
 *   without copying them: the cheapest server-side store it can have (it writes the session back
 *   on every response, as rolling sessions need).
 *
 * Both have the same shape: the library's middleware, then `GET /me` behind the library's guard
 * answering `{ sub, name }` of the logged-in user as JSON; `GET /me-json` answers the same JSON
 * through the same middleware without the guard or any session read (for express-openid-connect
 * its middleware still decodes the session cookie: it does so on every request); `GET /healthz`
 * answers `ok` before the middleware. Each app registers its own client at the emulator
 * (`BENCH_EMULATOR_URL`, in another process), logs in once as demo/demo like a browser, checks
 * `/me` answers 200, and prints `{"ready":true,"url","cookie","cookieNames","cookieBytes"}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import eoc from 'express-openid-connect';
import { vmproExpress } from '../../src/adapters/express.js';
import { createVmproAuth } from '../../src/http/index.js';
import { cookieStore, memoryStore } from '../../src/session/index.js';
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
  const storeName = process.env.BENCH_STORE ?? 'memory';
  if (storeName !== 'memory' && storeName !== 'cookie')
    throw new Error(`BENCH_STORE must be memory or cookie (got ${storeName})`);
  const emulatorUrl = required('BENCH_EMULATOR_URL');
  const issuer = `${emulatorUrl}/auth/realms/platform`;

  // Listen first: the port is part of the callback URL registered at the emulator.
  let listener: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = `bench-${lib}-${storeName}`;
  const clientSecret = `${clientId}-secret-0123456789`;

  const app: Express = express();
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  // What /me answered after the login: /me-json sends the same JSON with no session read.
  let meAnswer: unknown = null;
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
      session: { secrets: [BENCH_SECRET], store: storeName === 'memory' ? memoryStore() : cookieStore() },
    });
    const vmpro = vmproExpress(auth);
    app.use(vmpro.router());
    app.get('/me', vmpro.requireLogin(), async (req, res) => {
      const session = await req.vmpro.requireSession();
      res.json({ sub: session.user.sub, name: session.user.name ?? null });
    });
    app.get('/me-json', (_req, res) => {
      res.json(meAnswer);
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
        ...(storeName === 'memory' ? { session: { store: mapStore() } } : {}),
      }),
    );
    app.get('/me', eoc.requiresAuth(), (req, res) => {
      const user = req.oidc.user as { sub: string; name?: string } | undefined;
      res.json({ sub: user?.sub, name: user?.name ?? null });
    });
    app.get('/me-json', (_req, res) => {
      res.json(meAnswer);
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
  meAnswer = me;

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

type EocStore = NonNullable<NonNullable<NonNullable<Parameters<typeof eoc.auth>[0]>['session']>['store']>;
type EocPayload = Parameters<EocStore['set']>[1];

/**
 * An express-session-style store (`get`, `set`, `destroy` with callbacks) over a `Map`, for
 * express-openid-connect's `session.store`: no copy, no expiry sweep, nothing to wait for.
 */
function mapStore(): EocStore {
  const sessions = new Map<string, EocPayload>();
  return {
    get(id, callback) {
      callback(null, sessions.get(id) ?? null);
    },
    set(id, value, callback) {
      sessions.set(id, value);
      callback?.();
    },
    destroy(id, callback) {
      sessions.delete(id);
      callback?.();
    },
  };
}
