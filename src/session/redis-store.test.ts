import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isVmproError } from '../errors.js';
import { createSessionManager } from './manager.js';
import { type RedisSessionStore, redisKeyLayout, redisStore } from './redis-store.js';
import { Browser, eventually, makeRecord, makeTokens, SECRET } from './test-support.js';
import type { SessionManager, SessionManagerOptions, SessionRecord } from './types.js';

const url = process.env.REDIS_URL;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const storeUnavailable = (error: unknown) => isVmproError(error, 'VMPRO_STORE_UNAVAILABLE');

describe.skipIf(!url)('redis store (needs a real Redis: set REDIS_URL)', () => {
  const runPrefix = `vmpro-test:${randomUUID()}:`;
  let admin: Redis;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  let n = 0;
  /** A fresh prefix per test, under the run's prefix. */
  const nextPrefix = () => `${runPrefix}${++n}:`;

  beforeAll(() => {
    admin = new Redis(url!);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${runPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    admin.disconnect();
  });

  const clientKinds = {
    ioredis: async (name?: string) => {
      const client = new Redis(url!, name === undefined ? {} : { connectionName: name });
      cleanups.push(() => client.disconnect());
      return client;
    },
    'node-redis': async () => {
      const client = await createClient({ url: url! }).connect();
      cleanups.push(() => client.destroy());
      return client;
    },
  };

  async function openStore(
    kind: keyof typeof clientKinds,
    prefix: string,
    name?: string,
  ): Promise<RedisSessionStore> {
    const client = await clientKinds[kind](name);
    const store = redisStore({ client, prefix, commandTimeoutMs: 2000, heartbeatMs: 200, secrets: [SECRET] });
    cleanups.push(() => store.close?.());
    return store;
  }

  /**
   * The value the store would keep for `record` under `key` (sealed for that key), written by a
   * store on a scratch prefix: lets a test change Redis behind the stores' backs.
   */
  async function sealedValue(key: string, record: SessionRecord, secrets = [SECRET]): Promise<string> {
    const prefix = nextPrefix();
    const writer = redisStore({ client: admin, prefix, localCache: false, secrets });
    await writer.create(key, record, 60_000);
    return (await admin.get(redisKeyLayout(prefix).record(key)))!;
  }

  describe.each(Object.keys(clientKinds) as (keyof typeof clientKinds)[])('with %s', (kind) => {
    it('returns what was created, under <prefix>s:<key>, and null for an unknown key', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      const record = makeRecord(Date.now());
      await store.create('k1', record, 60_000);
      expect(await store.get('k1')).toEqual(record);
      expect(await admin.exists(redisKeyLayout(prefix).record('k1'))).toBe(1);
      expect(await store.get('nope')).toBeNull();
    });

    it('gives the record the TTL it was asked for, and its indexes at least as long', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      await store.create('k', makeRecord(Date.now(), { sid: 's1' }), 60_000);
      const ttl = await admin.pttl(redisKeyLayout(prefix).record('k'));
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await admin.pttl(redisKeyLayout(prefix).index('sid', 's1'))).toBeGreaterThanOrEqual(ttl - 1000);
      expect(await admin.pttl(redisKeyLayout(prefix).index('sub', 'user-1'))).toBeGreaterThanOrEqual(
        ttl - 1000,
      );
    });

    it('updates only when the expected version matches (compare-and-set in Lua)', async () => {
      const store = await openStore(kind, nextPrefix());
      await store.create('k', makeRecord(Date.now(), { version: 1 }), 60_000);
      expect(await store.update('k', makeRecord(Date.now(), { version: 2, sid: 'b' }), 1, 60_000)).toBe(true);
      expect(await store.update('k', makeRecord(Date.now(), { version: 3, sid: 'c' }), 1, 60_000)).toBe(
        false,
      );
      expect((await store.get('k', { fresh: true }))?.sid).toBe('b');
      expect(await store.update('gone', makeRecord(Date.now(), { version: 2 }), 1, 60_000)).toBe(false);
      expect(await store.get('gone')).toBeNull();
    });

    it('deletes a record and its index entries', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      await store.create('a', makeRecord(Date.now(), { sid: 's1', user: { sub: 'u1' } }), 60_000);
      await store.create('b', makeRecord(Date.now(), { sid: 's2', user: { sub: 'u1' } }), 60_000);
      expect(await store.keysBySid('s1')).toEqual(['a']);
      expect((await store.keysBySub('u1')).sort()).toEqual(['a', 'b']);
      await store.delete('a');
      expect(await store.get('a')).toBeNull();
      expect(await store.keysBySid('s1')).toEqual([]);
      expect(await store.keysBySub('u1')).toEqual(['b']);
    });

    it('leaves expired sessions out of the indexes, and drops entries past their expiry', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      const index = redisKeyLayout(prefix).index('sid', 's1');
      await store.create('a', makeRecord(Date.now(), { sid: 's1' }), 60_000);
      await store.create('b', makeRecord(Date.now(), { sid: 's1' }), 60_000);
      await admin.del(redisKeyLayout(prefix).record('a')); // as if it had expired
      expect(await store.keysBySid('s1')).toEqual(['b']);
      // An entry whose record must have expired (score: its latest expiry, in ms) is dropped.
      expect(await admin.zscore(index, 'b')).toMatch(/^\d+$/);
      await admin.zadd(index, '1', 'a');
      expect(await store.keysBySid('s1')).toEqual(['b']);
      expect(await admin.zrange(index, '0', '-1')).toEqual(['b']);
    });

    it('does not hand out a session whose sid changed for the old sid (the index is only a hint)', async () => {
      const store = await openStore(kind, nextPrefix());
      await store.create('k', makeRecord(Date.now(), { version: 1, sid: 'old' }), 60_000);
      expect(await store.update('k', makeRecord(Date.now(), { version: 2, sid: 'new' }), 1, 60_000)).toBe(
        true,
      );
      // A failed compare-and-set still indexed its record under its sid first: harmless.
      expect(await store.update('k', makeRecord(Date.now(), { version: 3, sid: 'lost' }), 1, 60_000)).toBe(
        false,
      );
      expect(await store.keysBySid('old')).toEqual([]);
      expect(await store.keysBySid('lost')).toEqual([]);
      expect(await store.keysBySid('new')).toEqual(['k']);
    });

    it('treats an unreadable record as absent and deletes it', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      await admin.set(redisKeyLayout(prefix).record('junk'), '{"not":"a session"', 'PX', 60_000);
      expect(await store.get('junk')).toBeNull();
      expect(await admin.exists(redisKeyLayout(prefix).record('junk'))).toBe(0);
    });

    it('keeps records encrypted at rest: Redis holds no token, name or e-mail in clear', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      const record = makeRecord(Date.now(), { sid: 's1' });
      await store.create('k', record, 60_000);
      const raw = (await admin.get(redisKeyLayout(prefix).record('k')))!;
      for (const secret of [
        record.tokens.accessToken,
        record.tokens.refreshToken!,
        record.user.name!,
        record.user.email!,
      ]) {
        expect(raw).not.toContain(secret);
      }
      // What the Lua scripts need stays readable: version (compare-and-set), sid and sub (logout indexes).
      expect(JSON.parse(raw)).toMatchObject({ version: record.version, sid: 's1', user: { sub: 'user-1' } });
      expect(await store.get('k', { fresh: true })).toEqual(record);
    });

    it('refuses (and deletes) a record copied from another key, a plaintext one, or one sealed with other secrets', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      const record = makeRecord(Date.now());
      const cases: Array<[string, string]> = [
        ['moved', await sealedValue('someone-else', record)],
        ['plain', JSON.stringify(record)],
        [
          'other-secret',
          await sealedValue('other-secret', record, ['another-secret-that-is-long-enough-0002']),
        ],
      ];
      for (const [key, value] of cases) {
        await admin.set(redisKeyLayout(prefix).record(key), value, 'PX', 60_000);
        expect(await store.get(key, { fresh: true })).toBeNull();
        expect(await admin.exists(redisKeyLayout(prefix).record(key))).toBe(0);
      }
    });

    it('hands out read-only records: mutating one read (even from the cache) throws and changes nothing', async () => {
      const store = await openStore(kind, nextPrefix());
      await store.create('k', makeRecord(Date.now()), 60_000);
      await eventually(() => store.localCacheActive);
      await store.get('k');
      const first = await store.get('k');
      expect(() => {
        first!.user.name = 'mutated';
      }).toThrow(TypeError);
      expect((await store.get('k'))?.user.name).toBe('Dana Demo');
    });

    it('grants the lock to one holder; release deletes only its own lock', async () => {
      const prefix = nextPrefix();
      const store = await openStore(kind, prefix);
      const first = await store.lock('k', 60_000);
      expect(first).not.toBeNull();
      expect(await store.lock('k', 60_000)).toBeNull();
      await first!.release();
      const stale = await store.lock('k', 60_000);
      await admin.del(redisKeyLayout(prefix).lock('k')); // as if it had expired
      const current = await store.lock('k', 60_000);
      expect(current).not.toBeNull();
      await stale!.release();
      expect(await store.lock('k', 60_000)).toBeNull();
    });

    it('claims a name once across stores (SET NX with the given lifetime), and again after it expires', async () => {
      const prefix = nextPrefix();
      const a = await openStore(kind, prefix);
      const b = await openStore(kind, prefix);
      const results = await Promise.all([a.claim!('tx:one', 60_000), b.claim!('tx:one', 60_000)]);
      expect(results.sort()).toEqual([false, true]);
      const ttl = await admin.pttl(redisKeyLayout(prefix).claim('tx:one'));
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await admin.del(redisKeyLayout(prefix).claim('tx:one')); // as if it had expired
      expect(await b.claim!('tx:one', 60_000)).toBe(true);
    });

    it('serves repeated reads from the local cache, and drops a record another instance deleted', async () => {
      const prefix = nextPrefix();
      const a = await openStore(kind, prefix);
      const b = await openStore(kind, prefix);
      expect(await eventually(() => a.localCacheActive && b.localCacheActive)).toBe(true);
      await b.create('k', makeRecord(Date.now()), 60_000);
      expect((await a.get('k'))?.user.name).toBe('Dana Demo');
      // Change Redis behind everyone's back (no invalidation): A still answers from its cache...
      await admin.set(
        redisKeyLayout(prefix).record('k'),
        await sealedValue('k', makeRecord(Date.now(), { user: { sub: 'user-1', name: 'behind' } })),
        'PX',
        60_000,
      );
      expect((await a.get('k'))?.user.name).toBe('Dana Demo');
      // ...and a fresh read goes to Redis.
      expect((await a.get('k', { fresh: true }))?.user.name).toBe('behind');
      await a.get('k'); // cache it again
      await b.delete('k');
      expect(await eventually(async () => (await a.get('k')) === null, 3000)).toBe(true);
    });

    it('sees another instance’s update', async () => {
      const prefix = nextPrefix();
      const a = await openStore(kind, prefix);
      const b = await openStore(kind, prefix);
      expect(await eventually(() => a.localCacheActive && b.localCacheActive)).toBe(true);
      await a.create('k', makeRecord(Date.now(), { version: 1 }), 60_000);
      expect((await a.get('k'))?.version).toBe(1);
      await b.update('k', makeRecord(Date.now(), { version: 2 }), 1, 60_000);
      expect(await eventually(async () => (await a.get('k'))?.version === 2, 3000)).toBe(true);
    });

    it('reports VMPRO_STORE_UNAVAILABLE once the client is closed', async () => {
      const client = await clientKinds[kind]();
      const store = redisStore({ client, prefix: nextPrefix(), commandTimeoutMs: 500, localCache: false });
      if (client instanceof Redis) client.disconnect();
      else await client.destroy();
      const error = await store.get('k').catch((e: unknown) => e);
      expect(storeUnavailable(error)).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(true);
    });
  });

  it('needs secrets: without them it refuses to write, and one store never takes two sets', async () => {
    const client = await clientKinds.ioredis();
    const bare = redisStore({ client, prefix: nextPrefix(), localCache: false });
    const error = await bare.create('k', makeRecord(Date.now()), 60_000).catch((e: unknown) => e);
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/createSessionManager/);
    createSessionManager({ store: bare, secrets: [SECRET], secure: true, refresh: async (t) => t });
    await bare.create('k', makeRecord(Date.now()), 60_000);
    expect(() =>
      createSessionManager({
        store: bare,
        secrets: ['another-secret-that-is-long-enough-0002'],
        secure: true,
        refresh: async (t) => t,
      }),
    ).toThrow(/other secrets/);
  });

  it('bypasses and empties the cache while its invalidation connection is down, and resumes after reconnecting', async () => {
    const prefix = nextPrefix();
    const name = `vmpro-test-${randomUUID()}`;
    const a = await openStore('ioredis', prefix, name);
    expect(await eventually(() => a.localCacheActive)).toBe(true);
    await a.create('k', makeRecord(Date.now()), 60_000);
    await a.get('k');
    await admin.set(
      redisKeyLayout(prefix).record('k'),
      await sealedValue('k', makeRecord(Date.now(), { user: { sub: 'user-1', name: 'behind' } })),
      'PX',
      60_000,
    );
    expect((await a.get('k'))?.user.name).toBe('Dana Demo'); // cached
    // Kill the store's listening connection only (found by name and pub/sub flag).
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    expect(ids).toHaveLength(1);
    await admin.call('CLIENT', 'KILL', 'ID', ids[0]!);
    expect(await eventually(async () => (await a.get('k'))?.user.name === 'behind', 3000)).toBe(true);
    expect(await eventually(() => a.localCacheActive, 5000)).toBe(true);
  });

  it('reports VMPRO_STORE_UNAVAILABLE for a Redis that is not listening', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const client = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 100, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    cleanups.push(() => client.disconnect());
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const store = redisStore({ client, prefix: nextPrefix(), commandTimeoutMs: 300, logger });
    cleanups.push(() => store.close?.());
    for (const call of [() => store.get('k'), () => store.lock('k', 1000), () => store.keysBySid('s')]) {
      expect(storeUnavailable(await call().catch((e: unknown) => e))).toBe(true);
    }
    // The session manager on top: a 503-style error, no logout, cookies untouched.
    const manager = createSessionManager({ store, secrets: [SECRET], secure: true, refresh: async (t) => t });
    const browser = new Browser();
    browser.cookies.set('__Host-vmpro', 'C'.repeat(43));
    const jar = browser.request();
    expect(storeUnavailable(await manager.load(jar).catch((e: unknown) => e))).toBe(true);
    expect(jar.untouched).toBe(true);
  });

  it('does not cache a read that was in flight while another instance wrote a newer version', async () => {
    const prefix = nextPrefix();
    const real = await clientKinds.ioredis();
    const recordKey = redisKeyLayout(prefix).record('k');
    const heard: string[] = [];
    let hold: Promise<void> | null = null;
    let held = false;
    // The reply of A's read is held back (the network is slow) while B writes; A's listener is
    // watched, so that the test knows when the invalidation has reached A.
    const client = {
      call: async (command: string, ...args: string[]): Promise<unknown> => {
        const reply = await real.call(command, ...args);
        const isRead =
          (command === 'EVALSHA' || command === 'EVAL') && args.length === 3 && args[2] === recordKey;
        if (isRead && hold !== null) {
          held = true;
          await hold;
        }
        return reply;
      },
      duplicate: () => {
        const listener = real.duplicate();
        listener.on('message', (_channel: string, message: string) => heard.push(message));
        return listener;
      },
    };
    const a = redisStore({ client, prefix, heartbeatMs: 200, secrets: [SECRET] });
    cleanups.push(() => a.close?.());
    const b = await openStore('ioredis', prefix);
    expect(await eventually(() => a.localCacheActive && b.localCacheActive)).toBe(true);
    await b.create('k', makeRecord(Date.now(), { version: 1 }), 60_000);
    let release!: () => void;
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reading = a.get('k');
    expect(await eventually(() => held, 2000)).toBe(true); // Redis has answered version 1
    await b.update('k', makeRecord(Date.now(), { version: 2 }), 1, 60_000);
    expect(await eventually(() => heard.includes('w:2:k'), 2000)).toBe(true);
    hold = null;
    release();
    expect((await reading)?.version).toBe(1); // what Redis said when asked…
    expect((await a.get('k'))?.version).toBe(2); // …but not kept: the next read asks again
  });

  it('leaves no lock behind when a lock request timed out but Redis runs it later (a frozen Redis)', async () => {
    const prefix = nextPrefix();
    const real = await clientKinds.ioredis();
    // A frozen Redis: commands wait, then run in the order they were sent.
    let frozen = true;
    const backlog: (() => void)[] = [];
    const client = {
      call: (command: string, ...args: string[]): Promise<unknown> =>
        frozen
          ? new Promise((resolve, reject) =>
              backlog.push(() => void real.call(command, ...args).then(resolve, reject)),
            )
          : real.call(command, ...args),
    };
    const store = redisStore({ client, prefix, commandTimeoutMs: 200, localCache: false, secrets: [SECRET] });
    expect(storeUnavailable(await store.lock('k', 15_000).catch((e: unknown) => e))).toBe(true);
    frozen = false;
    for (const send of backlog.splice(0)) send();
    await real.ping(); // on the same connection: the late SET has run by now
    // …and the release queued behind it undoes it (without it, the lock would stay for 15 s).
    expect(
      await eventually(async () => (await admin.exists(redisKeyLayout(prefix).lock('k'))) === 0, 2000),
    ).toBe(true);
    const lock = await store.lock('k', 15_000);
    expect(lock).not.toBeNull();
    await lock?.release();
  });

  describe('the refresher on Redis', () => {
    async function twoInstances(kinds: [keyof typeof clientKinds, keyof typeof clientKinds]) {
      const prefix = nextPrefix();
      const stores = [await openStore(kinds[0], prefix), await openStore(kinds[1], prefix)] as const;
      const refresh = vi.fn<SessionManagerOptions['refresh']>(async () => {
        await sleep(30);
        return makeTokens(Date.now());
      });
      const managers = stores.map((store) =>
        createSessionManager({ store, secrets: [SECRET], secure: true, refresh }),
      ) as [SessionManager, SessionManager];
      const browser = new Browser();
      await managers[0].create(browser.request(), {
        tokens: makeTokens(Date.now() - 301_000),
        user: { sub: 'user-1' },
        sid: 'sid-1',
      });
      const request = async (manager: SessionManager) => {
        const jar = browser.request();
        const record = await manager.load(jar);
        if (record === null) throw new Error('no session');
        return manager.freshTokens(jar, record);
      };
      return { managers, refresh, request, browser };
    }

    it.each([
      ['ioredis', 'ioredis'],
      ['node-redis', 'node-redis'],
      ['ioredis', 'node-redis'],
    ] as const)('two instances (%s + %s): 50 requests split over both cause one refresh', async (x, y) => {
      const { managers, refresh, request } = await twoInstances([x, y]);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => request(managers[i % 2]!)));
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    });

    it('a logout on one instance is seen by the next request on the other', async () => {
      const { managers, browser } = await twoInstances(['ioredis', 'ioredis']);
      expect(await managers[1].load(browser.request())).not.toBeNull(); // now cached on instance 2
      await managers[0].destroy(browser.request());
      const stale = new Browser();
      expect(await eventually(async () => (await managers[1].load(stale.request())) === null)).toBe(true);
    });
  });
});
