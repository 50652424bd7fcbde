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
 * Against an emulator in another process (`BENCH_API_BASE`, `BENCH_ISSUER`). After the ready line
 * it answers each stdin line `run <n>` with `{"wallUs","cpuUs"}` per call over n sequential calls.
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
  const call = variant.startsWith('bare')
    ? async () => {
        const response = await doFetch(url, { headers: { authorization: `Bearer ${token}` } });
        if (!response.ok) throw new Error(`bare fetch got ${response.status}`);
        await response.json();
      }
    : async () => {
        await api.vms.list();
      };
  await call(); // fails here, before "ready", if anything is wrong

  const run = async (n: number) => {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await call();
    const wallUs = Number(process.hrtime.bigint() - start) / 1e3 / n;
    const used = process.cpuUsage(cpu);
    return { wallUs, cpuUs: (used.user + used.system) / n };
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    const n = Number(/^run (\d+)$/.exec(line.trim())?.[1]);
    if (!Number.isInteger(n) || n < 1) return;
    run(n).then(
      (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
  announceReady({ variant }, async () => {});
});
