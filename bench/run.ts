/**
 * `npm run bench`: every benchmark in one run, then one table of every figure with its target.
 *
 * 1. me-vs-healthz  — session lookup cost per store (demo app)
 * 2. express-vs-eoc — vmpro-connect ÷ express-openid-connect on one Express app
 * 3. refresh-burst  — refreshes per session under a burst (memory; Redis ×2 with REDIS_URL)
 * 4. api-overhead   — the API client over bare fetch (bench/api-overhead.ts, when present)
 *
 * The library is compiled once (tsc) and every server process runs that build (see lib/build.ts).
 * Set REDIS_URL (e.g. redis://127.0.0.1:6379) to include the Redis measurements.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { run as expressVsEoc } from './express-vs-eoc.js';
import { prepareLibrary } from './lib/build.js';
import { type Figure, ROOT, summaryTable } from './lib/harness.js';
import { run as meVsHealthz } from './me-vs-healthz.js';
import { run as refreshBurst } from './refresh-burst.js';

/** Runs bench/api-overhead.ts in its own process, echoing its output, and reads its target lines. */
async function apiOverhead(): Promise<Figure[]> {
  const script = join(ROOT, 'bench/api-overhead.ts');
  if (!existsSync(script)) {
    return [
      {
        bench: 'api-overhead',
        label: 'client ÷ bare fetch − 1',
        value: null,
        target: '—',
        met: null,
        note: 'bench/api-overhead.ts does not exist',
      },
    ];
  }
  const args = ['--import', 'tsx'];
  if (process.env.BENCH_BUILD_DIR)
    args.push('--import', pathToFileURL(join(ROOT, 'bench/lib/use-build.mjs')).href);
  console.log(
    `\n## api-overhead (bench/api-overhead.ts, its own process${process.env.BENCH_BUILD_DIR ? ', compiled library' : ''})`,
  );
  const child = spawn(process.execPath, [...args, script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    process.stdout.write(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) {
    return [
      {
        bench: 'api-overhead',
        label: 'client ÷ bare fetch − 1',
        value: null,
        target: '—',
        met: false,
        note: `FAILED: exit code ${code}`,
      },
    ];
  }
  return parseTargetLines(output);
}

/**
 * Reads "… (target: under 5 %)" and the percentage lines after it. Tolerant: the file belongs to
 * another helper; when its format is not understood, the table points at its output instead.
 */
function parseTargetLines(output: string): Figure[] {
  const lines = output.split('\n');
  const at = lines.findIndex((l) => /target/i.test(l));
  const target =
    at >= 0 ? (/target:\s*([^)]+)\)/i.exec(lines[at]!)?.[1]?.trim() ?? 'see output') : 'see output';
  const limit = Number(/under\s+([\d.]+)\s*%/i.exec(target)?.[1] ?? Number.NaN);
  const figures: Figure[] = [];
  const candidates = at >= 0 ? [lines[at]!, ...lines.slice(at + 1)] : [];
  for (const line of candidates) {
    const m = /^\s*(.*?)\s+([+-]?\d+(?:\.\d+)?)\s*%/.exec(line);
    if (!m || /target/i.test(m[1] ?? '')) continue;
    const value = Number(m[2]);
    const label = (m[1] ?? '')
      .replace(/\s+/g, ' ')
      .replace(/[=:]\s*$/, '')
      .trim();
    figures.push({
      bench: 'api-overhead',
      label: `overhead %: ${label}`,
      value,
      digits: 1,
      target,
      met: Number.isFinite(limit) ? value < limit : null,
    });
  }
  if (figures.length === 0) {
    figures.push({ bench: 'api-overhead', label: 'see its output above', value: null, target, met: null });
  }
  return figures;
}

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
