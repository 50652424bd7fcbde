/**
 * What a session lookup costs: requests/second of the demo app's authenticated `GET /me`
 * (session lookup + JSON) against its `GET /healthz` (no session work), per session store —
 * memory, cookie (sealed session in the cookie), Redis (when REDIS_URL is set). The demo runs in
 * a child process with its embedded emulator; the routes are interleaved in rounds and the
 * median rates compared.
 *
 *   npx tsx bench/me-vs-healthz.ts        (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS)
 */
import {
  BENCH_SECRET,
  type ChildServer,
  type Figure,
  figureLine,
  interleave,
  isMain,
  LOAD,
  loudFailure,
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
}

type Store = { name: 'memory' | 'cookie' | 'redis'; env: string | undefined; target: boolean };

export async function run(): Promise<Figure[]> {
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
  const figures: Figure[] = [];
  for (const store of stores) {
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
        { VMPRO_SESSION_STORE: store.env, VMPRO_SESSION_SECRET: BENCH_SECRET, VMPRO_CLIENT_ID: '', PORT: '0' },
        `demo-${store.name}`,
      );
      const headers = { cookie: demo.info.cookie, accept: 'application/json' };
      const [me, healthz] = await interleave([
        { name: 'GET /me (authenticated)', url: `${demo.info.url}/me`, headers },
        { name: 'GET /healthz', url: `${demo.info.url}/healthz`, headers },
      ]);
      const ratio = me!.median / healthz!.median;
      const failed = me!.non2xx > 0 || me!.errors > 0 || healthz!.non2xx > 0 || healthz!.errors > 0;
      const figure: Figure = {
        bench: BENCH,
        label,
        value: failed ? null : ratio,
        target,
        met: failed ? false : store.target ? ratio >= TARGET : null,
      };
      if (failed) figure.note = `FAILED: /me non-2xx ${me!.non2xx}, errors ${me!.errors + healthz!.errors}`;
      console.log(`\n### ${store.name} store (pid ${demo.pid})`);
      console.log(routeLine(me!));
      console.log(routeLine(healthz!));
      for (const line of [...loudFailure('GET /me', me!), ...loudFailure('GET /healthz', healthz!)]) console.log(line);
      console.log(`  (/me: ${me!.requests} requests, all 200: ${me!.non2xx === 0 && me!.errors === 0 ? 'yes' : 'NO'})`);
      console.log(figureLine({ ...figure, value: ratio }));
      figures.push(figure);
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
