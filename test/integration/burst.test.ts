/**
 * The heart of the product: when an access token has expired and many requests arrive at once,
 * the login server sees exactly one refresh — in one process, and across instances sharing Redis.
 * The emulator runs with strict refresh-token reuse (Keycloak "Revoke Refresh Token"), so a
 * second refresh with the same token would end the login and fail requests.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { redisStore } from '../../src/session/index.js';
import { startApp, TEST_SECRET, type TestApp } from '../support/apps.js';
import { signIn, TestBrowser } from '../support/browser.js';

const BURST = 50;
let offsetSec = 0;
const now = () => Date.now() + offsetSec * 1000;

let emulator: RunningEmulator;
const apps: TestApp[] = [];
const clients: Redis[] = [];

beforeEach(async () => {
  offsetSec = 0;
  emulator = await startEmulator({ port: 0, strictRefreshTokenReuse: true });
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const c of clients.splice(0)) c.disconnect();
  await emulator.close();
});

/** Moves both clocks (the app's and the login server's) past the access token's lifetime. */
function expireAccessToken(): void {
  offsetSec += 301;
  emulator.advanceClock(301);
}

function refreshCount(): number {
  return emulator.counters().login.tokenRequests.refresh_token ?? 0;
}

async function burst(origins: string[], cookie: string): Promise<number[]> {
  return Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      fetch(`${origins[i % origins.length]}/api/vms`, {
        headers: { cookie, accept: 'application/json' },
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }),
    ),
  );
}

describe('a burst of 50 requests with an expired access token', () => {
  it('makes exactly one refresh on one instance, and all 50 succeed', async () => {
    const app = await startApp('web', emulator, { now });
    apps.push(app);
    const browser = new TestBrowser();
    await signIn(browser, app.origin);
    expireAccessToken();
    const before = refreshCount();
    const statuses = await burst([app.origin], browser.cookieHeader(app.origin));
    expect(statuses).toEqual(Array(BURST).fill(200));
    expect(refreshCount() - before).toBe(1);
  });

  describe.skipIf(!process.env.REDIS_URL)('across two instances sharing Redis (needs REDIS_URL)', () => {
    it('makes exactly one refresh, and all 50 succeed', async () => {
      const prefix = `vmpro-test:burst:${process.pid}:${Date.now()}:`;
      const makeStore = () => {
        const client = new Redis(process.env.REDIS_URL as string);
        clients.push(client);
        return redisStore({ client, prefix });
      };
      const a = await startApp(
        'web',
        emulator,
        // Two servers of one app in one process: named instances, by the explicit opt-in.
        { now, instance: 'a', session: { secrets: [TEST_SECRET], store: makeStore() } },
        'burst-app',
      );
      apps.push(a);
      const b = await startApp(
        'web',
        emulator,
        { now, instance: 'b', session: { secrets: [TEST_SECRET], store: makeStore() } },
        'burst-app',
      );
      apps.push(b);
      const browser = new TestBrowser();
      await signIn(browser, a.origin);
      const cookie = browser.cookieHeader(a.origin);
      // Both instances see the same session.
      const onB = await fetch(`${b.origin}/me`, { headers: { cookie, accept: 'application/json' } });
      expect(onB.status).toBe(200);

      expireAccessToken();
      const before = refreshCount();
      const statuses = await burst([a.origin, b.origin], cookie);
      expect(statuses).toEqual(Array(BURST).fill(200));
      expect(refreshCount() - before).toBe(1);
    });
  });
});
