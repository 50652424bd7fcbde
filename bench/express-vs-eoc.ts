/**
 * vmpro-connect against express-openid-connect 3.4 on the same Express 5 app: authenticated
 * `GET /me` (the guard, then `{ sub, name }` as JSON), each app in its own process, both logged
 * in like a browser against one emulator (a third process). Interleaved rounds, median rates.
 *
 *   npx tsx bench/express-vs-eoc.ts       (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS)
 */

import { prepareLibrary } from './lib/build.js';
import {
  type ChildServer,
  type Figure,
  figureLine,
  fmt,
  interleave,
  isMain,
  LOAD,
  loudFailure,
  pairedRatio,
  routeLine,
  runAsScript,
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

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  console.log(
    `\n## ${BENCH}: authenticated GET /me on one Express 5 app shape, vmpro-connect vs express-openid-connect`,
  );
  console.log(
    `   ${LOAD.rounds} interleaved rounds × ${LOAD.seconds} s per app after ${LOAD.warmupSeconds} s warm-up, ${LOAD.connections} connections; each app and the emulator in its own process`,
  );
  console.log(`   ${library.note}`);
  const label = 'vmpro-connect ÷ express-openid-connect (GET /me)';
  const target = `≥ ${TARGET}`;
  let emulator: ChildServer<{ url: string }> | undefined;
  let ours: ChildServer<AppInfo> | undefined;
  let eoc: ChildServer<AppInfo> | undefined;
  try {
    emulator = await startChild<{ url: string }>('bench/servers/emulator.ts', {}, 'emulator');
    [ours, eoc] = await Promise.all([
      startChild<AppInfo>(
        'bench/servers/express.ts',
        { BENCH_LIB: 'vmpro', BENCH_EMULATOR_URL: emulator.info.url },
        'express-vmpro',
      ),
      startChild<AppInfo>(
        'bench/servers/express.ts',
        { BENCH_LIB: 'eoc', BENCH_EMULATOR_URL: emulator.info.url },
        'express-eoc',
      ),
    ]);
    for (const [name, app] of [
      ['vmpro-connect', ours],
      ['express-openid-connect', eoc],
    ] as const) {
      console.log(
        `   ${name}: ${app.info.url} (pid ${app.pid}), session cookie(s) ${app.info.cookieNames.join(', ')}: ${app.info.cookieBytes} bytes`,
      );
    }
    const accept = 'application/json';
    const [a, b] = await interleave([
      {
        name: 'vmpro-connect GET /me',
        url: `${ours.info.url}/me`,
        headers: { cookie: ours.info.cookie, accept },
        pid: ours.pid,
      },
      {
        name: 'express-openid-connect GET /me',
        url: `${eoc.info.url}/me`,
        headers: { cookie: eoc.info.cookie, accept },
        pid: eoc.pid,
      },
    ]);
    console.log(routeLine(a!));
    console.log(routeLine(b!));
    for (const line of [
      ...loudFailure('vmpro-connect GET /me', a!),
      ...loudFailure('express-openid-connect GET /me', b!),
    ])
      console.log(line);
    const paired = pairedRatio(a!, b!);
    const ratio = paired.median;
    const failed = a!.non2xx + a!.errors + b!.non2xx + b!.errors > 0;
    const figure: Figure = {
      bench: BENCH,
      label,
      value: failed ? null : ratio,
      target,
      met: failed ? false : ratio >= TARGET,
      note: `median of ${a!.rates.length} paired rounds (middle half ${fmt(paired.low)}–${fmt(paired.high)})`,
    };
    if (failed) figure.note = 'FAILED: some /me answers were not 200';
    console.log(figureLine({ ...figure, value: ratio }));
    return [figure];
  } catch (error) {
    const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
    console.log(`   ${note}`);
    return [{ bench: BENCH, label, value: null, target, met: false, note }];
  } finally {
    await stopAll([ours, eoc, emulator]);
  }
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
