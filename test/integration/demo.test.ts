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
import { clusterUnavailable, type RunningCluster, startRedisCluster } from '../support/redis-cluster.js';

const REDIS_URL = process.env.REDIS_URL;
const DATABASE_URL = process.env.DATABASE_URL;
const noCluster = clusterUnavailable();
const json = { accept: 'application/json' };
const [DANA, NICO] = DEMO_USERS;

interface Me {
  sub: string;
  name: string | null;
  email: string | null;
  accessTokenExpiresAt: string;
  refreshTokenExpiresAt: string;
}

const SECRET = 'demo-test-secret-0123456789-abcdefghijkl';

/**
 * Each store: the `VMPRO_SESSION_STORE` value (made in `beforeAll`: the cluster is started for
 * the file), why it is skipped, what the banner must say, and whether another instance shares it.
 */
const stores: Array<{
  name: string;
  skip: string | undefined;
  value: () => Promise<string>;
  banner: RegExp;
  shared: boolean;
}> = [
  {
    name: 'memory',
    skip: undefined,
    value: async () => 'memory',
    banner: /^Session store: memory$/,
    shared: false,
  },
  {
    name: 'cookie',
    skip: undefined,
    value: async () => 'cookie',
    banner: /^Session store: cookie$/,
    shared: false,
  },
  {
    name: 'redis',
    skip: REDIS_URL ? undefined : 'set REDIS_URL',
    value: async () => REDIS_URL!,
    banner: /^Session store: Redis at /,
    shared: true,
  },
  {
    name: 'redis-cluster',
    skip: noCluster,
    value: async () => {
      cluster = await startRedisCluster();
      return `redis-cluster://${cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
    },
    banner: /^Session store: Redis Cluster \(seed nodes 127\.0\.0\.1:\d+, /,
    shared: true,
  },
  {
    name: 'postgres',
    skip: DATABASE_URL ? undefined : 'set DATABASE_URL',
    value: async () => DATABASE_URL!,
    banner: /^Session store: PostgreSQL at /,
    shared: true,
  },
];
let cluster: RunningCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

for (const { name, skip, value, banner, shared } of stores) {
  describe.skipIf(skip !== undefined)(
    `the demo app's /me with the ${name} store${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      let demo: RunningDemo;
      let store: string;

      beforeAll(async () => {
        store = await value();
        demo = await startDemo({
          env: { PORT: '0', VMPRO_SESSION_STORE: store, VMPRO_SESSION_SECRET: SECRET },
          // Two-second access tokens: the session refreshes within the test.
          emulator: { accessTokenLifetime: 2 },
        });
      }, 30_000);

      afterAll(async () => {
        await demo?.close();
      });

      it('names the store in its banner, without credentials', () => {
        expect(demo.banner.filter((line) => line.startsWith('Session store:'))).toEqual([
          expect.stringMatching(banner),
        ]);
        expect(demo.banner.join('\n')).not.toMatch(/:[^/@:]*@/);
      });

      it.runIf(shared)('keeps its sessions in the store: a second instance serves them', async () => {
        const dana = new TestBrowser();
        await signIn(dana, demo.url, { username: DANA.username, password: DANA.password });
        const mine = await me(dana);
        const other = await startDemo({
          env: { PORT: '0', VMPRO_SESSION_STORE: store, VMPRO_SESSION_SECRET: SECRET },
        });
        try {
          const response = await fetch(`${other.url}/me`, {
            headers: { ...json, cookie: dana.cookieHeader(demo.url) },
          });
          expect(response.status).toBe(200);
          expect(await response.json()).toEqual(mine);
        } finally {
          await other.close();
        }
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
