/**
 * One caller of bench/api-overhead.ts, in its own process (so that each variant pays for its
 * own garbage and nothing else, and, with `BENCH_BUILD_DIR`, the client runs from the compiled
 * build as published). `BENCH_VARIANT` picks what one call is:
 *
 * - `bare`: `fetch` of `GET /v1/vms` with the bearer header, status checked, body parsed as JSON;
 * - `client`: `api.vms.list()`;
 * - `bare-canned` / `client-canned`: the same with a `fetch` that answers at once with the same
 *   JSON (no network): the difference is the client's own work.
 *
 * - `alternate`: both in one process, for `pairs` (below).
 *
 * Against an emulator in another process (`BENCH_API_BASE`, `BENCH_ISSUER`). After the ready line
 * it answers each stdin line `run <n>` with `{"wallUs","cpuUs"}` per call over n sequential calls,
 * and `pairs <n> client|aa` with `{"bareUs","otherUs","bareMeanUs","otherMeanUs"}` (see `pairs`).
 */
import { createInterface } from 'node:readline';
import { createVmproApiClient, fixedToken } from '../../src/api/index.js';
import { anonymousToken } from '../../test/support/tokens.js';
import { announceReady, required, runChild } from './child.js';

runChild(async () => {
  const apiBase = required('BENCH_API_BASE');
  const issuer = required('BENCH_ISSUER');
  const variant = required('BENCH_VARIANT');

  const token = await anonymousToken(issuer);
  const url = `${apiBase}/v1/vms`;

  const canned = variant.endsWith('-canned');
  const answer = JSON.stringify(
    await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json(),
  );
  const doFetch: typeof fetch = canned
    ? ((async () =>
        new Response(answer, { headers: { 'content-type': 'application/json' } })) as typeof fetch)
    : fetch;
  const api = createVmproApiClient({ baseUrl: apiBase, tokenSource: fixedToken(token), fetch: doFetch });
  const bareCall = async () => {
    const response = await doFetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`bare fetch got ${response.status}`);
    await response.json();
  };
  // The same code as a second function, for the A/A run that shows the method's own noise.
  const bareAgain = async () => {
    const response = await doFetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`bare fetch got ${response.status}`);
    await response.json();
  };
  const clientCall = async () => {
    await api.vms.list();
  };
  const call = variant.startsWith('bare') ? bareCall : clientCall;
  await call(); // fails here, before "ready", if anything is wrong
  if (variant === 'alternate') await bareAgain();

  /**
   * `pairs <n> client|aa`: n pairs of calls, bare and the other one back to back, in the order
   * ABBA pair by pair, so that whatever slows the machine down hits both alike. Returns the
   * median wall time of one call of each side in µs (a median, not a mean: a pause of the
   * emulator or of this process — a GC, another process on the CPU — lands on one call of one side
   * and would otherwise decide the block), and the means for reference.
   */
  const pairs = async (n: number, other: () => Promise<void>) => {
    const bareNs: number[] = [];
    const otherNs: number[] = [];
    for (let i = 0; i < n; i++) {
      const bareFirst = i % 4 === 0 || i % 4 === 3;
      const t0 = process.hrtime.bigint();
      await (bareFirst ? bareCall() : other());
      const t1 = process.hrtime.bigint();
      await (bareFirst ? other() : bareCall());
      const t2 = process.hrtime.bigint();
      bareNs.push(Number(bareFirst ? t1 - t0 : t2 - t1));
      otherNs.push(Number(bareFirst ? t2 - t1 : t1 - t0));
    }
    const medianUs = (ns: number[]) => ns.sort((a, b) => a - b)[ns.length >> 1]! / 1e3;
    const meanUs = (ns: number[]) => ns.reduce((a, b) => a + b, 0) / ns.length / 1e3;
    return {
      bareUs: medianUs(bareNs),
      otherUs: medianUs(otherNs),
      bareMeanUs: meanUs(bareNs),
      otherMeanUs: meanUs(otherNs),
    };
  };

  const run = async (n: number) => {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await call();
    const wallUs = Number(process.hrtime.bigint() - start) / 1e3 / n;
    const used = process.cpuUsage(cpu);
    return { wallUs, cpuUs: (used.user + used.system) / n };
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    const pairCommand = /^pairs (\d+) (client|aa)$/.exec(line.trim());
    const n = Number(pairCommand?.[1] ?? /^run (\d+)$/.exec(line.trim())?.[1]);
    if (!Number.isInteger(n) || n < 1) return;
    const work = pairCommand ? pairs(n, pairCommand[2] === 'aa' ? bareAgain : clientCall) : run(n);
    work.then(
      (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
  announceReady({ variant }, async () => {});
});
