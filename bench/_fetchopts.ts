import { createVmproApiClient, fixedToken } from '../src/api/index.js';
import { anonymousToken } from '../test/support/tokens.js';
import { startChild, stopAll } from './lib/harness.js';

const emu = await startChild<{ issuer: string; apiBase: string }>('bench/servers/emulator.ts', {}, 'emu');
const token = await anonymousToken(emu.info.issuer);
const url = `${emu.info.apiBase}/v1/vms`;
const auth = `Bearer ${token}`;
const ctl = new AbortController();
const api = createVmproApiClient({ baseUrl: emu.info.apiBase, tokenSource: fixedToken(token) });
function shared(cap: number) {
  let sig: AbortSignal | undefined;
  let uses = 0;
  let until = 0;
  return () => {
    const now = performance.now();
    if (!sig || uses >= cap || now >= until) {
      sig = AbortSignal.timeout(30000 + 1000);
      uses = 0;
      until = now + 1000;
    }
    uses++;
    return sig;
  };
}
const s64 = shared(64),
  s16 = shared(16),
  s8 = shared(8),
  s4 = shared(4),
  s1 = shared(1),
  s2 = shared(2),
  s32 = shared(32);
const ctlPer = () => new AbortController().signal;
const variants: Record<string, () => Promise<unknown>> = {
  cap64: async () => (await fetch(url, { headers: { authorization: auth }, signal: s64() })).json(),
  cap16: async () => (await fetch(url, { headers: { authorization: auth }, signal: s16() })).json(),
  cap8: async () => (await fetch(url, { headers: { authorization: auth }, signal: s8() })).json(),
  cap4: async () => (await fetch(url, { headers: { authorization: auth }, signal: s4() })).json(),
  cap1: async () => (await fetch(url, { headers: { authorization: auth }, signal: s1() })).json(),
  cap2: async () => (await fetch(url, { headers: { authorization: auth }, signal: s2() })).json(),
  cap32: async () => (await fetch(url, { headers: { authorization: auth }, signal: s32() })).json(),
  ctlPer: async () => (await fetch(url, { headers: { authorization: auth }, signal: ctlPer() })).json(),
  bare: async () => (await fetch(url, { headers: { authorization: auth } })).json(),
  bare2: async () => (await fetch(url, { headers: { authorization: auth } })).json(),
  follow: async () => (await fetch(url, { headers: { authorization: auth }, redirect: 'follow' })).json(),
  error: async () => (await fetch(url, { headers: { authorization: auth }, redirect: 'error' })).json(),
  headers3: async () =>
    (
      await fetch(url, {
        headers: { authorization: auth, accept: 'application/json', 'user-agent': 'vmpro-connect/0.1.0' },
      })
    ).json(),
  manual: async () => (await fetch(url, { headers: { authorization: auth }, redirect: 'manual' })).json(),
  method: async () => (await fetch(url, { method: 'GET', headers: { authorization: auth } })).json(),
  signalShared: async () =>
    (await fetch(url, { headers: { authorization: auth }, signal: ctl.signal })).json(),
  signalTimeout: async () =>
    (await fetch(url, { headers: { authorization: auth }, signal: AbortSignal.timeout(30000) })).json(),
  client: () => api.vms.list(),
};
const names = (process.argv[2] ?? Object.keys(variants).join(',')).split(',');
const cpu: Record<string, number[]> = {};
const wall: Record<string, number[]> = {};
for (const n of names) {
  for (let i = 0; i < 300; i++) await variants[n]!();
  cpu[n] = [];
  wall[n] = [];
}
const N = 300;
for (let b = 0; b < 16; b++) {
  const order = b % 2 ? [...names].reverse() : names;
  for (const n of order) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await variants[n]!();
    const c = process.cpuUsage(c0);
    cpu[n]!.push((c.user + c.system) / N);
    wall[n]!.push(((performance.now() - t0) * 1000) / N);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
for (const n of names)
  console.log(
    n.padEnd(14),
    'cpu',
    med(cpu[n]!).toFixed(1),
    'µs  wall',
    med(wall[n]!).toFixed(1),
    'µs',
    ' cpu vs bare',
    ((med(cpu[n]!) / med(cpu.bare!) - 1) * 100).toFixed(1),
    '%',
  );
await stopAll([emu]);
