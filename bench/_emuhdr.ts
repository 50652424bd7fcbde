import { anonymousToken } from '../test/support/tokens.js';
import { interleave, median, pairedRatio, startChild, stopAll } from './lib/harness.js';

const emu = await startChild<{ issuer: string; apiBase: string }>(
  'bench/servers/emulator.ts',
  { BENCH_EMULATOR_OPTIONS: '{"accessTokenLifetime":36000}' },
  'emu',
);
const token = await anonymousToken(emu.info.issuer);
const url = `${emu.info.apiBase}/v1/vms`;
const base = {
  authorization: `Bearer ${token}`,
  'accept-language': '*',
  'sec-fetch-mode': 'cors',
  'accept-encoding': 'gzip, deflate',
};
const res = await interleave(
  [
    { name: 'bare-style', url, headers: { ...base, accept: '*/*', 'user-agent': 'node' }, pid: emu.pid },
    {
      name: 'client-style',
      url,
      headers: { ...base, accept: 'application/json', 'user-agent': 'vmpro-connect' },
      pid: emu.pid,
    },
  ],
  { rounds: 8, seconds: 2, warmupSeconds: 1, connections: 1 },
);
for (const r of res)
  console.log(
    r.name.padEnd(14),
    Math.round(r.median),
    'rps',
    median(r.cpu).toFixed(1),
    'µs emu CPU',
    pairedRatio(r, res[0]!).median.toFixed(3),
  );
await stopAll([emu]);
