/**
 * The Redis store on a Redis Cluster against a single Redis, both started by this script (the
 * cluster by test/support/redis-cluster.ts: three primaries with one replica each; the single
 * Redis on a free port; neither persists anything):
 *
 * 1. memory per 100 000 sessions: `used_memory` after writing them through `redisStore.create`
 *    minus before, summed over the primaries (replicas hold a copy each on top), for
 *    Keycloak-sized tokens, one sid and one user per session;
 * 2. the burst of `bench/refresh-burst.ts`: 20 sessions with expired access tokens, 50
 *    concurrent `GET /api/vms` each, split over two app instances (ioredis + node-redis) in this
 *    process, against the emulator with single-use refresh tokens: refreshes per session (target
 *    exactly 1), answers, sessions alive after, latency.
 *
 *   npx tsx bench/redis-cluster.ts   (CLUSTER_BENCH_SESSIONS=100000, BURST_SESSIONS=20, BURST_REQUESTS=50)
 */
import { performance } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { startEmulator } from '../src/emulator/index.js';
import { type RedisClientLike, redisStore } from '../src/session/index.js';
import { makeRecord, makeTokens, SECRET } from '../src/session/test-support.js';
import { startApp, TEST_SECRET, type TestApp } from '../test/support/apps.js';
import { signIn, TestBrowser } from '../test/support/browser.js';
import { clusterUnavailable, type RunningCluster, startRedisCluster } from '../test/support/redis-cluster.js';
import { envNumber, percentile, sleep } from './lib/harness.js';
import { startPrivateRedis, usedMemory } from './lib/stores.js';

const SESSIONS = envNumber('CLUSTER_BENCH_SESSIONS', 100_000);
const BURST_SESSIONS = envNumber('BURST_SESSIONS', 20);
const BURST_REQUESTS = envNumber('BURST_REQUESTS', 50);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Writes SESSIONS sessions through the store; returns bytes per session on `admins` (the primaries). */
async function memoryPerSession(client: RedisClientLike, admins: Redis[], prefix: string): Promise<number> {
  const store = redisStore({ client, prefix, localCache: false, secrets: [SECRET] });
  await sleep(200);
  const before = await usedMemory(admins);
  const now = Date.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < SESSIONS; i = next++) {
      const sid = `sid-${i}`;
      const record = makeRecord(now, {
        sid,
        tokens: makeTokens(now, { sid, sub: `user-${i}` }),
        user: { sub: `user-${i}`, name: 'Dana Demo', email: 'dana@example.com' },
      });
      await store.create(`${i}`.padStart(43, 'k'), record, 3_600_000);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const after = await usedMemory(admins);
  await store.close?.();
  return (after - before) / SESSIONS;
}

interface BurstResult {
  refreshesPerSession: number;
  answers: Record<number, number>;
  alive: number;
  p50: number;
  p99: number;
}

async function burst(
  makeClient: (i: number) => Promise<RedisClientLike>,
  prefix: string,
): Promise<BurstResult> {
  const emulator = await startEmulator({ port: 0, strictRefreshTokenReuse: true });
  let offsetSec = 0;
  const now = () => Date.now() + offsetSec * 1000;
  const apps: TestApp[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const store = redisStore({ client: await makeClient(i), prefix });
      apps.push(
        await startApp(
          'web',
          emulator,
          { now, instance: `bench-${i}`, logger: quiet, session: { secrets: [TEST_SECRET], store } },
          'cluster-bench',
        ),
      );
    }
    const [a, b] = apps as [TestApp, TestApp];
    const cookies: string[] = [];
    for (let i = 0; i < BURST_SESSIONS; i++) {
      const browser = new TestBrowser();
      await signIn(browser, a.origin);
      cookies.push(browser.cookieHeader(a.origin));
    }
    offsetSec += 301;
    emulator.advanceClock(301);
    const before = emulator.counters().login.tokenRequests.refresh_token ?? 0;
    const latencies: number[] = [];
    const answers: Record<number, number> = {};
    await Promise.all(
      cookies.flatMap((cookie) =>
        Array.from({ length: BURST_REQUESTS }, async (_, i) => {
          const started = performance.now();
          const response = await fetch(`${(i % 2 === 0 ? a : b).origin}/api/vms`, {
            headers: { cookie, accept: 'application/json', connection: 'close' },
          });
          await response.body?.cancel();
          latencies.push(performance.now() - started);
          answers[response.status] = (answers[response.status] ?? 0) + 1;
        }),
      ),
    );
    const refreshes = (emulator.counters().login.tokenRequests.refresh_token ?? 0) - before;
    let alive = 0;
    for (const cookie of cookies) {
      const response = await fetch(`${b.origin}/me`, { headers: { cookie, accept: 'application/json' } });
      await response.body?.cancel();
      if (response.status === 200) alive++;
    }
    return {
      refreshesPerSession: refreshes / BURST_SESSIONS,
      answers,
      alive,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    for (const app of apps) await app.close();
    await emulator.close();
  }
}

async function main(): Promise<void> {
  const missing = clusterUnavailable();
  if (missing !== undefined) {
    console.log(`skipped: ${missing}`);
    return;
  }
  const started = await startPrivateRedis();
  if ('skip' in started) {
    console.log(started.skip);
    return;
  }
  const single = started;
  let cluster: RunningCluster | undefined;
  const closers: Array<() => unknown> = [];
  try {
    cluster = await startRedisCluster();
    const c = cluster;
    const ioCluster = () => {
      const client = new Cluster(c.startupNodes as Array<{ host: string; port: number }>);
      closers.push(() => client.disconnect());
      return client;
    };
    const nodeCluster = async () => {
      const client = await createCluster({
        rootNodes: c.startupNodes.map((node) => ({ url: `redis://${node.host}:${node.port}` })),
      }).connect();
      closers.push(() => client.destroy());
      return client;
    };
    const ioSingle = () => {
      const client = new Redis({ port: single.port });
      closers.push(() => client.disconnect());
      return client;
    };
    const nodeSingle = async () => {
      const client = await createClient({ url: `redis://127.0.0.1:${single.port}` }).connect();
      closers.push(() => client.destroy());
      return client;
    };
    const singleAdmin = ioSingle();
    const primaries = (await c.primaries()).map((port) => c.admin(port));

    console.log(`## Memory per ${SESSIONS.toLocaleString('en-US')} sessions (used_memory after − before)`);
    const singleBytes = await memoryPerSession(ioSingle(), [singleAdmin], 'bench:');
    const clusterBytes = await memoryPerSession(ioCluster(), primaries, 'bench:');
    const mb = (bytes: number) => `${((bytes * 100_000) / 1024 / 1024).toFixed(1)} MiB`;
    console.log(
      `single Redis:               ${mb(singleBytes)} per 100 000 (${Math.round(singleBytes)} B/session)`,
    );
    console.log(
      `cluster, sum of 3 primaries: ${mb(clusterBytes)} per 100 000 (${Math.round(clusterBytes)} B/session); ` +
        `cluster ÷ single: ${(clusterBytes / singleBytes).toFixed(2)} (each replica holds a copy on top)`,
    );
    await singleAdmin.flushall();
    for (const primary of primaries) await primary.flushall();

    console.log(
      `\n## Burst: ${BURST_SESSIONS} sessions × ${BURST_REQUESTS} concurrent GET /api/vms, 2 instances`,
    );
    for (const [label, make] of [
      [
        'single Redis (ioredis + node-redis)',
        (i: number) => (i === 0 ? Promise.resolve(ioSingle()) : nodeSingle()),
      ],
      [
        'Redis Cluster (ioredis Cluster + node-redis createCluster)',
        (i: number) => (i === 0 ? Promise.resolve(ioCluster()) : nodeCluster()),
      ],
    ] as const) {
      const r = await burst(make, `burst:${Date.now()}:`);
      console.log(
        `${label}: refreshes per session ${r.refreshesPerSession.toFixed(2)} (target exactly 1.00), answers ${JSON.stringify(r.answers)}, ` +
          `alive after ${r.alive}/${BURST_SESSIONS}, latency p50 / p99 ${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} ms`,
      );
    }
  } finally {
    for (const close of closers) await close();
    await cluster?.close();
    await single.stop();
  }
}

await main();
