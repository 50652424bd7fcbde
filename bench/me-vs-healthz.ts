/**
 * What a session lookup costs: requests/second of the demo app's authenticated `GET /me`
 * (session lookup + JSON) against its `GET /healthz` (no session work), per session store —
 * memory, cookie (sealed session in the cookie), Redis (when REDIS_URL is set). The demo runs in
 * a child process with its embedded emulator; the routes are measured back to back in many short
 * rounds, and the figure is the median of the per-round ratios (the machine's speed drifts more
 * between rounds than within one). The server's CPU time per request is printed next to it.
 *
 * The demo's `/me` makes its body once per session record (records are immutable; see
 * packages/cli/src/demo/app.ts). For context, with the memory store two more routes on a bench-only listener
 * in the same process are measured: the same answer with no session work (the ceiling any session
 * lookup could reach), and `/me` serialising its body on every request.
 *
 *   npx tsx bench/me-vs-healthz.ts        (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_STORES)
 */

import { prepareLibrary } from './lib/build.js';
import {
  BENCH_SECRET,
  type ChildServer,
  type Figure,
  figureLine,
  fmt,
  interleave,
  isMain,
  LOAD,
  loudFailure,
  median,
  pairedRatio,
  type RouteResult,
  routeLine,
  runAsScript,
  startChild,
  stopAll,
} from './lib/harness.js';

const BENCH = 'me-vs-healthz';
const TARGET = 0.85;

interface DemoInfo {
  url: string;
  cookie: string;
  referenceUrl: string;
}

type Store = { name: 'memory' | 'cookie' | 'redis'; env: string | undefined; target: boolean };

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  const redisUrl = process.env.REDIS_URL;
  const stores: Store[] = [
    { name: 'memory', env: 'memory', target: true },
    { name: 'cookie', env: 'cookie', target: false },
    { name: 'redis', env: redisUrl, target: true },
  ];
  console.log(`\n## ${BENCH}: authenticated GET /me vs GET /healthz on the demo app, per session store`);
  console.log(
    `   ${LOAD.rounds} interleaved rounds × ${LOAD.seconds} s per route after ${LOAD.warmupSeconds} s warm-up, ${LOAD.connections} connections; server in a child process`,
  );
  console.log(`   ${library.note}`);
  const figures: Figure[] = [];
  // BENCH_STORES=memory,redis measures only those (default: all three).
  const only = process.env.BENCH_STORES?.split(',').map((name) => name.trim());
  for (const store of stores.filter((s) => !only || only.includes(s.name))) {
    const label = `${store.name} store: me/healthz`;
    const target = store.target ? `≥ ${TARGET}` : 'report only';
    if (store.env === undefined) {
      const note = 'skipped: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379)';
      console.log(`\n### ${store.name} store — ${note}`);
      figures.push({ bench: BENCH, label, value: null, target, met: null, note });
      continue;
    }
    let demo: ChildServer<DemoInfo> | undefined;
    try {
      demo = await startChild<DemoInfo>(
        'bench/servers/demo.ts',
        {
          VMPRO_SESSION_STORE: store.env,
          VMPRO_SESSION_SECRET: BENCH_SECRET,
          VMPRO_CLIENT_ID: '',
          PORT: '0',
        },
        `demo-${store.name}`,
      );
      const headers = { cookie: demo.info.cookie, accept: 'application/json' };
      // The reference route (same answer, no session) does not depend on the store: measured once.
      const withReference = store.name === 'memory';
      const pid = demo.pid;
      const [me, healthz, reference, serialised] = await interleave([
        { name: 'GET /me (authenticated)', url: `${demo.info.url}/me`, headers, pid },
        { name: 'GET /healthz', url: `${demo.info.url}/healthz`, headers, pid },
        ...(withReference
          ? [
              {
                name: 'reference: same answer, no session',
                url: `${demo.info.referenceUrl}/me-json`,
                headers,
                pid,
              },
              {
                name: '/me, body serialised per request',
                url: `${demo.info.referenceUrl}/me-serialised`,
                headers,
                pid,
              },
            ]
          : []),
      ]);
      const measured = [
        me!,
        healthz!,
        ...(reference ? [reference] : []),
        ...(serialised ? [serialised] : []),
      ];
      const paired = pairedRatio(me!, healthz!);
      const ratio = paired.median;
      const failed = measured.some((r) => r.non2xx > 0 || r.errors > 0);
      const cpuUs = (r: RouteResult) => (r.cpu.length > 0 ? median(r.cpu) : Number.NaN);
      const extraCpuUs = cpuUs(me!) - cpuUs(reference ?? healthz!);
      const figure: Figure = {
        bench: BENCH,
        label,
        value: failed ? null : ratio,
        target,
        met: failed ? false : store.target ? ratio >= TARGET : null,
        note: failed
          ? `FAILED: /me non-2xx ${me!.non2xx}, errors ${me!.errors + healthz!.errors}`
          : `median of ${me!.rates.length} paired rounds (middle half ${fmt(paired.low)}–${fmt(paired.high)})` +
            (Number.isNaN(extraCpuUs)
              ? ''
              : `; server CPU per request: /me ${cpuUs(me!).toFixed(0)} µs, /healthz ${cpuUs(healthz!).toFixed(0)} µs` +
                `, /me − ${reference ? 'same answer without a session' : '/healthz'} ${extraCpuUs.toFixed(1)} µs`),
      };
      console.log(`\n### ${store.name} store (pid ${demo.pid})`);
      for (const r of measured) console.log(routeLine(r));
      for (const r of measured) for (const line of loudFailure(r.name, r)) console.log(line);
      console.log(
        `  (/me: ${me!.requests} requests, all 200: ${me!.non2xx === 0 && me!.errors === 0 ? 'yes' : 'NO'})`,
      );
      console.log(figureLine({ ...figure, value: ratio }));
      figures.push(figure);
      // Context, measured against the same /healthz rounds.
      const context = (label: string, route: RouteResult | undefined, note: (r: RouteResult) => string) => {
        if (route === undefined) return;
        const f: Figure = {
          bench: BENCH,
          label,
          value: pairedRatio(route, healthz!).median,
          target: 'report only',
          met: null,
          note: note(route),
        };
        console.log(figureLine(f));
        figures.push(f);
      };
      // The same answer without any session work, on the same stack and process.
      context(
        'ceiling: (same answer, no session work)/healthz',
        reference,
        () => 'what /me/healthz would be if the session work were free',
      );
      context(
        'memory store, body serialised per request: me/healthz',
        serialised,
        (r) => `/me without the per-record body; CPU ${cpuUs(r).toFixed(0)} µs per request`,
      );
    } catch (error) {
      const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
      console.log(`\n### ${store.name} store — ${note}`);
      figures.push({ bench: BENCH, label, value: null, target, met: store.target ? false : null, note });
    } finally {
      await stopAll([demo]);
    }
  }
  return figures;
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
