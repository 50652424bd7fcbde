/**
 * The demo app (packages/cli/src/demo/server.ts) in a process, configured from the environment like
 * `npm start` (VMPRO_SESSION_STORE, VMPRO_SESSION_SECRET, VMPRO_CLIENT_ID …; PORT defaults to 0
 * here). Extra knobs for the benchmarks:
 *
 * - `BENCH_EMULATOR_OPTIONS`: JSON options of the embedded emulator (when VMPRO_CLIENT_ID is unset).
 * - `BENCH_REGISTER_AT`: an external emulator's URL; the app registers its client (VMPRO_CLIENT_ID,
 *   VMPRO_CLIENT_SECRET) there with its own callback before logging in.
 * - `BENCH_LOGINS`: how many sessions to log in as demo/demo (default 1; each in a new browser).
 *
 * Prints `{"ready":true,"url","origin","emulatorUrl","cookies":[…],"cookie","referenceUrl"}` —
 * `url` is the 127.0.0.1 address to load, `cookies` one Cookie header per session.
 *
 * `referenceUrl` is a second, bench-only listener in the same process: `GET /me-json` answers what
 * the first session's `/me` answered, through the same middleware, with no session lookup.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { startDemo } from '../../packages/cli/src/demo/server.js';
import { vmproWeb } from '../../src/adapters/web.js';
import type { EmulatorOptions } from '../../src/emulator/index.js';
import { announceReady, assertAuthenticated, browserLogin, registerClient, runChild } from './child.js';

runChild(async () => {
  const env: Record<string, string | undefined> = { ...process.env, PORT: process.env.PORT ?? '0' };
  const emulator = JSON.parse(process.env.BENCH_EMULATOR_OPTIONS ?? '{}') as EmulatorOptions;
  const demo = await startDemo({ env, emulator });
  const url = `http://127.0.0.1:${demo.port}`;

  const registerAt = process.env.BENCH_REGISTER_AT;
  const logins = Number(process.env.BENCH_LOGINS ?? '1');
  if (registerAt && logins > 0) {
    await registerClient(registerAt, {
      clientId: env.VMPRO_CLIENT_ID ?? '',
      clientSecret: env.VMPRO_CLIENT_SECRET ?? '',
      redirectUris: [`${demo.url}/auth/callback`],
      postLogoutRedirectUris: [`${demo.url}/`],
    });
  }

  const cookies: string[] = [];
  let firstMe: unknown = null;
  for (let i = 0; i < logins; i++) {
    // The demo's redirect URI is on its own origin (http://localhost:PORT); log in there.
    const browser = await browserLogin(`${demo.url}/auth/login?returnTo=%2Fme`);
    const cookie = browser.cookieHeader(demo.url);
    const me = await assertAuthenticated(`${url}/me`, cookie);
    firstMe ??= me;
    cookies.push(cookie);
  }

  const vmpro = vmproWeb(demo.auth);
  const reference = new Hono();
  // The same framework steps as the demo's /me (the middleware, then the route), the same answer,
  // and no session lookup: the ceiling any session lookup could reach on this stack.
  reference.use(vmpro.hono());
  reference.get('/me-json', (c) => c.json(firstMe, 200, { 'cache-control': 'no-store' }));
  const referenceServer = serve({ fetch: reference.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => referenceServer.once('listening', () => resolve()));
  const referenceUrl = `http://127.0.0.1:${(referenceServer.address() as AddressInfo).port}`;

  announceReady(
    {
      url,
      origin: demo.url,
      emulatorUrl: demo.emulator?.url ?? registerAt ?? null,
      cookies,
      cookie: cookies[0] ?? null,
      referenceUrl,
    },
    async () => {
      referenceServer.close();
      await demo.close();
    },
  );
});
