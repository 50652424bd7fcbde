/**
 * `npm run bench`: every benchmark in one run, then one table of every figure with its target.
 *
 * 1. me-vs-healthz  — session lookup cost per store (demo app)
 * 2. express-vs-eoc — vmpro-connect ÷ express-openid-connect on one Express app
 * 3. refresh-burst  — refreshes per session under a burst (memory; Redis ×2 with REDIS_URL)
 * 4. api-overhead   — the API client over a bare fetch (GET /v1/vms on the emulator)
 *
 * The library is compiled once (tsc) and every server process runs that build (see lib/build.ts).
 * Set REDIS_URL (e.g. redis://127.0.0.1:6379) to include the Redis measurements.
 */
import { run as apiOverhead } from './api-overhead.js';
import { run as expressVsEoc } from './express-vs-eoc.js';
import { prepareLibrary } from './lib/build.js';
import { type Figure, summaryTable } from './lib/harness.js';
import { run as meVsHealthz } from './me-vs-healthz.js';
import { run as refreshBurst } from './refresh-burst.js';

async function main(): Promise<void> {
  const started = Date.now();
  console.log('# vmpro-connect benchmarks');
  console.log(
    `   node ${process.version}, load generator: autocannon in this process; each server in its own process; 127.0.0.1 only`,
  );
  console.log(
    `   REDIS_URL: ${process.env.REDIS_URL ? 'set' : 'not set — the Redis measurements are skipped'}`,
  );
  const library = prepareLibrary();
  console.log(`   ${library.note}`);

  const figures: Figure[] = [];
  const benches: Array<[string, () => Promise<Figure[]>]> = [
    ['me-vs-healthz', meVsHealthz],
    ['express-vs-eoc', expressVsEoc],
    ['refresh-burst', refreshBurst],
    ['api-overhead', apiOverhead],
  ];
  for (const [name, bench] of benches) {
    try {
      figures.push(...(await bench()));
    } catch (error) {
      console.error(error);
      figures.push({
        bench: name,
        label: 'crashed',
        value: null,
        target: '—',
        met: false,
        note: String(error),
      });
    }
  }

  console.log(`\n# Summary (one run, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  console.log(summaryTable(figures));
  const missed = figures.filter((f) => f.met === false);
  console.log(
    `\n${missed.length === 0 ? 'Every target was met.' : `Targets not met: ${missed.map((f) => `${f.bench} / ${f.label}`).join('; ')}`}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
