import autocannon from 'autocannon';
import { BENCH_SECRET, measureRate, startChild, stopAll } from './lib/harness.js';
const emu = await startChild<{ url: string }>('bench/servers/emulator.ts', { BENCH_EMULATOR_OPTIONS: JSON.stringify({ strictRefreshTokenReuse: true }) }, 'emu');
const demo = await startChild<{ url: string; cookies: string[] }>('bench/servers/demo.ts', { PORT: '0', VMPRO_CLIENT_ID: 'bench-burst', VMPRO_CLIENT_SECRET: 'bench-burst-secret-0123456789', VMPRO_API_BASE: emu.info.url, VMPRO_SESSION_STORE: 'memory', VMPRO_SESSION_SECRET: BENCH_SECRET, BENCH_REGISTER_AT: emu.info.url, BENCH_LOGINS: '1' }, 'demo');
const cookie = demo.info.cookies[0]!;
const headers = { cookie, accept: 'application/json' };
for (const c of [10, 50]) {
  const r = await measureRate({ name: 'vms', url: `${demo.info.url}/api/vms`, headers }, 3, c);
  console.log(`steady /api/vms c=${c}`, Math.round(r.rps), r.non2xx, r.errors);
}
for (const n of [50, 200, 1000]) {
  const t = performance.now();
  const lat: number[] = [];
  const inst = autocannon({ url: `${demo.info.url}/api/vms`, connections: n, amount: n, headers });
  inst.on('response', (_c, _s, _b, ms) => lat.push(ms));
  const res = await inst;
  lat.sort((a, b) => a - b);
  console.log(`burst ${n}: ${(performance.now() - t).toFixed(0)} ms, p50 ${lat[Math.floor(n / 2)]}, max ${lat[n - 1]}, non2xx ${res.non2xx}`);
}
await stopAll([demo, emu]);
