/**
 * Overhead of the API client over bare fetch: sequential `GET /v1/vms` against the emulator,
 * bare `fetch` with the bearer header vs `api.vms.list()`, interleaved in rounds so that drift
 * (GC, JIT, the other processes on the machine) hits both alike. Prints; asserts nothing.
 *
 *   npx tsx bench/api-overhead.ts [requestsPerVariant=2000] [rounds=10]
 */
import { createVmproApiClient, fixedToken } from '../src/api/index.js';
import { startEmulator } from '../src/emulator/index.js';

const total = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 10);
const perRound = Math.max(1, Math.floor(total / rounds));
const warmup = 300;

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

  async function run(fn: () => Promise<void>, n: number): Promise<number> {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    return Number(process.hrtime.bigint() - start) / 1e6;
  }

  await run(bare, warmup);
  await run(viaClient, warmup);

  let bareMs = 0;
  let clientMs = 0;
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so neither always runs on a warmer (or busier) machine.
    if (round % 2 === 0) {
      bareMs += await run(bare, perRound);
      clientMs += await run(viaClient, perRound);
    } else {
      clientMs += await run(viaClient, perRound);
      bareMs += await run(bare, perRound);
    }
  }

  const n = perRound * rounds;
  const bareRps = (n / bareMs) * 1000;
  const clientRps = (n / clientMs) * 1000;
  const overhead = (clientMs / bareMs - 1) * 100;
  const line = (label: string, rps: number, ms: number) =>
    `${label.padEnd(22)} ${rps.toFixed(0).padStart(7)} req/s   ${((ms / n) * 1000).toFixed(0).padStart(5)} µs/req`;
  console.log(`GET /v1/vms against the emulator, ${n} sequential requests per variant in ${rounds} interleaved rounds`);
  console.log(line('bare fetch', bareRps, bareMs));
  console.log(line('client vms.list()', clientRps, clientMs));
  console.log(`overhead (client time ÷ bare time − 1): ${overhead.toFixed(1)} %   (target: under 5 %)`);
} finally {
  await emulator.close();
}
