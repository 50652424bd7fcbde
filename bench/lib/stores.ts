/**
 * The session stores' services for the benchmarks: a private single Redis, a Redis Cluster (the
 * test helper's six servers), PostgreSQL from DATABASE_URL — each found or started here, or a
 * reason why not that the benchmark prints — and the Keycloak-sized sessions written to measure
 * a store's footprint.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { makeRecord, makeTokens } from '../../src/session/test-support.js';
import type { SessionRecord, SessionStore } from '../../src/session/types.js';
import {
  clusterUnavailable,
  type RunningCluster,
  startRedisCluster,
} from '../../test/support/redis-cluster.js';
import { sleep } from './harness.js';

/** What a benchmark prints when DATABASE_URL is not set. */
export const NO_DATABASE_URL =
  'skipped: DATABASE_URL is not set (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)';

/** A free TCP port on 127.0.0.1 (free when asked). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A started service the benchmark stops at its end. */
export interface StartedService {
  /** The `VMPRO_SESSION_STORE` value for the demo. */
  storeValue: string;
  stop(): Promise<void>;
}

/** A private single Redis on a free port (nothing persisted; killed by `stop()` or when this process exits). */
export interface PrivateRedis extends StartedService {
  port: number;
  /** A plain connection for INFO / FLUSHALL; closed by `stop()`. */
  admin: Redis;
}

/**
 * Starts `redis-server` on a free port of 127.0.0.1; `{ skip }` says why it cannot (the binary
 * is missing).
 */
export async function startPrivateRedis(): Promise<PrivateRedis | { skip: string }> {
  const missing = clusterUnavailable();
  if (missing?.includes('not installed')) return { skip: `skipped: ${missing}` };
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  for (let i = 0; i < 100; i++) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    const ok = await probe
      .connect()
      .then(() => probe.ping())
      .catch(() => null);
    probe.disconnect();
    if (ok === 'PONG') {
      const admin = new Redis({ port, maxRetriesPerRequest: 1 });
      admin.on('error', () => {});
      return {
        port,
        admin,
        storeValue: `redis://127.0.0.1:${port}`,
        async stop() {
          admin.disconnect();
          kill();
          process.removeListener('exit', kill);
        },
      };
    }
    await sleep(50);
  }
  kill();
  return { skip: 'FAILED: redis-server did not answer PING within 5 s' };
}

/** A Redis Cluster of three primaries with a replica each, started for this benchmark. */
export interface BenchCluster extends StartedService {
  cluster: RunningCluster;
}

/**
 * Starts the test helper's six-server cluster (test/support/redis-cluster.ts) — or `{ skip }`
 * with the reason: redis-server / redis-cli missing or older than 7, or the cluster failed to form.
 */
export async function startBenchCluster(): Promise<BenchCluster | { skip: string }> {
  const missing = clusterUnavailable();
  if (missing !== undefined) return { skip: `skipped: ${missing}` };
  try {
    const cluster = await startRedisCluster();
    return {
      cluster,
      storeValue: `redis-cluster://${cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
      stop: () => cluster.close(),
    };
  } catch (error) {
    return { skip: `FAILED to start a Redis Cluster: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * DATABASE_URL when set and answering `SELECT 1` within 3 s; otherwise `{ skip }` with the reason
 * (never the URL's password).
 */
export async function databaseUrl(): Promise<{ url: string } | { skip: string }> {
  const url = process.env.DATABASE_URL;
  if (!url) return { skip: NO_DATABASE_URL };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { url };
  } catch (error) {
    return {
      skip: `skipped: PostgreSQL at DATABASE_URL does not answer (${(error as Error).message.split('\n')[0]})`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `used_memory` summed over `admins`. */
export async function usedMemory(admins: Redis[]): Promise<number> {
  let sum = 0;
  for (const admin of admins) {
    const info = String(await admin.info('memory'));
    sum += Number(/used_memory:(\d+)/.exec(info)?.[1]);
  }
  return sum;
}

/**
 * Session `i` as a login makes it: Keycloak-sized tokens of its own (access ~2 KB, refresh
 * ~0.9 KB, ID ~1.8 KB, random, so that no two sessions share a string), its own sid and user.
 */
export function sampleSession(i: number, now: number): SessionRecord {
  const sid = `9c1f6a52-${String(i).padStart(8, '0')}-4d0e-9d6c-2f3e8b7a1c55`;
  const sub = `f3b2c1d0-${String(i).padStart(8, '0')}-4a5b-8c9d-0e1f2a3b4c5d`;
  return makeRecord(now, {
    sid,
    tokens: makeTokens(now, { sid, sub }),
    user: { sub, name: 'Dana Demo', email: 'dana@example.com' },
  });
}

/**
 * Writes `count` sample sessions through `store.create` (an hour's TTL), `concurrency` at a time,
 * each under a random 43-character key like the manager's; resolves with the seconds it took.
 */
export async function writeSessions(
  store: SessionStore,
  count: number,
  concurrency: number,
): Promise<number> {
  const started = performance.now();
  const now = Date.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      await store.create(randomBytes(32).toString('base64url'), sampleSession(i, now), 3_600_000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}
