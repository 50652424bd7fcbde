/**
 * The emulator alone in a process. Options come from `BENCH_EMULATOR_OPTIONS` (JSON of
 * `startEmulator`'s options, e.g. `{"strictRefreshTokenReuse":true,"accessTokenLifetime":8}`).
 * Clients are registered by the app processes over `POST /_emulator/clients`.
 *
 * Prints `{"ready":true,"url","issuer","apiBase"}`.
 */
import { type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';
import { announceReady, runChild } from './child.js';

runChild(async () => {
  const options = JSON.parse(process.env.BENCH_EMULATOR_OPTIONS ?? '{}') as EmulatorOptions;
  // The benchmarks send far more than a person would; the API's per-user rate limit is not under test.
  const emulator = await startEmulator({ port: 0, rateLimitPerMinute: false, ...options });
  announceReady({ url: emulator.url, issuer: emulator.issuer, apiBase: emulator.apiBase }, () =>
    emulator.close(),
  );
});
