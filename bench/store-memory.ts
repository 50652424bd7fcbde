/**
 * Memory per 100 000 sessions, per session store: the same Keycloak-sized sessions (access token
 * ~2 KB, refresh ~0.9 KB, ID token ~1.8 KB, a sid and a user each; bench/lib/stores.ts) written
 * through each store's `create`, as a login writes them:
 *
 * - memory: the V8 heap of this process after a full GC, after − before (`maxEntries` raised to
 *   hold them all: its default keeps 10 000);
 * - Redis: `used_memory` of a private `redis-server` started here (not REDIS_URL's, which other
 *   programs may write to meanwhile), after − before;
 * - Redis Cluster: `used_memory` summed over the three primaries of a cluster started here
 *   (test/support/redis-cluster.ts); each replica holds a copy on top, printed next to it;
 * - PostgreSQL (DATABASE_URL): `pg_total_relation_size` (heap + TOAST + indexes) of a fresh
 *   table after `VACUUM ANALYZE`, for a smaller sample (PG_MEMORY_SESSIONS, default 10 000)
 *   scaled to 100 000: a committed row per session takes a few ms on this machine, and the sizes
 *   grow linearly. The sample is written with `synchronous_commit = off` on the writing
 *   connections, which changes when a commit returns, not what is stored. The table is dropped.
 *
 * The Redis and PostgreSQL stores seal every record (JWE, A256GCM), the memory store keeps the
 * object. Their local caches (in each app process, 10 000 records by default) are off here.
 *
 *   npx tsx bench/store-memory.ts   (STORE_MEMORY_SESSIONS=100000, PG_MEMORY_SESSIONS=10000, BENCH_STORES=memory,redis,redis-cluster,postgres)
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Cluster } from 'ioredis';
import pg from 'pg';
import { memoryStore } from '../src/session/memory-store.js';
import { postgresStore, postgresStoreSchema } from '../src/session/postgres-store.js';
import { redisStore } from '../src/session/redis-store.js';
import { SECRET } from '../src/session/test-support.js';
import type { SessionStore } from '../src/session/types.js';
import { envNumber, type Figure, figureLine, isMain, runAsScript, sleep } from './lib/harness.js';
import {
  databaseUrl,
  startBenchCluster,
  startPrivateRedis,
  usedMemory,
  writeSessions,
} from './lib/stores.js';

const BENCH = 'store-memory';
const SESSIONS = envNumber('STORE_MEMORY_SESSIONS', 100_000);
const PG_SESSIONS = envNumber('PG_MEMORY_SESSIONS', 10_000);
const PER = 100_000;

const mib = (bytes: number) => bytes / 1024 / 1024;

interface Measured {
  /** Bytes for SESSIONS (or the sample), before scaling. */
  bytes: number;
  sessions: number;
  seconds: number;
  note: string;
}

function figure(store: string, m: Measured | { skip: string }): Figure {
  const label = `${store}: memory per 100 000 sessions (MiB)`;
  if ('skip' in m) {
    return { bench: BENCH, label, value: null, target: 'report only', met: null, note: m.skip };
  }
  const perSession = m.bytes / m.sessions;
  const sample =
    m.sessions === PER
      ? ''
      : `measured on ${m.sessions.toLocaleString('en-US')} and scaled ×${(PER / m.sessions).toFixed(1)}; `;
  return {
    bench: BENCH,
    label,
    value: mib(perSession * PER),
    digits: 1,
    target: 'report only',
    met: null,
    note: `${sample}${Math.round(perSession)} B per session; written in ${m.seconds.toFixed(1)} s; ${m.note}`,
  };
}

/** A full collection (exposes `gc` to this process on first use). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

async function measureMemoryStore(): Promise<Measured> {
  fullGc();
  const before = process.memoryUsage().heapUsed;
  const store = memoryStore({ maxEntries: SESSIONS + 1 });
  const seconds = await writeSessions(store, SESSIONS, 1);
  fullGc();
  const bytes = process.memoryUsage().heapUsed - before;
  // Keep the store (and its records) reachable until after the measurement.
  const note = `V8 heap after a full GC; ${(store as SessionStore).kind} store, objects as they are`;
  await store.close?.();
  return { bytes, sessions: SESSIONS, seconds, note };
}

async function measureRedis(): Promise<Measured | { skip: string }> {
  const redis = await startPrivateRedis();
  if ('skip' in redis) return redis;
  try {
    const store = redisStore({ client: redis.admin, localCache: false, secrets: [SECRET] });
    await sleep(200);
    const before = await usedMemory([redis.admin]);
    const seconds = await writeSessions(store, SESSIONS, 64);
    const bytes = (await usedMemory([redis.admin])) - before;
    await store.close?.();
    return {
      bytes,
      sessions: SESSIONS,
      seconds,
      note: 'used_memory of a private redis-server 7, sealed records',
    };
  } finally {
    await redis.stop();
  }
}

async function measureCluster(): Promise<Measured | { skip: string }> {
  const started = await startBenchCluster();
  if ('skip' in started) return started;
  const { cluster } = started;
  const client = new Cluster(cluster.startupNodes as Array<{ host: string; port: number }>);
  client.on('error', () => {});
  try {
    const primaries = (await cluster.primaries()).map((port) => cluster.admin(port));
    const everyNode = cluster.nodes.map((node) => cluster.admin(node.port));
    const store = redisStore({ client, localCache: false, secrets: [SECRET] });
    await sleep(200);
    const before = await usedMemory(primaries);
    const beforeAll = await usedMemory(everyNode);
    const seconds = await writeSessions(store, SESSIONS, 64);
    // Let the replicas catch up before their memory is read.
    await sleep(1000);
    const bytes = (await usedMemory(primaries)) - before;
    const allNodes = (await usedMemory(everyNode)) - beforeAll;
    await store.close?.();
    return {
      bytes,
      sessions: SESSIONS,
      seconds,
      note: `used_memory summed over the 3 primaries; all 6 nodes with their replicas: ${mib((allNodes / SESSIONS) * PER).toFixed(1)} MiB`,
    };
  } finally {
    client.disconnect();
    await started.stop();
  }
}

async function measurePostgres(): Promise<Measured | { skip: string }> {
  const db = await databaseUrl();
  if ('skip' in db) return db;
  const table = `vmpro_bench_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({
    connectionString: db.url,
    max: 34,
    connectionTimeoutMillis: 5000,
    options: '-c synchronous_commit=off',
  });
  pool.on('error', () => {});
  try {
    await pool.query(postgresStoreSchema(table));
    const store = postgresStore({
      pool,
      table,
      localCache: false,
      secrets: [SECRET],
      commandTimeoutMs: 10_000,
    });
    const seconds = await writeSessions(store, PG_SESSIONS, 32);
    await store.close?.();
    await pool.query(`VACUUM ANALYZE ${table}`);
    const { rows } = await pool.query(
      `SELECT pg_total_relation_size($1::regclass)::float8 AS total,
              pg_relation_size($1::regclass)::float8 AS heap,
              pg_indexes_size($1::regclass)::float8 AS indexes,
              (SELECT avg(octet_length(data))::float8 FROM ${table}) AS sealed,
              (SELECT count(*)::float8 FROM ${table} WHERE kind = 's') AS count`,
      [table],
    );
    const size = rows[0] as { total: number; heap: number; indexes: number; sealed: number; count: number };
    if (size.count !== PG_SESSIONS)
      throw new Error(`wrote ${PG_SESSIONS} sessions, found ${size.count} rows`);
    const scaled = (bytes: number) => mib((bytes / size.count) * PER).toFixed(1);
    return {
      bytes: size.total,
      sessions: size.count,
      seconds,
      note: `pg_total_relation_size: heap ${scaled(size.heap)}, TOAST ${scaled(size.total - size.heap - size.indexes)}, indexes ${scaled(size.indexes)} MiB; sealed record ${Math.round(size.sealed)} B`,
    };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool.end();
  }
}

export async function run(): Promise<Figure[]> {
  const only = process.env.BENCH_STORES?.split(',').map((name) => name.trim());
  console.log(`\n## ${BENCH}: memory per 100 000 sessions, per session store`);
  console.log(
    `   ${SESSIONS.toLocaleString('en-US')} Keycloak-sized sessions per store through store.create (PostgreSQL: ${PG_SESSIONS.toLocaleString('en-US')}, scaled); local caches off`,
  );
  const stores: Array<[string, () => Promise<Measured | { skip: string }>]> = [
    ['memory', measureMemoryStore],
    ['redis', measureRedis],
    ['redis-cluster', measureCluster],
    ['postgres', measurePostgres],
  ];
  const figures: Figure[] = [];
  for (const [name, measure] of stores) {
    if (only && !only.includes(name)) continue;
    let result: Measured | { skip: string };
    try {
      result = await measure();
    } catch (error) {
      result = { skip: `FAILED: ${(error as Error).message.split('\n')[0]}` };
    }
    const f = figure(name, result);
    console.log(figureLine(f));
    figures.push(f);
  }
  return figures;
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
