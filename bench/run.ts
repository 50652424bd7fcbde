/**
 * `npm run bench`: every benchmark in one run, then one table of every figure with its target,
 * and a chart of the ratios.
 *
 * 1. me-vs-healthz   — the demo's /me vs the same answer without a session and vs /healthz, per store
 * 2. adapters        — a protected route vs the same answer without a session, per adapter
 * 3. express-vs-eoc  — vmpro-connect ÷ express-openid-connect on one Express app, per store
 * 4. refresh-burst   — refreshes per session under a burst (memory; Redis, Redis Cluster, PostgreSQL ×2)
 * 5. refresh-latency — GET /api/vms latency across refreshes, refresh ahead vs the code before it
 * 6. api-overhead    — the API client over a bare fetch (GET /v1/vms on the emulator)
 * 7. store-memory    — memory per 100 000 sessions: memory, Redis, Redis Cluster, PostgreSQL
 *
 * The library is compiled once (tsc) and every server process runs that build (see lib/build.ts).
 * Set REDIS_URL (e.g. redis://127.0.0.1:6379) to include the Redis measurements and DATABASE_URL
 * (e.g. postgres://postgres@127.0.0.1:5432/test) for PostgreSQL; the Redis Cluster (and the
 * private Redis of store-memory) are started by the benchmarks themselves when redis-server ≥ 7 is
 * installed. BENCH_STORES picks stores. Throughput is measured with wrk when it is installed
 * (autocannon otherwise, and the run says so).
 */

import { clusterUnavailable } from '../test/support/redis-cluster.js';
import { run as adapters } from './adapters.js';
import { run as apiOverhead } from './api-overhead.js';
import { run as expressVsEoc } from './express-vs-eoc.js';
import { prepareLibrary } from './lib/build.js';
import { barChart, type Figure, LOAD, loadGenerator, machineLine, summaryTable } from './lib/harness.js';
import { run as meVsHealthz } from './me-vs-healthz.js';
import { run as refreshBurst } from './refresh-burst.js';
import { run as refreshLatency } from './refresh-latency.js';
import { run as storeMemory } from './store-memory.js';

async function main(): Promise<void> {
  const started = Date.now();
  console.log('# vmpro-connect benchmarks');
  console.log(`   ${new Date().toISOString()}; ${machineLine()}`);
  console.log(`   ${loadGenerator().note}; each server in its own process; 127.0.0.1 only`);
  console.log(
    `   throughput: ${LOAD.rounds} interleaved rounds × ${LOAD.seconds} s per route, ${LOAD.connections} connections (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS)`,
  );
  console.log(
    `   REDIS_URL: ${process.env.REDIS_URL ? 'set' : 'not set — the Redis measurements are skipped'}; DATABASE_URL: ${process.env.DATABASE_URL ? 'set' : 'not set — the PostgreSQL measurements are skipped'}; Redis Cluster: ${clusterUnavailable() ?? 'started by each benchmark that needs it'}`,
  );
  if (process.env.BENCH_STORES) console.log(`   BENCH_STORES: ${process.env.BENCH_STORES}`);
  const library = prepareLibrary();
  console.log(`   ${library.note}`);

  const figures: Figure[] = [];
  const benches: Array<[string, () => Promise<Figure[]>]> = [
    ['me-vs-healthz', meVsHealthz],
    ['adapters', adapters],
    ['express-vs-eoc', expressVsEoc],
    ['refresh-burst', refreshBurst],
    ['refresh-latency', refreshLatency],
    ['api-overhead', apiOverhead],
    ['store-memory', storeMemory],
  ];
  // BENCH_ONLY=adapters,express-vs-eoc runs only those.
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
  const durations: string[] = [];
  for (const [name, bench] of benches) {
    if (only && !only.includes(name)) continue;
    const benchStarted = Date.now();
    try {
      figures.push(...(await bench()));
    } catch (error) {
      console.error(error);
      figures.push({
        bench: name,
        label: 'crashed',
        value: null,
        target: '—',
        met: false,
        note: String(error),
      });
    }
    durations.push(`${name} ${((Date.now() - benchStarted) / 1000).toFixed(0)} s`);
  }

  console.log(
    `\n# Summary (one run, ${((Date.now() - started) / 1000).toFixed(0)} s: ${durations.join(', ')})\n`,
  );
  console.log(summaryTable(figures));
  console.log('\n# The ratios\n');
  console.log(barChart(figures));
  const missed = figures.filter((f) => f.met === false);
  console.log(
    `\n${missed.length === 0 ? 'Every target was met.' : `Targets not met: ${missed.map((f) => `${f.bench} / ${f.label}`).join('; ')}`}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
