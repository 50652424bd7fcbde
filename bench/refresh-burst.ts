/**
 * Refreshes per session under a burst. N sessions log in to the demo app; their access tokens
 * expire (a short token lifetime: both the app's clock and the emulator's — hence the API — see
 * them expired after it); then every session is hit by 50 concurrent `GET /api/vms` at once,
 * each on a connection of its own (plain `node:http` requests from this process: the figure is
 * a count, not a rate, so the load generator's speed does not matter).
 *
 * The emulator's clock is NOT moved by default: moving it 301 s (`BURST_ADVANCE_CLOCK=301`) makes
 * the refreshed ID token's `iat` lie 301 s in the app's future, beyond the library's 60 s clock
 * tolerance, so every refresh fails with VMPRO_ID_TOKEN_INVALID (see the README's "Clock
 * tolerance"). With `strictRefreshTokenReuse` a refresh token works once, so a second refresh of
 * one session would also end it. Counted at the emulator: refresh-token grants per session
 * (target exactly 1), plus successes and the burst's latency.
 *
 * Scenarios: memory store, one instance; then two instances sharing the sessions (each session's
 * 50 requests split between them) on each shared store: Redis (when REDIS_URL is set), Redis
 * Cluster (six servers started here by test/support/redis-cluster.ts, stopped at the end; needs
 * redis-server ≥ 7) and PostgreSQL (when DATABASE_URL is set; the demo creates its
 * `vmpro_sessions` table there). BENCH_STORES=memory,postgres picks some.
 *
 *   npx tsx bench/refresh-burst.ts   (BURST_SESSIONS=20, BURST_REQUESTS=50, BURST_TOKEN_LIFETIME=12, BURST_ADVANCE_CLOCK=0)
 */
import { request } from 'node:http';
import { prepareLibrary } from './lib/build.js';
import {
  BENCH_SECRET,
  type ChildServer,
  envNumber,
  type Figure,
  figureLine,
  isMain,
  percentile,
  runAsScript,
  sleep,
  startChild,
  stopAll,
} from './lib/harness.js';
import { databaseUrl, startBenchCluster } from './lib/stores.js';

const BENCH = 'refresh-burst';
const SESSIONS = envNumber('BURST_SESSIONS', 20);
const REQUESTS = envNumber('BURST_REQUESTS', 50);
/** Access token lifetime, seconds. The app refreshes at half of it (its margin is min(30 s, lifetime/2)). */
const LIFETIME = envNumber('BURST_TOKEN_LIFETIME', 12);
/** Seconds to move the emulator's clock before the burst (0: not moved; see the comment above). */
const ADVANCE = Number(process.env.BURST_ADVANCE_CLOCK ?? 0);

interface DemoInfo {
  url: string;
  cookies: string[];
}

interface Counters {
  login: { tokenRequests: Record<string, number>; tokenErrors: number };
  api: { requests: Record<string, number>; unauthorized: number };
}

async function counters(emulatorUrl: string): Promise<Counters> {
  const response = await fetch(`${emulatorUrl}/_emulator/counters`);
  if (!response.ok) throw new Error(`GET /_emulator/counters answered ${response.status}`);
  return (await response.json()) as Counters;
}

interface Hit {
  session: number;
  status: number;
  ms: number;
}

/** One GET on a connection of its own; resolves with its status (0: a socket error or a timeout). */
function get(url: string, cookie: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number) => resolve({ status, ms: performance.now() - started });
    const req = request(url, {
      agent: false,
      headers: { cookie, accept: 'application/json' },
      timeout: 30_000,
    });
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => done(res.statusCode ?? 0));
      res.once('error', () => done(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => done(0));
    req.end();
  });
}

/** `count` concurrent GETs of `url` with the session's cookie, one per connection. */
async function burst(
  url: string,
  cookie: string,
  count: number,
  session: number,
  hits: Hit[],
): Promise<{ errors: number }> {
  const answers = await Promise.all(Array.from({ length: count }, () => get(url, cookie)));
  for (const { status, ms } of answers) if (status !== 0) hits.push({ session, status, ms });
  return { errors: answers.filter((a) => a.status === 0).length };
}

async function scenario(name: string, store: string, instances: number): Promise<Figure[]> {
  const refreshLabel = `${name}: refreshes per session`;
  let emulator: ChildServer<{ url: string }> | undefined;
  const apps: Array<ChildServer<DemoInfo> | undefined> = [];
  try {
    emulator = await startChild<{ url: string }>(
      'bench/servers/emulator.ts',
      {
        BENCH_EMULATOR_OPTIONS: JSON.stringify({
          strictRefreshTokenReuse: true,
          accessTokenLifetime: LIFETIME,
        }),
      },
      `emulator-${name}`,
    );
    const env = {
      PORT: '0',
      VMPRO_CLIENT_ID: 'bench-burst',
      VMPRO_CLIENT_SECRET: 'bench-burst-secret-0123456789',
      VMPRO_API_BASE: emulator.info.url,
      VMPRO_SESSION_STORE: store,
      VMPRO_SESSION_SECRET: BENCH_SECRET,
    };
    // The first instance registers the client and logs the sessions in; the others only serve.
    const first = await startChild<DemoInfo>(
      'bench/servers/demo.ts',
      { ...env, BENCH_REGISTER_AT: emulator.info.url, BENCH_LOGINS: String(SESSIONS) },
      `demo-${name}-1`,
    );
    apps.push(first);
    for (let i = 2; i <= instances; i++) {
      apps.push(
        await startChild<DemoInfo>(
          'bench/servers/demo.ts',
          { ...env, BENCH_LOGINS: '0' },
          `demo-${name}-${i}`,
        ),
      );
    }
    const loggedInAt = Date.now();
    const urls = apps.map((a) => a!.info.url);
    const cookies = first.info.cookies;

    // Let the access tokens expire (by the app's clock and the emulator's).
    await sleep(Math.max(0, loggedInAt + (LIFETIME + 1) * 1000 - Date.now()));
    const before = await counters(emulator.info.url);
    if (ADVANCE > 0) {
      const clock = await fetch(`${emulator.info.url}/_emulator/clock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ advanceSeconds: ADVANCE }),
      });
      if (!clock.ok) throw new Error(`POST /_emulator/clock answered ${clock.status}`);
    }

    const hits: Hit[] = [];
    const started = performance.now();
    const runs: Array<Promise<{ errors: number }>> = [];
    cookies.forEach((cookie, s) => {
      // Split each session's requests over the instances (the first gets the remainder).
      for (let i = 0; i < urls.length; i++) {
        const share = Math.floor(REQUESTS / urls.length) + (i === 0 ? REQUESTS % urls.length : 0);
        runs.push(burst(`${urls[i]}/api/vms`, cookie, share, s, hits));
      }
    });
    const socketErrors = (await Promise.all(runs)).reduce((sum, r) => sum + r.errors, 0);
    const burstMs = performance.now() - started;
    const after = await counters(emulator.info.url);

    // Sessions still alive afterwards (a second refresh with a spent refresh token would have ended one).
    let alive = 0;
    for (const cookie of cookies) {
      const me = await fetch(`${urls[0]}/me`, { headers: { cookie, accept: 'application/json' } });
      await me.body?.cancel();
      if (me.status === 200) alive++;
    }

    const refreshes =
      (after.login.tokenRequests.refresh_token ?? 0) - (before.login.tokenRequests.refresh_token ?? 0);
    const tokenErrors = after.login.tokenErrors - before.login.tokenErrors;
    const unauthorized = after.api.unauthorized - before.api.unauthorized;
    const apiCalls = (after.api.requests['GET /v1/vms'] ?? 0) - (before.api.requests['GET /v1/vms'] ?? 0);
    const ok = hits.filter((h) => h.status === 200).length;
    const statuses = new Map<number, number>();
    for (const h of hits) statuses.set(h.status, (statuses.get(h.status) ?? 0) + 1);
    const latencies = hits.map((h) => h.ms);
    const perSession = refreshes / cookies.length;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const total = cookies.length * REQUESTS;

    console.log(
      `\n### ${name}: ${instances} instance(s), ${cookies.length} sessions × ${REQUESTS} concurrent GET /api/vms`,
    );
    console.log(`  burst took ${burstMs.toFixed(0)} ms for ${total} requests`);
    console.log(
      `  answers: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ') || 'none'}${socketErrors ? `, ${socketErrors} socket errors/timeouts` : ''}`,
    );
    console.log(
      `  at the emulator: ${refreshes} refresh-token grants, ${tokenErrors} token errors, ${apiCalls} API calls, ${unauthorized} API 401s`,
    );
    console.log(`  sessions still logged in afterwards: ${alive}/${cookies.length}`);
    if (burstMs / 1000 > LIFETIME / 2) {
      console.log(
        `  note: the burst outlasted the refreshed token's fresh window (${LIFETIME / 2} s), so a second refresh would have been legitimate`,
      );
    }
    const allOk = ok === total && socketErrors === 0;
    if (!allOk || alive !== cookies.length) {
      console.log('\n  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
      console.log(
        `  !!! FAILURE: ${total - ok} of ${total} requests did not answer 200; ${cookies.length - alive} sessions ended.`,
      );
      console.log('  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n');
    }
    const figures: Figure[] = [
      { bench: BENCH, label: refreshLabel, value: perSession, target: 'exactly 1.00', met: perSession === 1 },
      {
        bench: BENCH,
        label: `${name}: successes`,
        value: ok,
        digits: 0,
        target: `${total}/${total}`,
        met: allOk && alive === cookies.length,
        note:
          alive === cookies.length
            ? `${alive}/${cookies.length} sessions alive after`
            : `only ${alive}/${cookies.length} sessions alive after`,
      },
      {
        bench: BENCH,
        label: `${name}: burst latency p50 (ms)`,
        value: p50,
        digits: 0,
        target: 'report only',
        met: null,
      },
      {
        bench: BENCH,
        label: `${name}: burst latency p99 (ms)`,
        value: p99,
        digits: 0,
        target: 'report only',
        met: null,
      },
    ];
    for (const f of figures) console.log(figureLine(f));
    return figures;
  } catch (error) {
    const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
    console.log(`\n### ${name} — ${note}`);
    return [{ bench: BENCH, label: refreshLabel, value: null, target: 'exactly 1.00', met: false, note }];
  } finally {
    await stopAll([...apps, emulator]);
  }
}

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  console.log(
    `\n## ${BENCH}: token refreshes per session when ${REQUESTS} requests per session arrive at once after expiry`,
  );
  console.log(
    `   emulator: strictRefreshTokenReuse, access tokens live ${LIFETIME} s; burst ${LIFETIME + 1} s after the logins; ${ADVANCE > 0 ? `emulator clock moved ${ADVANCE} s before the burst` : 'emulator clock not moved'}; every server in its own process`,
  );
  console.log(`   ${library.note}`);
  const only = process.env.BENCH_STORES?.split(',').map((name) => name.trim());
  const figures: Figure[] = [];
  const skipped = (name: string, note: string) => {
    console.log(`\n### ${name} — ${note}`);
    figures.push({
      bench: BENCH,
      label: `${name}: refreshes per session`,
      value: null,
      target: 'exactly 1.00',
      met: note.startsWith('FAILED') ? false : null,
      note,
    });
  };
  // Each shared store: its name, and how to get its VMPRO_SESSION_STORE (started here, or why not).
  const stores: Array<
    [string, string, () => Promise<{ value: string; stop?: () => Promise<void> } | { skip: string }>]
  > = [
    ['memory', 'memory store', async () => ({ value: 'memory' })],
    [
      'redis',
      'redis store ×2 instances',
      async () =>
        process.env.REDIS_URL
          ? { value: process.env.REDIS_URL }
          : { skip: 'skipped: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379)' },
    ],
    [
      'redis-cluster',
      'redis-cluster store ×2 instances',
      async () => {
        const cluster = await startBenchCluster();
        return 'skip' in cluster ? cluster : { value: cluster.storeValue, stop: cluster.stop };
      },
    ],
    [
      'postgres',
      'postgres store ×2 instances',
      async () => {
        const db = await databaseUrl();
        return 'skip' in db ? db : { value: db.url };
      },
    ],
  ];
  for (const [key, name, start] of stores) {
    if (only && !only.includes(key)) continue;
    const service = await start();
    if ('skip' in service) {
      skipped(name, service.skip);
      continue;
    }
    try {
      figures.push(...(await scenario(name, service.value, key === 'memory' ? 1 : 2)));
    } finally {
      await service.stop?.();
    }
  }
  return figures;
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
