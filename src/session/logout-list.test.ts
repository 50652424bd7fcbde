import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { cookieStore } from './cookie-store.js';
import { type LogoutList, memoryLogoutList, redisLogoutList } from './logout-list.js';
import { createSessionManager } from './manager.js';
import type { RedisClientLike } from './redis-store.js';
import { Browser, clock, eventually, makeTokens, SECRET } from './test-support.js';
import type { SessionManager } from './types.js';

const url = process.env.REDIS_URL;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const storeUnavailable = (error: unknown) => isVmproError(error, 'VMPRO_STORE_UNAVAILABLE');

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A cookie-store session manager (one "instance") using `logouts`. */
function instance(logouts: LogoutList | undefined, now: () => number): SessionManager {
  const manager = createSessionManager({
    store: cookieStore(logouts ? { logouts } : {}),
    secrets: [SECRET],
    secure: true,
    refresh: async () => makeTokens(now()),
    now,
  });
  cleanups.push(() => manager.close());
  return manager;
}

describe('memoryLogoutList', () => {
  it('keeps the later logout time of a name, and forgets it after its ttl', async () => {
    const list = memoryLogoutList();
    await list.add('sid:a', 2000, 60_000);
    await list.add('sid:a', 1000, 60_000);
    expect(list.endedAt('sid:a')).toBe(2000);
    expect(list.endedAt('sid:b')).toBeUndefined();
    await list.add('sid:short', 5, 1);
    await sleep(5);
    expect(list.endedAt('sid:short')).toBeUndefined();
  });

  it('holds at most maxEntries, forgetting the oldest first', async () => {
    const list = memoryLogoutList({ maxEntries: 2 });
    for (const name of ['sid:1', 'sid:2', 'sid:3']) await list.add(name, 1, 60_000);
    expect(list.endedAt('sid:1')).toBeUndefined();
    expect(list.endedAt('sid:2')).toBe(1);
    expect(list.endedAt('sid:3')).toBe(1);
  });

  it('refuses a bad option with VMPRO_CONFIG_INVALID', () => {
    expect(() => memoryLogoutList({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => cookieStore({ logouts: {} as LogoutList })).toThrow(/logouts/);
  });

  it('is per instance: a second instance does not know the logout (the documented limit)', async () => {
    const c = clock();
    const one = instance(undefined, c.now);
    const two = instance(undefined, c.now);
    const browser = new Browser();
    await one.create(browser.request(), { tokens: makeTokens(c.now()), user: { sub: 'u1' }, sid: 's1' });
    const cookies = new Map(browser.cookies);
    c.advance(1000);
    await one.endSessions({ sid: 's1' });
    expect(await two.load(browser.request())).not.toBeNull();
    expect(await one.load(browser.request())).toBeNull();
    expect(browser.cookies.size).toBeLessThan(cookies.size); // the refused cookie was deleted
  });
});

describe.skipIf(!url)('redisLogoutList (needs a real Redis: set REDIS_URL)', () => {
  const runPrefix = `vmpro-test:${randomUUID()}:`;
  let n = 0;
  const nextPrefix = () => `${runPrefix}${++n}:`;
  const admin = url ? new Redis(url) : undefined;
  afterAll(async () => {
    const keys = await admin!.keys(`${runPrefix}*`);
    if (keys.length > 0) await admin!.del(...keys);
    admin!.disconnect();
  });

  const clients = {
    ioredis: async (): Promise<RedisClientLike> => {
      const client = new Redis(url!);
      cleanups.push(() => client.disconnect());
      return client;
    },
    'node-redis': async (): Promise<RedisClientLike> => {
      const client = await createClient({ url: url! }).connect();
      cleanups.push(() => client.destroy());
      return client;
    },
  };

  for (const [kind, connect] of Object.entries(clients)) {
    it(`${kind}: a back-channel logout on one instance ends the cookie session on every instance`, async () => {
      const c = clock(Date.now());
      const prefix = nextPrefix();
      const list = async () => redisLogoutList({ client: await connect(), prefix, pollMs: 50 });
      const one = instance(await list(), c.now);
      const two = instance(await list(), c.now);
      const browser = new Browser();
      await one.create(browser.request(), {
        tokens: makeTokens(c.now()),
        user: { sub: 'user-7', email: 'dana@example.com' },
        sid: 'sid-7',
      });
      expect(await two.load(browser.request())).not.toBeNull();
      // A refused cookie is deleted from the browser: each check below sends a fresh copy.
      const cookies = new Map(browser.cookies);
      const copy = () => {
        const b = new Browser();
        for (const [name, value] of cookies) b.cookies.set(name, value);
        return b.request();
      };

      c.advance(1000);
      await one.endSessions({ sid: 'sid-7' });
      // At once on the instance that received it; within a poll on the other.
      expect(await one.load(copy())).toBeNull();
      expect(await eventually(async () => (await two.load(copy())) === null)).toBe(true);

      // A login after the logout is a new session: accepted everywhere.
      c.advance(1000);
      const fresh = new Browser();
      await two.create(fresh.request(), {
        tokens: makeTokens(c.now()),
        user: { sub: 'user-7' },
        sid: 'sid-7',
      });
      expect(await one.load(fresh.request())).not.toBeNull();
      expect(await two.load(fresh.request())).not.toBeNull();

      // The shared list holds no session or user id in clear.
      const raw = JSON.stringify(await admin!.zrange(`${prefix}logouts`, '0', '-1', 'WITHSCORES'));
      expect(raw).not.toMatch(/sid-7|user-7|dana/);
      expect(await admin!.pttl(`${prefix}logouts`)).toBeGreaterThan(0);
    });
  }

  it('a logout in the app on one instance refuses copies of that cookie on every instance', async () => {
    const c = clock(Date.now());
    const prefix = nextPrefix();
    const list = async () => redisLogoutList({ client: await clients.ioredis(), prefix, pollMs: 50 });
    const one = instance(await list(), c.now);
    const two = instance(await list(), c.now);
    const browser = new Browser();
    await one.create(browser.request(), { tokens: makeTokens(c.now()), user: { sub: 'u5' }, sid: 's5' });
    const cookies = new Map(browser.cookies);
    const copy = () => {
      const b = new Browser();
      for (const [name, value] of cookies) b.cookies.set(name, value);
      return b.request();
    };
    expect(await two.load(copy())).not.toBeNull();
    c.advance(1000);
    await one.destroy(browser.request());
    expect(await one.load(copy())).toBeNull();
    expect(await eventually(async () => (await two.load(copy())) === null)).toBe(true);
  });

  it('by sub: every earlier session of the user, on an instance started after the logout too', async () => {
    const c = clock(Date.now());
    const prefix = nextPrefix();
    const one = instance(redisLogoutList({ client: await clients.ioredis(), prefix, pollMs: 50 }), c.now);
    const browser = new Browser();
    await one.create(browser.request(), { tokens: makeTokens(c.now()), user: { sub: 'u9' }, sid: null });
    c.advance(1000);
    await one.endSessions({ sub: 'u9' });
    const late = instance(redisLogoutList({ client: await clients.ioredis(), prefix, pollMs: 50 }), c.now);
    // Its first read is awaited before the first cookie is trusted.
    expect(await late.load(browser.request())).toBeNull();
  });

  it('a list longer than a new instance reads keeps its newest logouts', async () => {
    const prefix = nextPrefix();
    const at = Date.now();
    const args: string[] = [];
    for (let i = 0; i < 10_050; i++) args.push(String(at - 60_000 + i), `old-${i}`);
    await admin!.zadd(`${prefix}logouts`, ...args);
    const writer = redisLogoutList({ client: await clients.ioredis(), prefix, pollMs: 1000 });
    cleanups.push(() => writer.close?.());
    await writer.add('sid:newest', at, 3_600_000);
    const reader = redisLogoutList({ client: await clients.ioredis(), prefix, pollMs: 1000 });
    cleanups.push(() => reader.close?.());
    await reader.ready?.();
    expect(reader.endedAt('sid:newest')).toBe(at);
  });

  it('Redis unreachable: cookie sessions get VMPRO_STORE_UNAVAILABLE, cookies stay, and it recovers', async () => {
    const c = clock(Date.now());
    const prefix = nextPrefix();
    const real = new Redis(url!);
    cleanups.push(() => real.disconnect());
    let down = false;
    // The real Redis behind a switch that makes every command fail, like a dropped connection.
    const client: RedisClientLike = {
      call: (command: string, ...args: string[]) =>
        down ? Promise.reject(new Error('connection lost')) : real.call(command, ...args),
    };
    const manager = instance(redisLogoutList({ client, prefix, pollMs: 20, maxStalenessMs: 100 }), c.now);
    const browser = new Browser();
    await manager.create(browser.request(), { tokens: makeTokens(c.now()), user: { sub: 'u1' }, sid: 's1' });
    expect(await manager.load(browser.request())).not.toBeNull();

    down = true;
    await sleep(200);
    const jar = browser.request();
    expect(storeUnavailable(await manager.load(jar).catch((e: unknown) => e))).toBe(true);
    expect(jar.untouched).toBe(true);
    expect(storeUnavailable(await manager.endSessions({ sid: 's1' }).catch((e: unknown) => e))).toBe(true);

    down = false;
    const loaded = () => manager.load(browser.request()).catch(() => null);
    expect(await eventually(async () => (await loaded()) !== null)).toBe(true);
  });

  it('a Redis that never answered: no cookie is trusted, none is cleared', async () => {
    const c = clock(Date.now());
    const client: RedisClientLike = { call: () => Promise.reject(new Error('ECONNREFUSED')) };
    const trusted = instance(undefined, c.now);
    const browser = new Browser();
    await trusted.create(browser.request(), { tokens: makeTokens(c.now()), user: { sub: 'u1' }, sid: 's1' });
    const manager = instance(redisLogoutList({ client, prefix: nextPrefix(), pollMs: 20 }), c.now);
    const jar = browser.request();
    expect(storeUnavailable(await manager.load(jar).catch((e: unknown) => e))).toBe(true);
    expect(jar.untouched).toBe(true);
  });

  it('refuses bad options with VMPRO_CONFIG_INVALID', () => {
    const client = { call: async () => null } as RedisClientLike;
    expect(() => redisLogoutList({ client, pollMs: 0 })).toThrow(/pollMs/);
    expect(() => redisLogoutList({ client, pollMs: 1000, maxStalenessMs: 10 })).toThrow(/maxStalenessMs/);
    expect(() => redisLogoutList({ client: {} as RedisClientLike })).toThrow(/client/);
  });
});
