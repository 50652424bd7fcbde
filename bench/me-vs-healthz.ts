/**
 * What a session lookup costs on the demo app, per session store — memory, cookie (sealed session
 * in the cookie), Redis (when REDIS_URL is set), Redis Cluster (six servers started here by
 * test/support/redis-cluster.ts, stopped at the end; needs redis-server ≥ 7), PostgreSQL (when
 * DATABASE_URL is set; the demo creates its `vmpro_sessions` table there). For each store, one
 * demo process (with its embedded emulator) answers three routes:
 *
 * - `GET /me` (authenticated): the route a user would write — after the middleware,
 *   `honoRequireLogin()`, then `c.json(...)` of the session's user;
 * - `GET /me-json` on a bench-only listener in the same process: the same answer through the same
 *   middleware, with no session lookup (see bench/servers/demo.ts);
 * - `GET /healthz`: no session work.
 *
 * Every route of every store is measured in the same interleaved rounds (the stores' processes
 * run side by side, idle while another is measured), and a ratio is the median of its per-round
 * ratios, printed with its spread. The server's CPU time per request is printed next to it.
 *
 *   npx tsx bench/me-vs-healthz.ts   (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_STORES)
 */

import { prepareLibrary } from './lib/build.js';
import {
  BENCH_SECRET,
  type ChildServer,
  cpuOf,
  type Figure,
  figureLine,
  fmt,
  interleave,
  isMain,
  LOAD,
  type LoadTarget,
  loadGenerator,
  loudFailure,
  median,
  pairedRatio,
  type RouteResult,
  routeLine,
  runAsScript,
  spreadNote,
  startChild,
  stopAll,
} from './lib/harness.js';
import { databaseUrl, NO_DATABASE_URL, type StartedService, startBenchCluster } from './lib/stores.js';

const BENCH = 'me-vs-healthz';
const TARGET = 0.85;

interface DemoInfo {
  url: string;
  cookie: string;
  referenceUrl: string;
}

type StoreName = 'memory' | 'cookie' | 'redis' | 'redis-cluster' | 'postgres';
/** `env`: the demo's VMPRO_SESSION_STORE, or why the store is skipped. */
type Store = { name: StoreName; env: string | { skip: string }; target: boolean };

const NO_REDIS_URL = 'skipped: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379)';

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  // BENCH_STORES=memory,redis measures only those (default: all five).
  const only = process.env.BENCH_STORES?.split(',').map((name) => name.trim());
  const wanted = (name: StoreName) => !only || only.includes(name);
  const services: StartedService[] = [];
  const cluster = wanted('redis-cluster') ? await startBenchCluster() : { skip: 'not selected' };
  if (!('skip' in cluster)) services.push(cluster);
  const database = wanted('postgres') ? await databaseUrl() : { skip: NO_DATABASE_URL };
  const all: Store[] = [
    { name: 'memory', env: 'memory', target: true },
    { name: 'cookie', env: 'cookie', target: false },
    { name: 'redis', env: process.env.REDIS_URL ?? { skip: NO_REDIS_URL }, target: true },
    { name: 'redis-cluster', env: 'skip' in cluster ? cluster : cluster.storeValue, target: true },
    { name: 'postgres', env: 'skip' in database ? database : database.url, target: true },
  ];
  const stores = all.filter((s) => wanted(s.name));
  console.log(
    `\n## ${BENCH}: the demo's GET /me vs the same answer without a session and vs GET /healthz, per session store`,
  );
  console.log(
    `   ${LOAD.rounds} interleaved rounds × ${LOAD.seconds} s per route after ${LOAD.warmupSeconds} s warm-up, ${LOAD.connections} connections; one demo process per store`,
  );
  console.log(`   ${loadGenerator().note}; ${library.note}`);
  const figures: Figure[] = [];
  const labels = (store: Store) => ({
    main: `${store.name} store: /me ÷ same answer without a session`,
    healthz: `${store.name} store: /me ÷ /healthz`,
    cpu: `${store.name} store: server CPU per /me (µs)`,
  });
  const healthzTarget = (store: Store) => (store.target ? `≥ ${TARGET}` : 'report only');

  const demos = new Map<Store, ChildServer<DemoInfo>>();
  try {
    for (const store of stores) {
      if (typeof store.env !== 'string') {
        const note = store.env.skip;
        console.log(`\n### ${store.name} store — ${note}`);
        figures.push({
          bench: BENCH,
          label: labels(store).main,
          value: null,
          target: 'report only',
          met: null,
          note,
        });
        continue;
      }
      try {
        demos.set(
          store,
          await startChild<DemoInfo>(
            'bench/servers/demo.ts',
            {
              VMPRO_SESSION_STORE: store.env,
              VMPRO_SESSION_SECRET: BENCH_SECRET,
              VMPRO_CLIENT_ID: '',
              PORT: '0',
            },
            `demo-${store.name}`,
          ),
        );
      } catch (error) {
        const note = `FAILED to start: ${(error as Error).message.split('\n')[0]}`;
        console.log(`\n### ${store.name} store — ${note}`);
        figures.push({
          bench: BENCH,
          label: labels(store).main,
          value: null,
          target: 'report only',
          met: store.target ? false : null,
          note,
        });
      }
    }
    const measured = [...demos];
    if (measured.length === 0) return figures;

    // Per store, its three routes next to each other: they are measured back to back each round.
    const targets: LoadTarget[] = measured.flatMap(([store, demo]) => {
      const headers = { cookie: demo.info.cookie, accept: 'application/json' };
      const pid = demo.pid;
      return [
        { name: `${store.name}: GET /me (authenticated)`, url: `${demo.info.url}/me`, headers, pid },
        {
          name: `${store.name}: same answer, no session`,
          url: `${demo.info.referenceUrl}/me-json`,
          headers,
          pid,
        },
        { name: `${store.name}: GET /healthz`, url: `${demo.info.url}/healthz`, headers, pid },
      ];
    });
    const results = await interleave(targets);

    measured.forEach(([store, demo], i) => {
      const [me, reference, healthz] = results.slice(i * 3, i * 3 + 3) as [
        RouteResult,
        RouteResult,
        RouteResult,
      ];
      const routes = [me, reference, healthz];
      const failed = routes.some((r) => r.non2xx > 0 || r.errors > 0);
      const failure = `FAILED: non-2xx ${routes.map((r) => r.non2xx).join('/')}, socket errors ${routes.map((r) => r.errors).join('/')} (/me, same answer, /healthz)`;
      const vsReference = pairedRatio(me, reference);
      const vsHealthz = pairedRatio(me, healthz);
      const ceiling = pairedRatio(reference, healthz);
      const label = labels(store);
      const load = median(me.loadCpu);

      console.log(`\n### ${store.name} store (pid ${demo.pid})`);
      for (const r of routes) console.log(routeLine(r));
      for (const r of routes) for (const line of loudFailure(r.name, r)) console.log(line);
      console.log(
        `  (/me: ${me.requests} requests, all 200: ${me.non2xx === 0 && me.errors === 0 ? 'yes' : 'NO'}; same answer without a session ÷ /healthz: ${fmt(ceiling.median)}, the middleware's own share)`,
      );
      const storeFigures: Figure[] = [
        {
          bench: BENCH,
          label: label.main,
          value: failed ? null : vsReference.median,
          target: 'report only',
          met: failed ? false : null,
          note: failed ? failure : spreadNote(vsReference),
        },
        {
          bench: BENCH,
          label: label.healthz,
          value: failed ? null : vsHealthz.median,
          target: healthzTarget(store),
          met: failed ? false : store.target ? vsHealthz.median >= TARGET : null,
          note: failed ? failure : spreadNote(vsHealthz),
        },
        {
          bench: BENCH,
          label: label.cpu,
          value: failed ? null : cpuOf(me),
          digits: 1,
          target: 'report only',
          met: null,
          note: `same answer without a session ${fmt(cpuOf(reference), 1)}, /healthz ${fmt(cpuOf(healthz), 1)}; the session's share ${fmt(cpuOf(me) - cpuOf(reference), 1)} µs; load generator ${fmt(load, 1)} µs`,
        },
      ];
      for (const f of storeFigures) console.log(figureLine(f));
      figures.push(...storeFigures);
    });
    return figures;
  } catch (error) {
    const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
    console.log(`   ${note}`);
    for (const store of demos.keys())
      figures.push({
        bench: BENCH,
        label: labels(store).main,
        value: null,
        target: 'report only',
        met: store.target ? false : null,
        note,
      });
    return figures;
  } finally {
    await stopAll([...demos.values()]);
    for (const service of services) await service.stop();
  }
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
