/**
 * What the session lookup costs behind each adapter: an ordinary protected route — the adapter's
 * guard, then `{ sub, name }` of the session's user as JSON — against the same answer through the
 * same middleware without a session read, on Express 5 (bench/servers/express.ts), Fastify 5 and
 * Hono on @hono/node-server (bench/servers/adapter.ts), each with the memory store in its own
 * process, logged in through one emulator (another process). Every route of every adapter is
 * measured in the same interleaved rounds.
 *
 *   npx tsx bench/adapters.ts   (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS)
 */

import { prepareLibrary } from './lib/build.js';
import {
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

const BENCH = 'adapters';

interface AppInfo {
  url: string;
  cookie: string;
}

const ADAPTERS = [
  { name: 'express', script: 'bench/servers/express.ts', env: { BENCH_LIB: 'vmpro', BENCH_STORE: 'memory' } },
  { name: 'fastify', script: 'bench/servers/adapter.ts', env: { BENCH_ADAPTER: 'fastify' } },
  { name: 'hono (web)', script: 'bench/servers/adapter.ts', env: { BENCH_ADAPTER: 'hono' } },
] as const;

const label = (adapter: string) => `${adapter}: protected /me ÷ same answer without a session`;

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  console.log(
    `\n## ${BENCH}: a protected route vs the same answer without a session, per adapter (memory store)`,
  );
  console.log(
    `   ${LOAD.rounds} interleaved rounds × ${LOAD.seconds} s per route after ${LOAD.warmupSeconds} s warm-up, ${LOAD.connections} connections; each app and the emulator in its own process`,
  );
  console.log(`   ${loadGenerator().note}; ${library.note}`);
  let emulator: ChildServer<{ url: string }> | undefined;
  const apps: Array<ChildServer<AppInfo> | undefined> = [];
  try {
    emulator = await startChild<{ url: string }>('bench/servers/emulator.ts', {}, 'emulator');
    const emulatorUrl = emulator.info.url;
    const started = await Promise.all(
      ADAPTERS.map((adapter) =>
        startChild<AppInfo>(
          adapter.script,
          { ...adapter.env, BENCH_EMULATOR_URL: emulatorUrl },
          `adapter-${adapter.name.split(' ')[0]}`,
        ).then((child) => {
          apps.push(child);
          return child;
        }),
      ),
    );
    const targets: LoadTarget[] = ADAPTERS.flatMap((adapter, i) => {
      const app = started[i]!;
      const headers = { cookie: app.info.cookie, accept: 'application/json' };
      return [
        { name: `${adapter.name}: GET /me (protected)`, url: `${app.info.url}/me`, headers, pid: app.pid },
        {
          name: `${adapter.name}: same answer, no session`,
          url: `${app.info.url}/me-json`,
          headers,
          pid: app.pid,
        },
      ];
    });
    const results = await interleave(targets);
    const figures: Figure[] = [];
    ADAPTERS.forEach((adapter, i) => {
      const [me, reference] = results.slice(i * 2, i * 2 + 2) as [RouteResult, RouteResult];
      console.log(`\n### ${adapter.name} (pid ${started[i]!.pid})`);
      console.log(routeLine(me));
      console.log(routeLine(reference));
      for (const r of [me, reference]) for (const line of loudFailure(r.name, r)) console.log(line);
      const failed = me.non2xx + me.errors + reference.non2xx + reference.errors > 0;
      const paired = pairedRatio(me, reference);
      const adapterFigures: Figure[] = [
        {
          bench: BENCH,
          label: label(adapter.name),
          value: failed ? null : paired.median,
          target: 'report only',
          met: failed ? false : null,
          note: failed ? 'FAILED: some answers were not 200' : spreadNote(paired),
        },
        {
          bench: BENCH,
          label: `${adapter.name}: server CPU per /me (µs)`,
          value: failed ? null : cpuOf(me),
          digits: 1,
          target: 'report only',
          met: null,
          note: `same answer without a session ${fmt(cpuOf(reference), 1)}; the session's share ${fmt(cpuOf(me) - cpuOf(reference), 1)} µs; load generator ${fmt(median(me.loadCpu), 1)} µs`,
        },
      ];
      for (const f of adapterFigures) console.log(figureLine(f));
      figures.push(...adapterFigures);
    });
    return figures;
  } catch (error) {
    const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
    console.log(`   ${note}`);
    return ADAPTERS.map((adapter) => ({
      bench: BENCH,
      label: label(adapter.name),
      value: null,
      target: 'report only',
      met: false,
      note,
    }));
  } finally {
    await stopAll([...apps, emulator]);
  }
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
