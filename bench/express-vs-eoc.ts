/**
 * vmpro-connect against express-openid-connect 3.4 on the same Express 5 app: authenticated
 * `GET /me` (the guard, then `{ sub, name }` as JSON), each app in its own process, all logged
 * in like a browser against one emulator (another process). Four apps, measured in the same
 * interleaved rounds:
 *
 * - vmpro-connect, memory store — against express-openid-connect's default, its cookie (the
 *   comparison a user makes first);
 * - vmpro-connect, cookie store — against the same cookie of express-openid-connect (stateless
 *   against stateless);
 * - express-openid-connect with a server-side store (a `Map`, the cheapest it can have) — against
 *   vmpro-connect's memory store (server-side against server-side).
 *
 *   npx tsx bench/express-vs-eoc.ts       (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS)
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

const BENCH = 'express-vs-eoc';
const TARGET = 2.5;

interface AppInfo {
  url: string;
  cookie: string;
  cookieNames: string[];
  cookieBytes: number;
}

interface App {
  key: 'vmpro-memory' | 'vmpro-cookie' | 'eoc-cookie' | 'eoc-memory';
  name: string;
  lib: 'vmpro' | 'eoc';
  store: 'memory' | 'cookie';
}

const APPS: App[] = [
  { key: 'vmpro-memory', name: 'vmpro-connect, memory store', lib: 'vmpro', store: 'memory' },
  { key: 'eoc-cookie', name: 'express-openid-connect, its cookie', lib: 'eoc', store: 'cookie' },
  { key: 'vmpro-cookie', name: 'vmpro-connect, cookie store', lib: 'vmpro', store: 'cookie' },
  { key: 'eoc-memory', name: 'express-openid-connect, Map store', lib: 'eoc', store: 'memory' },
];

/** The comparisons: [label, ours, theirs, target]. */
const COMPARISONS: Array<[string, App['key'], App['key'], number | null]> = [
  ['vmpro-connect memory ÷ express-openid-connect cookie (GET /me)', 'vmpro-memory', 'eoc-cookie', TARGET],
  ['vmpro-connect cookie ÷ express-openid-connect cookie (GET /me)', 'vmpro-cookie', 'eoc-cookie', null],
  ['vmpro-connect memory ÷ express-openid-connect Map store (GET /me)', 'vmpro-memory', 'eoc-memory', null],
];

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  console.log(
    `\n## ${BENCH}: authenticated GET /me on one Express 5 app shape, vmpro-connect vs express-openid-connect, per store`,
  );
  console.log(
    `   ${LOAD.rounds} interleaved rounds × ${LOAD.seconds} s per app after ${LOAD.warmupSeconds} s warm-up, ${LOAD.connections} connections; each app and the emulator in its own process`,
  );
  console.log(`   ${loadGenerator().note}; ${library.note}`);
  const failedFigures = (note: string): Figure[] =>
    COMPARISONS.map(([label, , , target]) => ({
      bench: BENCH,
      label,
      value: null,
      target: target === null ? 'report only' : `≥ ${target}`,
      met: target === null ? null : false,
      note,
    }));
  let emulator: ChildServer<{ url: string }> | undefined;
  const children: Array<ChildServer<AppInfo> | undefined> = [];
  try {
    emulator = await startChild<{ url: string }>('bench/servers/emulator.ts', {}, 'emulator');
    const emulatorUrl = emulator.info.url;
    const started = await Promise.all(
      APPS.map((app) =>
        startChild<AppInfo>(
          'bench/servers/express.ts',
          { BENCH_LIB: app.lib, BENCH_STORE: app.store, BENCH_EMULATOR_URL: emulatorUrl },
          `express-${app.key}`,
        ).then((child) => {
          children.push(child);
          return child;
        }),
      ),
    );
    APPS.forEach((app, i) => {
      const child = started[i]!;
      console.log(
        `   ${app.name}: ${child.info.url} (pid ${child.pid}), session cookie(s) ${child.info.cookieNames.join(', ')}: ${child.info.cookieBytes} bytes`,
      );
    });
    const accept = 'application/json';
    const results = await interleave(
      APPS.map((app, i) => ({
        name: `${app.name}: GET /me`,
        url: `${started[i]!.info.url}/me`,
        headers: { cookie: started[i]!.info.cookie, accept },
        pid: started[i]!.pid,
      })),
    );
    const byKey = new Map<App['key'], RouteResult>(APPS.map((app, i) => [app.key, results[i]!]));
    for (const r of results) console.log(routeLine(r));
    for (const r of results) for (const line of loudFailure(r.name, r)) console.log(line);
    const figures: Figure[] = [];
    for (const [label, oursKey, theirsKey, target] of COMPARISONS) {
      const ours = byKey.get(oursKey)!;
      const theirs = byKey.get(theirsKey)!;
      const paired = pairedRatio(ours, theirs);
      const failed = ours.non2xx + ours.errors + theirs.non2xx + theirs.errors > 0;
      figures.push({
        bench: BENCH,
        label,
        value: failed ? null : paired.median,
        target: target === null ? 'report only' : `≥ ${target}`,
        met: failed ? false : target === null ? null : paired.median >= target,
        note: failed
          ? 'FAILED: some /me answers were not 200'
          : `${spreadNote(paired)}; server CPU per request ${fmt(cpuOf(ours), 0)} µs against ${fmt(cpuOf(theirs), 0)} µs`,
      });
    }
    APPS.forEach((app, i) => {
      const r = results[i]!;
      figures.push({
        bench: BENCH,
        label: `${app.name}: server CPU per /me (µs)`,
        value: cpuOf(r),
        digits: 1,
        target: 'report only',
        met: null,
        note: `${fmt(r.median, 0)} req/s (median); load generator ${fmt(median(r.loadCpu), 1)} µs`,
      });
    });
    for (const f of figures) console.log(figureLine(f));
    return figures;
  } catch (error) {
    const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
    console.log(`   ${note}`);
    return failedFigures(note);
  } finally {
    await stopAll([...children, emulator]);
  }
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
