/**
 * Latency of `GET /api/vms` over a run that crosses several token refreshes, with refresh ahead
 * of expiry (this code: a request inside the refresh margin is answered with the still-valid
 * token while the refresh runs in the background) against the code before it (commit 23340c0:
 * the request that found the token inside the margin, and every request of that session
 * arriving meanwhile, waited for the refresh).
 *
 * Each version is the demo app with its embedded emulator (memory store), access tokens that
 * live REFRESH_TOKEN_LIFETIME s (10; the refresh margin is then half of it, 5 s, as
 * min(30 s, lifetime / 2)), and single-use refresh tokens (a second refresh of one session would
 * end it). The emulator's token endpoint answers refreshes after REFRESH_TOKEN_DELAY_MS (150 ms,
 * a login server across the internet; 0 for the emulator's own speed). N sessions each send one
 * `GET /api/vms` every REFRESH_INTERVAL_MS for REFRESH_SECONDS: a light load, far from what the
 * server can take, so that the latency is the request's own and not a queue's. Both versions run
 * side by side and are loaded at the same time, so whatever else the machine does hits both alike.
 *
 * "Before" is the earlier commit checked out into a temporary git worktree (BENCH_BEFORE_REF,
 * default 23340c0; removed at the end) or an existing checkout (BENCH_BEFORE_ROOT), compiled the
 * same way as this one and run with its own bench/servers/demo.ts. BENCH_BEFORE_REF=none skips it.
 *
 *   npx tsx bench/refresh-latency.ts   (REFRESH_SESSIONS=10, REFRESH_SECONDS=40, REFRESH_INTERVAL_MS=200,
 *                                       REFRESH_TOKEN_LIFETIME=10, REFRESH_TOKEN_DELAY_MS=150)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCheckout, prepareLibrary } from './lib/build.js';
import {
  BENCH_SECRET,
  type ChildServer,
  envNumber,
  type Figure,
  figureLine,
  fmt,
  isMain,
  percentile,
  processCpuUs,
  ROOT,
  runAsScript,
  sleep,
  startChild,
  stopAll,
} from './lib/harness.js';

const BENCH = 'refresh-latency';
const SESSIONS = envNumber('REFRESH_SESSIONS', 10);
const SECONDS = envNumber('REFRESH_SECONDS', 40);
const INTERVAL_MS = envNumber('REFRESH_INTERVAL_MS', 200);
const LIFETIME = envNumber('REFRESH_TOKEN_LIFETIME', 10);
const DELAY_MS = Number(process.env.REFRESH_TOKEN_DELAY_MS ?? 150);
const DEFAULT_BEFORE_REF = '23340c0';

interface DemoInfo {
  url: string;
  emulatorUrl: string;
  cookies: string[];
}

interface Variant {
  name: 'refresh ahead (this code)' | `waits for the refresh (${string})`;
  key: 'after' | 'before';
  demo: ChildServer<DemoInfo>;
}

interface Sample {
  ms: number;
  status: number;
}

/** The earlier version's checkout, or why there is none. */
interface BeforeTree {
  root: string;
  ref: string;
  cleanup: () => void;
}

function git(args: string[]): string {
  return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function beforeTree(): BeforeTree | string {
  const existing = process.env.BENCH_BEFORE_ROOT;
  if (existing) {
    if (!existsSync(join(existing, 'bench/servers/demo.ts')))
      return `BENCH_BEFORE_ROOT=${existing} has no bench/servers/demo.ts`;
    return { root: existing, ref: existing, cleanup: () => {} };
  }
  const ref = process.env.BENCH_BEFORE_REF ?? DEFAULT_BEFORE_REF;
  if (ref === 'none') return 'skipped: BENCH_BEFORE_REF=none';
  try {
    git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    return `skipped: commit ${ref} is not in this repository (set BENCH_BEFORE_REF or BENCH_BEFORE_ROOT)`;
  }
  const root = mkdtempSync(join(tmpdir(), 'vmpro-bench-before-'));
  rmSync(root, { recursive: true, force: true });
  try {
    git(['worktree', 'add', '--detach', root, ref]);
  } catch (error) {
    return `could not check out ${ref}: ${String((error as { stderr?: string }).stderr ?? error).trim()}`;
  }
  // The same dependencies as this checkout (the versions did not change since).
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  let removed = false;
  const cleanup = () => {
    if (removed) return;
    removed = true;
    try {
      git(['worktree', 'remove', '--force', root]);
    } catch {
      rmSync(root, { recursive: true, force: true });
      git(['worktree', 'prune']);
    }
  };
  process.on('exit', cleanup);
  return { root, ref, cleanup };
}

/** One session's requests: one every INTERVAL_MS (or as soon as the previous one is answered), until `end`. */
async function sessionLoop(url: string, cookie: string, offsetMs: number, end: number): Promise<Sample[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: Sample[] = [];
  await sleep(offsetMs);
  try {
    while (performance.now() < end) {
      const started = performance.now();
      const status = await new Promise<number>((resolve) => {
        const req = request(url, { agent, headers: { cookie, accept: 'application/json' }, timeout: 30_000 });
        req.once('response', (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
          res.once('error', () => resolve(0));
        });
        req.once('timeout', () => req.destroy());
        req.once('error', () => resolve(0));
        req.end();
      });
      const ms = performance.now() - started;
      samples.push({ ms, status });
      await sleep(Math.max(0, INTERVAL_MS - ms));
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

async function refreshCount(emulatorUrl: string): Promise<number> {
  const response = await fetch(`${emulatorUrl}/_emulator/counters`);
  if (!response.ok) throw new Error(`GET /_emulator/counters answered ${response.status}`);
  const counters = (await response.json()) as { login: { tokenRequests: Record<string, number> } };
  return counters.login.tokenRequests.refresh_token ?? 0;
}

async function slowRefreshes(emulatorUrl: string): Promise<void> {
  if (DELAY_MS <= 0) return;
  const response = await fetch(`${emulatorUrl}/_emulator/faults/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grantType: 'refresh_token', kind: 'delay', delayMs: DELAY_MS }),
  });
  if (response.status !== 201) throw new Error(`POST /_emulator/faults/token answered ${response.status}`);
}

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  console.log(`\n## ${BENCH}: GET /api/vms latency across token refreshes, refresh ahead vs waiting for it`);
  console.log(
    `   demo + embedded emulator, memory store; access tokens live ${LIFETIME} s (refresh margin ${Math.min(30, LIFETIME / 2)} s), single-use refresh tokens, refreshes answered after ${DELAY_MS} ms; ${SESSIONS} sessions × one request every ${INTERVAL_MS} ms for ${SECONDS} s, both versions at once`,
  );
  console.log(
    `   ${library.note}; requests from this process (node:http, keep-alive, one connection per session)`,
  );
  const env = {
    PORT: '0',
    VMPRO_CLIENT_ID: '',
    VMPRO_SESSION_STORE: 'memory',
    VMPRO_SESSION_SECRET: BENCH_SECRET,
    BENCH_LOGINS: String(SESSIONS),
    BENCH_EMULATOR_OPTIONS: JSON.stringify({
      accessTokenLifetime: LIFETIME,
      strictRefreshTokenReuse: true,
      rateLimitPerMinute: false,
    }),
  };
  const figures: Figure[] = [];
  const variants: Variant[] = [];
  const tree = beforeTree();
  try {
    // Compiled first: the sessions' tokens start to age as soon as a server has logged them in.
    const before =
      typeof tree === 'string'
        ? null
        : { tree, buildDir: library.mode === 'build' ? compileCheckout(tree.root) : undefined };
    if (before === null) console.log(`   before: ${tree as string}`);
    else
      console.log(
        `   before: commit ${before.tree.ref} in ${before.tree.root}${before.buildDir ? ', compiled the same way' : ', from its sources through tsx'}`,
      );
    const starting: Array<Promise<void>> = [
      startChild<DemoInfo>('bench/servers/demo.ts', env, 'demo-refresh-ahead').then((demo) => {
        variants.push({ name: 'refresh ahead (this code)', key: 'after', demo });
      }),
    ];
    if (before !== null) {
      starting.push(
        startChild<DemoInfo>('bench/servers/demo.ts', env, 'demo-before', {
          tree: { root: before.tree.root, buildDir: before.buildDir },
        }).then((demo) => {
          variants.push({
            name: `waits for the refresh (${before.tree.ref.slice(0, 12)})`,
            key: 'before',
            demo,
          });
        }),
      );
    }
    const loginsStarted = performance.now();
    const started = await Promise.allSettled(starting);
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
    variants.sort((a, b) => (a.key === 'after' ? -1 : b.key === 'after' ? 1 : 0));
    for (const v of variants) await slowRefreshes(v.demo.info.emulatorUrl);
    const refreshesBefore = await Promise.all(variants.map((v) => refreshCount(v.demo.info.emulatorUrl)));
    const aged = (performance.now() - loginsStarted) / 1000;
    console.log(
      `   the servers started and logged their sessions in within ${aged.toFixed(1)} s${aged > LIFETIME / 2 ? ' — more than the token lifetime minus the margin: the first requests of some sessions find their tokens expired, in both versions' : ''}`,
    );

    const cpuBefore = variants.map((v) => processCpuUs(v.demo.pid));
    // Every session of both versions at once, spread evenly over one interval.
    const end = performance.now() + SECONDS * 1000;
    const runs = variants.map((v) =>
      Promise.all(
        v.demo.info.cookies.map((cookie, i) =>
          sessionLoop(`${v.demo.info.url}/api/vms`, cookie, (i * INTERVAL_MS) / SESSIONS, end),
        ),
      ),
    );
    const results = await Promise.all(runs);
    const cpuAfter = variants.map((v) => processCpuUs(v.demo.pid));
    const refreshesAfter = await Promise.all(variants.map((v) => refreshCount(v.demo.info.emulatorUrl)));

    const p99s: number[] = [];
    variants.forEach((v, i) => {
      const samples = results[i]!.flat();
      const ms = samples.map((s) => s.ms);
      const ok = samples.filter((s) => s.status === 200).length;
      const statuses = new Map<number, number>();
      for (const s of samples) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
      const refreshes = refreshesAfter[i]! - refreshesBefore[i]!;
      const cpu0 = cpuBefore[i];
      const cpu1 = cpuAfter[i];
      const cpuMs = cpu0 == null || cpu1 == null ? null : (cpu1 - cpu0) / 1000;
      const waited = DELAY_MS > 0 ? ms.filter((x) => x >= DELAY_MS).length : null;
      const p50 = percentile(ms, 50);
      const p99 = percentile(ms, 99);
      p99s.push(p99);
      console.log(`\n### ${v.name} (pid ${v.demo.pid})`);
      console.log(
        `  ${samples.length} requests: ${[...statuses].map(([s, n]) => `${n}× ${s === 0 ? 'socket error' : s}`).join(', ')}; ${refreshes} refreshes at the login server (${fmt(refreshes / v.demo.info.cookies.length, 1)} per session)` +
          (waited === null ? '' : `; ${waited} requests took ≥ ${DELAY_MS} ms`),
      );
      if (cpuMs !== null)
        console.log(
          `  server CPU: ${fmt(cpuMs / samples.length, 2)} ms per request (app and embedded emulator), ${fmt(cpuMs / 10 / SECONDS, 0)} % of one core over the run`,
        );
      const failed = ok !== samples.length;
      const note = `${samples.length} requests${failed ? `, ${samples.length - ok} NOT 200` : ', all 200'}; ${fmt(refreshes / v.demo.info.cookies.length, 1)} refreshes per session${waited === null ? '' : `; ${waited} took ≥ ${DELAY_MS} ms`}`;
      const variantFigures: Figure[] = [
        {
          bench: BENCH,
          label: `${v.name}: p50 (ms)`,
          value: p50,
          digits: 1,
          target: 'report only',
          met: null,
        },
        {
          bench: BENCH,
          label: `${v.name}: p99 (ms)`,
          value: p99,
          digits: 1,
          target: 'report only',
          met: failed ? false : null,
          note,
        },
        {
          bench: BENCH,
          label: `${v.name}: max (ms)`,
          value: Math.max(...ms),
          digits: 1,
          target: 'report only',
          met: null,
        },
      ];
      for (const f of variantFigures) console.log(figureLine(f));
      figures.push(...variantFigures);
    });
    if (variants.length === 2) {
      const f: Figure = {
        bench: BENCH,
        label: 'p99, waiting ÷ refresh ahead',
        value: p99s[1]! / p99s[0]!,
        digits: 1,
        target: 'report only',
        met: null,
        note: 'same run, both versions loaded at once',
      };
      console.log(figureLine(f));
      figures.push(f);
    } else {
      figures.push({
        bench: BENCH,
        label: 'waits for the refresh (before)',
        value: null,
        target: 'report only',
        met: null,
        note: typeof tree === 'string' ? tree : 'did not start',
      });
    }
    return figures;
  } catch (error) {
    const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
    console.log(`   ${note}`);
    return [
      ...figures,
      { bench: BENCH, label: 'p99 (ms)', value: null, target: 'report only', met: false, note },
    ];
  } finally {
    await stopAll(variants.map((v) => v.demo));
    if (typeof tree !== 'string') tree.cleanup();
  }
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
