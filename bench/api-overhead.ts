/**
 * Overhead of the API client over bare fetch: sequential `GET /v1/vms` against the emulator,
 * bare `fetch` with the bearer header (body parsed as JSON) vs `api.vms.list()`.
 *
 * The two run interleaved in many short rounds (ABBA order) so that drift — GC, JIT, other
 * processes on the machine — hits both alike. It prints the overhead from the totals, the
 * median of the per-round ratios (robust to bursts of load) and from process CPU time (the
 * emulator runs in this process, so its work counts for both equally). Asserts nothing.
 *
 *   npx tsx bench/api-overhead.ts [requestsPerVariant=2000] [rounds=40]
 */
import { createVmproApiClient, fixedToken } from '../src/api/index.js';
import { startEmulator } from '../src/emulator/index.js';

const total = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 40);
const perRound = Math.max(1, Math.floor(total / rounds));
const warmup = 500;

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function run(fn: () => Promise<void>, n: number): Promise<Sample> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

const percent = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)} %`;

const emulator = await startEmulator({ port: 0 });
try {
  const grant = await fetch(`${emulator.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'anonymous',
      username: 'demo',
      password: 'demo',
      scope: 'openid',
    }),
  });
  const { access_token: token } = (await grant.json()) as { access_token: string };
  const url = `${emulator.apiBase}/v1/vms`;
  const api = createVmproApiClient({ baseUrl: emulator.apiBase, tokenSource: fixedToken(token) });

  const bare = async () => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`bare fetch got ${response.status}`);
    await response.json();
  };
  const viaClient = async () => {
    await api.vms.list();
  };

  await run(bare, warmup);
  await run(viaClient, warmup);

  const bareSamples: Sample[] = [];
  const clientSamples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    // ABBA: neither variant always runs first, on a warmer (or busier) machine.
    if (round % 2 === 0) {
      bareSamples.push(await run(bare, perRound));
      clientSamples.push(await run(viaClient, perRound));
    } else {
      clientSamples.push(await run(viaClient, perRound));
      bareSamples.push(await run(bare, perRound));
    }
  }

  const n = perRound * rounds;
  const sum = (samples: Sample[], key: keyof Sample) => samples.reduce((acc, s) => acc + s[key], 0);
  const bareWall = sum(bareSamples, 'wallMs');
  const clientWall = sum(clientSamples, 'wallMs');
  const ratios = bareSamples.map((b, i) => clientSamples[i]!.wallMs / b.wallMs);
  const cpuRatio = sum(clientSamples, 'cpuMs') / sum(bareSamples, 'cpuMs');
  const line = (label: string, wallMs: number) =>
    `  ${label.padEnd(20)} ${((n / wallMs) * 1000).toFixed(0).padStart(6)} req/s  ${((wallMs / n) * 1000).toFixed(0).padStart(6)} µs/request`;

  console.log(
    `GET /v1/vms on the emulator: ${n} sequential requests per variant, ${rounds} interleaved rounds of ${perRound}`,
  );
  console.log(line('bare fetch', bareWall));
  console.log(line('client vms.list()', clientWall));
  console.log('overhead = client ÷ bare − 1 (target: under 5 %)');
  console.log(`  from total wall time         ${percent(clientWall / bareWall)}`);
  console.log(
    `  median of per-round ratios   ${percent(median(ratios))}   (middle half of rounds: ${percent(quantile(ratios, 0.25))} … ${percent(quantile(ratios, 0.75))})`,
  );
  console.log(`  from process CPU time        ${percent(cpuRatio)}`);

  // The client's own work per call, without the network: both sides get the same canned answer.
  const canned = JSON.stringify(await api.vms.list());
  const cannedFetch = (async () =>
    new Response(canned, { headers: { 'content-type': 'application/json' } })) as unknown as typeof fetch;
  const offline = createVmproApiClient({
    baseUrl: emulator.apiBase,
    tokenSource: fixedToken(token),
    fetch: cannedFetch,
  });
  const bareOffline = async () => {
    await (await cannedFetch(url, { headers: { authorization: `Bearer ${token}` } })).json();
  };
  const clientOffline = async () => {
    await offline.vms.list();
  };
  await run(bareOffline, warmup);
  await run(clientOffline, warmup);
  let bareOfflineMs = 0;
  let clientOfflineMs = 0;
  for (let round = 0; round < rounds; round++) {
    bareOfflineMs += (await run(bareOffline, perRound)).wallMs;
    clientOfflineMs += (await run(clientOffline, perRound)).wallMs;
  }
  const ownUs = ((clientOfflineMs - bareOfflineMs) / n) * 1000;
  console.log(
    `  client's own work per call   ${ownUs.toFixed(1)} µs (canned answers, no network) = ${((ownUs / ((bareWall / n) * 1000)) * 100).toFixed(1)} % of a bare request`,
  );
} finally {
  await emulator.close();
}
