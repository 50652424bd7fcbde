/**
 * The demo app's `GET /me` over real sockets, per session store. Its body is made once per
 * session record and reused while the record lives (packages/cli/src/demo/app.ts): these tests check that it
 * always describes the session presented, in its current state — never another user's, and
 * never the tokens from before a refresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../packages/cli/src/demo/server.js';
import { DEMO_USERS } from '../../src/emulator/index.js';
import { signIn, TestBrowser } from '../support/browser.js';

const REDIS_URL = process.env.REDIS_URL;
const json = { accept: 'application/json' };
const [DANA, NICO] = DEMO_USERS;

interface Me {
  sub: string;
  name: string | null;
  email: string | null;
  accessTokenExpiresAt: string;
  refreshTokenExpiresAt: string;
}

const stores: Array<{ name: string; store: string | undefined }> = [
  { name: 'memory', store: 'memory' },
  { name: 'cookie', store: 'cookie' },
  { name: 'redis', store: REDIS_URL },
];

for (const { name, store } of stores) {
  describe.skipIf(store === undefined)(
    `the demo app's /me with the ${name} store${store ? '' : ' (skipped: set REDIS_URL)'}`,
    () => {
      let demo: RunningDemo;

      beforeAll(async () => {
        demo = await startDemo({
          env: {
            PORT: '0',
            VMPRO_SESSION_STORE: store,
            VMPRO_SESSION_SECRET: 'demo-test-secret-0123456789-abcdefghijkl',
          },
          // Two-second access tokens: the session refreshes within the test.
          emulator: { accessTokenLifetime: 2 },
        });
      }, 30_000);

      afterAll(async () => {
        await demo?.close();
      });

      async function me(browser: TestBrowser): Promise<Me> {
        const response = await browser.request(`${demo.url}/me`, { headers: json });
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-control')).toBe('no-store');
        return (await response.json()) as Me;
      }

      it('answers each browser with its own user, request after request', async () => {
        const dana = new TestBrowser();
        const nico = new TestBrowser();
        await signIn(dana, demo.url, { username: DANA.username, password: DANA.password });
        await signIn(nico, demo.url, { username: NICO.username, password: NICO.password });

        for (let i = 0; i < 3; i++) {
          const [a, b] = await Promise.all([me(dana), me(nico)]);
          expect(a).toMatchObject({ sub: DANA.sub, name: DANA.name, email: DANA.email });
          expect(b).toMatchObject({ sub: NICO.sub, name: NICO.name, email: NICO.email });
        }
      });

      it('shows the new access token expiry after a refresh, not the one it answered before', async () => {
        const dana = new TestBrowser();
        await signIn(dana, demo.url, { username: DANA.username, password: DANA.password });
        const before = await me(dana);
        expect(await me(dana)).toEqual(before);

        // Past half of the token's two seconds, /api/vms refreshes before it calls the API.
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        const vms = await dana.request(`${demo.url}/api/vms`, { headers: json });
        expect(vms.status).toBe(200);

        const after = await me(dana);
        expect(after.sub).toBe(DANA.sub);
        expect(Date.parse(after.accessTokenExpiresAt)).toBeGreaterThan(
          Date.parse(before.accessTokenExpiresAt),
        );
      });

      it('answers 401 once the user has signed out, with the same cookie as before', async () => {
        const dana = new TestBrowser();
        await signIn(dana, demo.url, { username: DANA.username, password: DANA.password });
        await me(dana);
        const cookie = dana.cookieHeader(demo.url);
        const out = await dana.request(`${demo.url}/auth/logout`, {
          method: 'POST',
          headers: { origin: new URL(demo.url).origin, 'sec-fetch-site': 'same-origin' },
        });
        expect(out.status).toBe(303);
        const replayed = await fetch(`${demo.url}/me`, { headers: { ...json, cookie } });
        expect(replayed.status).toBe(401);
      });
    },
  );
}
