import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isVmproError } from '../errors.js';
import { createSessionManager } from './manager.js';
import {
  type PgPoolLike,
  type PostgresSessionStore,
  type PostgresStoreOptions,
  postgresStore,
  postgresStoreSchema,
} from './postgres-store.js';
import { Browser, eventually, makeRecord, makeTokens, SECRET } from './test-support.js';
import type { SessionManager, SessionManagerOptions } from './types.js';

const url = process.env.DATABASE_URL;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const storeUnavailable = (error: unknown) => isVmproError(error, 'VMPRO_STORE_UNAVAILABLE');
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

describe.skipIf(!url)('postgres store (needs a real PostgreSQL: set DATABASE_URL)', () => {
  /** This file's table (random suffix), created by the first store and dropped at the end. */
  const table = `vmpro_test_${randomBytes(5).toString('hex')}`;
  const extraTables: string[] = [];
  let admin: pg.Pool;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  let n = 0;
  /** A fresh key prefix per store group: tests share the table, never rows. */
  const nextPrefix = () => `t${++n}:`;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: url!, max: 4 });
    await admin.query(postgresStoreSchema(table));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    for (const name of [table, ...extraTables]) await admin.query(`DROP TABLE IF EXISTS ${name}`);
    await admin.end();
  });

  function openPool(options: pg.PoolConfig = {}): pg.Pool {
    const pool = new pg.Pool({ connectionString: url!, max: 5, ...options });
    pool.on('error', () => {});
    cleanups.push(() => pool.end());
    return pool;
  }

  function openStore(
    prefix: string,
    options: Partial<PostgresStoreOptions> & { applicationName?: string } = {},
  ): PostgresSessionStore {
    const { applicationName, ...rest } = options;
    const store = postgresStore({
      pool: rest.pool ?? openPool(applicationName === undefined ? {} : { application_name: applicationName }),
      table,
      keyPrefix: prefix,
      heartbeatMs: 200,
      secrets: [SECRET],
      ...rest,
    });
    cleanups.push(() => store.close?.());
    return store;
  }

  /** The stored row of a session, as the database holds it. */
  const row = async (prefix: string, key: string, kind = 's') =>
    (
      await admin.query(`SELECT * FROM ${table} WHERE prefix = $1 AND kind = $2 AND key = $3`, [
        prefix,
        kind,
        key,
      ])
    ).rows[0] as Record<string, unknown> | undefined;

  describe('records', () => {
    it('returns what was created, and null for an unknown key', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix);
      const record = makeRecord(Date.now());
      await store.create('k1', record, 60_000);
      expect(await store.get('k1')).toEqual(record);
      expect(await row(prefix, 'k1')).toBeDefined();
      expect(await store.get('nope')).toBeNull();
    });

    it('gives the row the lifetime it was asked for, on the database clock', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix);
      await store.create('k', makeRecord(Date.now()), 60_000);
      const { rows } = await admin.query(
        `SELECT extract(epoch FROM expires_at - now())::float8 AS left FROM ${table} WHERE prefix = $1 AND key = 'k'`,
        [prefix],
      );
      expect(rows[0].left).toBeGreaterThan(55);
      expect(rows[0].left).toBeLessThanOrEqual(60);
    });

    it('forgets a record once its lifetime has passed, even before the sweep', async () => {
      const store = openStore(nextPrefix(), { localCache: false });
      await store.create('k', makeRecord(Date.now()), 300);
      expect(await store.get('k')).not.toBeNull();
      await sleep(400);
      expect(await store.get('k')).toBeNull();
    });

    it('updates only when the expected version matches (compare-and-set)', async () => {
      const store = openStore(nextPrefix());
      await store.create('k', makeRecord(Date.now(), { version: 1 }), 60_000);
      expect(await store.update('k', makeRecord(Date.now(), { version: 2, sid: 'b' }), 1, 60_000)).toBe(true);
      expect(await store.update('k', makeRecord(Date.now(), { version: 3, sid: 'c' }), 1, 60_000)).toBe(
        false,
      );
      expect((await store.get('k', { fresh: true }))?.sid).toBe('b');
      expect(await store.update('gone', makeRecord(Date.now(), { version: 2 }), 1, 60_000)).toBe(false);
      expect(await store.get('gone')).toBeNull();
    });

    it('lets exactly one of two concurrent writers of the same version win', async () => {
      const prefix = nextPrefix();
      const a = openStore(prefix, { localCache: false });
      const b = openStore(prefix, { localCache: false });
      await a.create('k', makeRecord(Date.now(), { version: 1 }), 60_000);
      const results = await Promise.all([
        a.update('k', makeRecord(Date.now(), { version: 2, sid: 'from-a' }), 1, 60_000),
        b.update('k', makeRecord(Date.now(), { version: 2, sid: 'from-b' }), 1, 60_000),
      ]);
      expect(results.sort()).toEqual([false, true]);
    });

    it('keeps records encrypted at rest: the table holds no token, name or e-mail in clear', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix);
      const record = makeRecord(Date.now(), {
        sid: 's1',
        user: { sub: 'user-1', name: 'Dana Demo', email: 'dana@example.com' },
      });
      await store.create('k', record, 60_000);
      const stored = JSON.stringify(await row(prefix, 'k'));
      for (const secret of [
        record.tokens.accessToken,
        record.tokens.refreshToken!,
        record.tokens.idToken!,
        'Dana Demo',
        'dana@example.com',
      ]) {
        expect(stored).not.toContain(secret);
      }
      // What the SQL needs stays readable: version (compare-and-set), sid and sub (logout indexes).
      expect(await row(prefix, 'k')).toMatchObject({ version: 1, sid: 's1', sub: 'user-1' });
      expect(await store.get('k', { fresh: true })).toEqual(record);
    });

    it('hands out read-only records: mutating one read (even from the cache) throws and changes nothing', async () => {
      const store = openStore(nextPrefix());
      await store.create('k', makeRecord(Date.now()), 60_000);
      await eventually(() => store.localCacheActive);
      await store.get('k');
      const first = await store.get('k');
      expect(() => {
        first!.user.name = 'mutated';
      }).toThrow(TypeError);
      expect((await store.get('k'))?.user.name).toBe('Dana Demo');
    });

    it('keeps apps with different key prefixes apart in one table', async () => {
      const a = openStore(nextPrefix());
      const b = openStore(nextPrefix());
      await a.create('same', makeRecord(Date.now(), { sid: 'shared-sid' }), 60_000);
      expect(await b.get('same')).toBeNull();
      expect(await b.keysBySid('shared-sid')).toEqual([]);
      expect(await a.keysBySid('shared-sid')).toEqual(['same']);
    });
  });

  describe('malformed and tampered rows', () => {
    it('refuses (logs and deletes) garbage, a plaintext record, a record moved from another key, and one sealed with other secrets', async () => {
      const prefix = nextPrefix();
      const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
      const store = openStore(prefix, { localCache: false, logger });
      const record = makeRecord(Date.now());
      await store.create('original', record, 60_000);
      const sealed = (await row(prefix, 'original'))!.data as string;
      const otherSecrets = openStore(prefix, {
        localCache: false,
        secrets: ['another-secret-that-is-long-enough-0002'],
      });
      await otherSecrets.create('other-secret', record, 60_000);
      const cases: Array<[string, string | null]> = [
        ['garbage', '{"not":"a session"'],
        ['plain', JSON.stringify(record)],
        ['moved', sealed],
        ['empty', null],
      ];
      for (const [key, data] of cases) {
        await admin.query(
          `INSERT INTO ${table} (prefix, kind, key, version, sid, sub, data, expires_at) VALUES ($1, 's', $2, 1, 'sid-1', 'user-1', $3, now() + interval '1 minute')`,
          [prefix, key, data],
        );
      }
      for (const key of ['garbage', 'plain', 'moved', 'empty', 'other-secret']) {
        expect(await store.get(key)).toBeNull();
        expect(await row(prefix, key)).toBeUndefined();
      }
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(/unreadable session record/),
        expect.anything(),
      );
      // The logs name no token and no sealed value.
      expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(record.tokens.accessToken);
      expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(sealed.slice(0, 40));
      expect(await store.get('original')).toEqual(record);
    });

    it('refuses a row whose clear version, sid or sub was changed behind the seal', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix, { localCache: false });
      for (const [key, change] of [
        ['version', `version = 7`],
        ['sid', `sid = 'someone-else'`],
        ['sub', `sub = 'user-2'`],
      ] as const) {
        await store.create(key, makeRecord(Date.now()), 60_000);
        await admin.query(`UPDATE ${table} SET ${change} WHERE prefix = $1 AND key = $2`, [prefix, key]);
        expect(await store.get(key)).toBeNull();
        expect(await row(prefix, key)).toBeUndefined();
      }
    });

    it('through the session manager a tampered row is a clean “not logged in”, never an exception', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix, { localCache: false });
      const manager = createSessionManager({
        store,
        secrets: [SECRET],
        secure: true,
        refresh: async (t) => t,
      });
      const browser = new Browser();
      const created = await manager.create(browser.request(), {
        tokens: makeTokens(Date.now()),
        user: { sub: 'user-1' },
        sid: 'sid-1',
      });
      expect((await manager.load(browser.request()))?.id).toBe(created.id);
      await admin.query(`UPDATE ${table} SET data = left(data, 200) WHERE prefix = $1`, [prefix]);
      const jar = browser.request();
      expect(await manager.load(jar)).toBeNull();
      expect(jar.deleteCalls.map((c) => c.name)).toContain('__Host-vmpro');
    });
  });

  describe('back-channel logout indexes', () => {
    it('finds sessions by sid and by sub, and drops them on delete', async () => {
      const store = openStore(nextPrefix());
      await store.create('a', makeRecord(Date.now(), { sid: 's1', user: { sub: 'u1' } }), 60_000);
      await store.create('b', makeRecord(Date.now(), { sid: 's2', user: { sub: 'u1' } }), 60_000);
      expect(await store.keysBySid('s1')).toEqual(['a']);
      expect((await store.keysBySub('u1')).sort()).toEqual(['a', 'b']);
      await store.delete('a');
      expect(await store.get('a')).toBeNull();
      expect(await store.keysBySid('s1')).toEqual([]);
      expect(await store.keysBySub('u1')).toEqual(['b']);
    });

    it('moves a session to its new sid when an update changes it', async () => {
      const store = openStore(nextPrefix());
      await store.create('a', makeRecord(Date.now(), { sid: null }), 60_000);
      await store.update('a', makeRecord(Date.now(), { sid: 's9', version: 2 }), 1, 60_000);
      expect(await store.keysBySid('s9')).toEqual(['a']);
    });

    it('leaves expired sessions out', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix);
      await store.create('a', makeRecord(Date.now(), { sid: 's1' }), 60_000);
      await admin.query(`UPDATE ${table} SET expires_at = now() - interval '1 second' WHERE prefix = $1`, [
        prefix,
      ]);
      expect(await store.keysBySid('s1')).toEqual([]);
      expect(await store.keysBySub('user-1')).toEqual([]);
    });

    it('ends every session of a sid through the session manager (back-channel logout)', async () => {
      const store = openStore(nextPrefix());
      const manager = createSessionManager({
        store,
        secrets: [SECRET],
        secure: true,
        refresh: async (t) => t,
      });
      const browsers = [new Browser(), new Browser(), new Browser()];
      for (const [i, browser] of browsers.entries()) {
        await manager.create(browser.request(), {
          tokens: makeTokens(Date.now()),
          user: { sub: 'user-1' },
          sid: i < 2 ? 'sid-x' : 'sid-y',
        });
      }
      expect(await manager.endSessions({ sid: 'sid-x' })).toBe(2);
      expect(await manager.load(browsers[0]!.request())).toBeNull();
      expect(await manager.load(browsers[1]!.request())).toBeNull();
      expect(await manager.load(browsers[2]!.request())).not.toBeNull();
    });
  });

  describe('the refresh lock and claims', () => {
    it('grants the lock to one holder; release deletes only its own lock', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix);
      const first = await store.lock('k', 60_000);
      expect(first).not.toBeNull();
      expect(await store.lock('k', 60_000)).toBeNull();
      await first!.release();
      const stale = await store.lock('k', 60_000);
      await admin.query(`DELETE FROM ${table} WHERE prefix = $1 AND kind = 'l'`, [prefix]); // as if it had expired
      const current = await store.lock('k', 60_000);
      expect(current).not.toBeNull();
      await stale!.release();
      expect(await store.lock('k', 60_000)).toBeNull();
    });

    it('lets exactly one of many instances take a free lock at the same moment', async () => {
      const prefix = nextPrefix();
      const stores = Array.from({ length: 4 }, () => openStore(prefix, { localCache: false }));
      const locks = await Promise.all(stores.flatMap((s) => [s.lock('k', 60_000), s.lock('k', 60_000)]));
      expect(locks.filter((l) => l !== null)).toHaveLength(1);
    });

    it('ends a crashed holder’s lock with its lease', async () => {
      const prefix = nextPrefix();
      const crashed = openStore(prefix, { localCache: false });
      expect(await crashed.lock('k', 300)).not.toBeNull(); // never released
      const other = openStore(prefix, { localCache: false });
      expect(await other.lock('k', 10_000)).toBeNull();
      await sleep(400);
      expect(await other.lock('k', 10_000)).not.toBeNull();
    });

    it('claims a name once across stores, with the given lifetime, and again after it expires', async () => {
      const prefix = nextPrefix();
      const a = openStore(prefix);
      const b = openStore(prefix);
      const results = await Promise.all([a.claim!('tx:one', 60_000), b.claim!('tx:one', 60_000)]);
      expect(results.sort()).toEqual([false, true]);
      const { rows } = await admin.query(
        `SELECT extract(epoch FROM expires_at - now())::float8 AS left FROM ${table} WHERE prefix = $1 AND kind = 'c'`,
        [prefix],
      );
      expect(rows[0].left).toBeGreaterThan(55);
      await admin.query(`UPDATE ${table} SET expires_at = now() - interval '1 second' WHERE prefix = $1`, [
        prefix,
      ]);
      expect(await b.claim!('tx:one', 60_000)).toBe(true);
    });

    it('leaves no lock behind when a lock request timed out but the database ran it later', async () => {
      const prefix = nextPrefix();
      const real = openPool();
      // A stalled database: queries wait, then run in the order they were sent.
      let frozen = true;
      const backlog: (() => Promise<unknown>)[] = [];
      const pool: PgPoolLike = {
        query: (config) =>
          frozen
            ? new Promise((resolve, reject) => backlog.push(() => real.query(config).then(resolve, reject)))
            : real.query(config),
        connect: () => real.connect(),
      };
      const store = openStore(prefix, { pool, commandTimeoutMs: 200, localCache: false });
      expect(storeUnavailable(await errorOf(store.lock('k', 15_000)))).toBe(true);
      frozen = false;
      await Promise.allSettled(backlog.splice(0).map((send) => send()));
      // The late INSERT has run; the compare-and-delete the store keeps sending undoes it
      // (without it, the lock would stay for 15 s).
      expect(await eventually(async () => (await row(prefix, 'k', 'l')) === undefined, 3000)).toBe(true);
      const lock = await store.lock('k', 15_000);
      expect(lock).not.toBeNull();
      await lock?.release();
    });
  });

  describe('the local cache (LISTEN/NOTIFY)', () => {
    it('serves repeated reads locally, and drops a record another instance deleted', async () => {
      const prefix = nextPrefix();
      const a = openStore(prefix);
      const b = openStore(prefix);
      expect(await eventually(() => a.localCacheActive && b.localCacheActive)).toBe(true);
      await b.create('k', makeRecord(Date.now()), 60_000);
      expect((await a.get('k'))?.user.name).toBe('Dana Demo');
      // Change the row behind everyone's back (no NOTIFY): A still answers from its cache…
      const writer = openStore(`${prefix}scratch:`, { localCache: false });
      await writer.create('k', makeRecord(Date.now(), { user: { sub: 'user-1', name: 'behind' } }), 60_000);
      await admin.query(
        `UPDATE ${table} AS t SET data = (SELECT data FROM ${table} WHERE prefix = $2 AND key = 'k') WHERE t.prefix = $1 AND t.key = 'k'`,
        [prefix, `${prefix}scratch:`],
      );
      expect((await a.get('k'))?.user.name).toBe('Dana Demo');
      // …a fresh read goes to the database (and finds a record sealed for another prefix: refused).
      expect(await a.get('k', { fresh: true })).toBeNull();
      await b.create('k', makeRecord(Date.now()), 60_000);
      expect((await a.get('k'))?.user.name).toBe('Dana Demo'); // cached again
      await b.delete('k');
      expect(await eventually(async () => (await a.get('k')) === null, 2000)).toBe(true);
    });

    it('sees another instance’s update', async () => {
      const prefix = nextPrefix();
      const a = openStore(prefix);
      const b = openStore(prefix);
      expect(await eventually(() => a.localCacheActive && b.localCacheActive)).toBe(true);
      await a.create('k', makeRecord(Date.now(), { version: 1 }), 60_000);
      expect((await a.get('k'))?.version).toBe(1);
      await b.update('k', makeRecord(Date.now(), { version: 2 }), 1, 60_000);
      expect(await eventually(async () => (await a.get('k'))?.version === 2, 2000)).toBe(true);
    });

    it('bypasses and empties the cache when its listening connection is killed, and resumes on a new one', async () => {
      const prefix = nextPrefix();
      const applicationName = `vmpro-test-${randomUUID().slice(0, 8)}`;
      const a = openStore(prefix, { applicationName });
      expect(await eventually(() => a.localCacheActive)).toBe(true);
      await a.create('k', makeRecord(Date.now()), 60_000);
      await a.get('k');
      await admin.query(`UPDATE ${table} SET expires_at = now() - interval '1 second' WHERE prefix = $1`, [
        prefix,
      ]);
      expect((await a.get('k'))?.user.name).toBe('Dana Demo'); // cached (no NOTIFY for that change)
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
        [applicationName],
      );
      expect(rows).toEqual([{ killed: true }]);
      expect(await eventually(async () => (await a.get('k')) === null, 2000)).toBe(true);
      expect(await eventually(() => a.localCacheActive, 5000)).toBe(true);
    });

    it('does not cache a read that was in flight while another instance wrote a newer version', async () => {
      const prefix = nextPrefix();
      const pool = openPool();
      const heard: unknown[] = [];
      let hold: Promise<void> | null = null;
      let held = false;
      // The answer to A's read is held back (the network is slow) while B writes; A's listening
      // connection is watched, so that the test knows when the NOTIFY has reached A.
      const slowPool: PgPoolLike = {
        query: async (config) => {
          const result = await pool.query(config as pg.QueryConfig);
          if (hold !== null && config.text.startsWith('SELECT version, sid, sub, data')) {
            held = true;
            await hold;
          }
          return result;
        },
        connect: async () => {
          const client = await pool.connect();
          client.on('notification', (message) => heard.push(message.payload));
          return client;
        },
      };
      const a = openStore(prefix, { pool: slowPool });
      const b = openStore(prefix);
      expect(await eventually(() => a.localCacheActive && b.localCacheActive)).toBe(true);
      await b.create('k', makeRecord(Date.now(), { version: 1 }), 60_000);
      let release!: () => void;
      hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      const reading = a.get('k');
      expect(await eventually(() => held, 2000)).toBe(true); // the database has answered version 1
      await b.update('k', makeRecord(Date.now(), { version: 2 }), 1, 60_000);
      expect(await eventually(() => heard.includes('w:2:k'), 2000)).toBe(true);
      hold = null;
      release();
      expect((await reading)?.version).toBe(1); // what the database said when asked…
      expect((await a.get('k'))?.version).toBe(2); // …but not kept: the next read asks again
    });

    it('close() gives the listening connection back and stops its timers', async () => {
      const pool = openPool();
      const store = openStore(nextPrefix(), { pool });
      expect(await eventually(() => store.localCacheActive)).toBe(true);
      expect(pool.totalCount - pool.idleCount).toBe(1); // the LISTEN connection is checked out
      await store.close?.();
      expect(store.localCacheActive).toBe(false);
      expect(await eventually(() => pool.totalCount === pool.idleCount, 1000)).toBe(true);
    });
  });

  describe('expiry sweep', () => {
    it('deletes expired rows of every kind on its timer, and leaves live ones', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix, { sweepIntervalMs: 100, localCache: false });
      await store.create('short', makeRecord(Date.now()), 50);
      await store.create('live', makeRecord(Date.now()), 60_000);
      await store.lock('short-lock', 50);
      await store.claim!('short-claim', 50);
      expect(
        await eventually(async () => {
          const { rows } = await admin.query(`SELECT key FROM ${table} WHERE prefix = $1`, [prefix]);
          return rows.length === 1 && rows[0].key === 'live';
        }, 3000),
      ).toBe(true);
    });

    it('sweep() says how many rows it deleted', async () => {
      const prefix = nextPrefix();
      const store = openStore(prefix, { localCache: false });
      await store.create('a', makeRecord(Date.now()), 60_000);
      await store.create('b', makeRecord(Date.now()), 60_000);
      await admin.query(`UPDATE ${table} SET expires_at = now() - interval '1 second' WHERE prefix = $1`, [
        prefix,
      ]);
      expect(await store.sweep()).toBeGreaterThanOrEqual(2);
      expect(await row(prefix, 'a')).toBeUndefined();
    });
  });

  describe('the table', () => {
    it('creates its table on request (createTable), once even when several instances start together', async () => {
      const own = `vmpro_test_${randomBytes(5).toString('hex')}`;
      extraTables.push(own);
      const stores = Array.from({ length: 3 }, () =>
        openStore('', { table: own, createTable: true, localCache: false }),
      );
      await Promise.all(stores.map((s, i) => s.create(`k${i}`, makeRecord(Date.now()), 60_000)));
      expect(await stores[0]!.get('k2')).not.toBeNull();
      const { rows } = await admin.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [
        own,
      ]);
      expect(rows.map((r) => r.indexname)).toEqual([
        `${own}_expires_idx`,
        `${own}_pkey`,
        `${own}_sid_idx`,
        `${own}_sub_idx`,
      ]);
    });

    it('without the table, answers VMPRO_STORE_UNAVAILABLE saying how to create it', async () => {
      const store = openStore('', {
        table: `vmpro_missing_${randomBytes(4).toString('hex')}`,
        localCache: false,
      });
      const error = await errorOf(store.get('k'));
      expect(storeUnavailable(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /does not exist: pass `createTable: true` or run the SQL of postgresStoreSchema/,
      );
    });

    it('refuses a table name it would have to quote or that PostgreSQL would fold, with a typed error', () => {
      for (const bad of ['Sessions', 'a;drop table x', 'x.y.z', '', 'a'.repeat(49)]) {
        expect(() => postgresStore({ pool: openPool(), table: bad })).toThrow(
          expect.objectContaining({ code: 'VMPRO_CONFIG_INVALID', field: 'table' }),
        );
      }
      expect(() => postgresStoreSchema('x"y')).toThrow(expect.objectContaining({ field: 'table' }));
      expect(() => postgresStore({ pool: {} as PgPoolLike })).toThrow(
        expect.objectContaining({ field: 'pool' }),
      );
      expect(() => postgresStore({ pool: openPool(), commandTimeoutMs: 0 })).toThrow(
        expect.objectContaining({ field: 'commandTimeoutMs' }),
      );
    });

    it('works on a table in another schema', async () => {
      const schema = `vmpro_test_schema_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      cleanups.push(() => admin.query(`DROP SCHEMA ${schema} CASCADE`));
      const store = openStore('', { table: `${schema}.sessions`, createTable: true });
      await store.create('k', makeRecord(Date.now(), { sid: 's' }), 60_000);
      expect(await store.keysBySid('s')).toEqual(['k']);
    });
  });

  describe('errors a human can act on', () => {
    it('says so when the database refuses the login', async () => {
      const bad = new URL(url!);
      bad.username = `vmpro_no_such_role_${randomBytes(3).toString('hex')}`;
      const store = openStore(nextPrefix(), {
        pool: openPool({ connectionString: bad.toString() }),
        localCache: false,
      });
      const error = await errorOf(store.get('k'));
      expect(storeUnavailable(error)).toBe(true);
      expect((error as Error).message).toMatch(/refused the connection: check the pool’s connection string/);
    });

    it('says so when the database user may not use the table', async () => {
      const role = `vmpro_test_role_${randomBytes(3).toString('hex')}`;
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      const limited = new URL(url!);
      limited.username = role;
      const pool = new pg.Pool({ connectionString: limited.toString(), max: 1 });
      pool.on('error', () => {});
      cleanups.push(async () => {
        await pool.end();
        await admin.query(`DROP ROLE ${role}`);
      });
      const store = openStore(nextPrefix(), { pool, localCache: false });
      const error = await errorOf(store.get('k'));
      expect(storeUnavailable(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /may not use the table .*: grant it SELECT, INSERT, UPDATE, DELETE/,
      );
    });

    it('listens for errors on a pool nobody listens on (an idle connection dying would crash the app), and stops on close', async () => {
      const pool = new pg.Pool({ connectionString: url!, max: 2 });
      cleanups.push(() => pool.end());
      const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
      const store = postgresStore({ pool, table, localCache: false, logger });
      expect(pool.listenerCount('error')).toBe(1);
      expect(() =>
        pool.emit('error', new Error('terminating connection due to administrator command')),
      ).not.toThrow();
      expect(logger.warn).toHaveBeenCalledWith('an idle PostgreSQL connection failed', { error: 'Error' });
      await store.close?.();
      expect(pool.listenerCount('error')).toBe(0);
    });
  });

  describe('outages', () => {
    it('reports VMPRO_STORE_UNAVAILABLE (retryable) once the pool has ended', async () => {
      const pool = new pg.Pool({ connectionString: url! });
      const store = openStore(nextPrefix(), { pool, localCache: false });
      await pool.end();
      const error = await errorOf(store.get('k'));
      expect(storeUnavailable(error)).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(true);
    });

    it('reports VMPRO_STORE_UNAVAILABLE for a database that is not listening, and the manager keeps the cookie', async () => {
      const port = await new Promise<number>((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
          const { port: p } = server.address() as { port: number };
          server.close(() => resolve(p));
        });
      });
      const pool = openPool({ connectionString: `postgres://postgres@127.0.0.1:${port}/test` });
      const store = openStore(nextPrefix(), { pool, commandTimeoutMs: 300 });
      for (const call of [() => store.get('k'), () => store.lock('k', 1000), () => store.keysBySid('s')]) {
        expect(storeUnavailable(await errorOf(call()))).toBe(true);
      }
      const manager = createSessionManager({
        store,
        secrets: [SECRET],
        secure: true,
        refresh: async (t) => t,
      });
      const browser = new Browser();
      browser.cookies.set('__Host-vmpro', 'C'.repeat(43));
      const jar = browser.request();
      expect(storeUnavailable(await errorOf(manager.load(jar)))).toBe(true);
      expect(jar.untouched).toBe(true);
    });
  });

  it('needs secrets: without them it refuses to write, and one store never takes two sets', async () => {
    const bare = postgresStore({ pool: openPool(), table, keyPrefix: nextPrefix(), localCache: false });
    cleanups.push(() => bare.close?.());
    const error = await errorOf(bare.create('k', makeRecord(Date.now()), 60_000));
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

  describe('the refresher on PostgreSQL', () => {
    async function twoInstances() {
      const prefix = nextPrefix();
      const stores = [openStore(prefix), openStore(prefix)] as const;
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
      return { managers, refresh, request, browser, stores };
    }

    it('two instances: 50 requests split over both cause one refresh', async () => {
      const { managers, refresh, request } = await twoInstances();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => request(managers[i % 2]!)));
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    });

    it('a logout on one instance is seen by the next request on the other, whose cache held the session', async () => {
      const { managers, browser, stores } = await twoInstances();
      expect(await eventually(() => stores[1].localCacheActive)).toBe(true);
      expect(await managers[1].load(browser.request())).not.toBeNull(); // now cached on instance 2
      const stale = new Browser(); // a copy of the cookie, kept after the logout
      for (const [name, value] of browser.cookies) stale.cookies.set(name, value);
      await managers[0].destroy(browser.request());
      expect(await eventually(async () => (await managers[1].load(stale.request())) === null, 2000)).toBe(
        true,
      );
    });
  });
});
