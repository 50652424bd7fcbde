/**
 * Overhead of the API client over a bare `fetch`: sequential `GET /v1/vms` against the emulator,
 * a bare `fetch` with the bearer header (status checked, body parsed as JSON) against
 * `api.vms.list()`. The emulator runs in its own process; the callers use the library as compiled
 * by `tsc` (the published code).
 *
 * The figure: in one caller process, bare and client calls alternate (ABBA per pair of calls), so
 * whatever slows the machine down hits both alike. Each block of pairs gives the ratio of the
 * median client call to the median bare call (a median: a GC pause or the other CPU's work lands
 * on single calls and would otherwise decide a block); the figure is the median over the blocks.
 * Next to it an A/A run (bare against the same code again) shows the method's own error: a few
 * tenths of a percent.
 *
 * For context: the same comparison with each variant in a process of its own (two pairs taking
 * turns in ABBA rounds; the median of the per-round ratios), which spreads ±10 % from round to
 * round on this VM; the callers' CPU time per call; and the client's own work per call with
 * canned answers (no network).
 *
 *   npx tsx bench/api-overhead.ts   (BENCH_API_BLOCKS, default 16; BENCH_API_PAIRS per block, default 400;
 *                                    BENCH_API_ROUNDS, default 80; BENCH_API_CALLS per round, default 150)
 */
import { prepareLibrary } from './lib/build.js';
import {
  type ChildServer,
  envNumber,
  type Figure,
  figureLine,
  isMain,
  median,
  percentile,
  runAsScript,
  startChild,
  stopAll,
} from './lib/harness.js';

const BENCH = 'api-overhead';
const TARGET_PERCENT = 5;

interface EmulatorInfo {
  issuer: string;
  apiBase: string;
}

interface PairResult {
  /** Median of one call's wall time in the block, µs. */
  bareUs: number;
  otherUs: number;
  bareMeanUs: number;
  otherMeanUs: number;
}

interface RunResult {
  wallUs: number;
  cpuUs: number;
}

const percent = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)} %`;
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Runs pairs of callers (a, b) in ABBA rounds of `perRound` calls each: one process works while
 * the others wait. Rounds go to the pairs in turn, so that no figure rests on one process's luck
 * (where its heap and JIT code ended up). Returns the results round by round.
 */
async function rounds(
  pairs: Array<[ChildServer<unknown>, ChildServer<unknown>]>,
  count: number,
  perRound: number,
): Promise<[RunResult[], RunResult[]]> {
  const results: [RunResult[], RunResult[]] = [[], []];
  for (let round = 0; round < count; round++) {
    const pair = pairs[round % pairs.length]!;
    const order: Array<0 | 1> = Math.floor(round / pairs.length) % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) results[i].push(await pair[i].ask<RunResult>(`run ${perRound}`));
  }
  return results;
}

export async function run(): Promise<Figure[]> {
  const library = prepareLibrary();
  const roundCount = envNumber('BENCH_API_ROUNDS', 80);
  const perRound = envNumber('BENCH_API_CALLS', 150);
  console.log(`\n## ${BENCH}: the API client vs a bare fetch, GET /v1/vms on the emulator`);
  console.log(
    `   the emulator in its own process; figure: one caller process, bare and client calls alternating (${envNumber('BENCH_API_BLOCKS', 16)} blocks × ${envNumber('BENCH_API_PAIRS', 400)} ABBA pairs); context: ${roundCount} ABBA rounds × ${perRound} calls over two pairs of caller processes`,
  );
  console.log(`   ${library.note}`);
  const children: Array<ChildServer<unknown> | undefined> = [];
  try {
    const emulator = await startChild<EmulatorInfo>('bench/servers/emulator.ts', {}, 'emulator');
    children.push(emulator);
    const caller = async (variant: string) => {
      const child = await startChild<unknown>(
        'bench/servers/api-client.ts',
        {
          BENCH_API_BASE: emulator.info.apiBase,
          BENCH_ISSUER: emulator.info.issuer,
          BENCH_VARIANT: variant,
        },
        `caller-${variant}`,
      );
      children.push(child);
      await child.ask(`run ${perRound * 5}`); // warm-up
      return child;
    };
    const pairOf = async (a: string, b: string) =>
      [await caller(a), await caller(b)] as [ChildServer<unknown>, ChildServer<unknown>];
    const [bare, client] = await rounds(
      [await pairOf('bare', 'client'), await pairOf('bare', 'client')],
      roundCount,
      perRound,
    );
    const [bareCanned, clientCanned] = await rounds(
      [await pairOf('bare-canned', 'client-canned')],
      Math.ceil(roundCount / 2),
      perRound * 4,
    );

    // The same comparison in one process, call by call (ABBA per pair of calls), next to an A/A
    // run (bare against the same code again) that shows how far this method is off for equal code.
    const alternate = await caller('alternate');
    const blocks = envNumber('BENCH_API_BLOCKS', 16);
    const perBlock = envNumber('BENCH_API_PAIRS', 400);
    const ab: PairResult[] = [];
    const aa: PairResult[] = [];
    for (let block = 0; block < blocks; block++) {
      const order = block % 2 === 0 ? (['client', 'aa'] as const) : (['aa', 'client'] as const);
      for (const mode of order)
        (mode === 'client' ? ab : aa).push(await alternate.ask<PairResult>(`pairs ${perBlock} ${mode}`));
    }
    // Per block: the median call of each side; the figure is the median over the blocks.
    const blockRatios = (results: PairResult[]) => results.map((r) => r.otherUs / r.bareUs);
    const pairRatio = (results: PairResult[]) => median(blockRatios(results));
    const pairSpread = (results: PairResult[]) =>
      `${percent(percentile(blockRatios(results), 25))} … ${percent(percentile(blockRatios(results), 75))}`;
    const pairMeans = (results: PairResult[]) =>
      mean(results.map((r) => r.otherMeanUs)) / mean(results.map((r) => r.bareMeanUs));

    const ratios = client.map((c, i) => c.wallUs / bare[i]!.wallUs);
    const paired = median(ratios);
    const total = mean(client.map((r) => r.wallUs)) / mean(bare.map((r) => r.wallUs));
    const bareUs = median(bare.map((r) => r.wallUs));
    const cpuBare = median(bare.map((r) => r.cpuUs));
    const cpuClient = median(client.map((r) => r.cpuUs));
    const ownWorkUs = median(clientCanned.map((c, i) => c.wallUs - bareCanned[i]!.wallUs));
    console.log(
      `   median per call: bare fetch ${bareUs.toFixed(0)} µs, client ${median(client.map((r) => r.wallUs)).toFixed(0)} µs`,
    );
    const overhead = (pairRatio(ab) - 1) * 100;
    const figures: Figure[] = [
      {
        bench: BENCH,
        label: 'client ÷ bare fetch − 1, calls alternating in one process (%)',
        value: overhead,
        digits: 1,
        target: `< ${TARGET_PERCENT} %`,
        met: overhead < TARGET_PERCENT,
        note: `median call per block, median of ${blocks} blocks × ${perBlock} pairs (middle half ${pairSpread(ab)}; from means ${percent(pairMeans(ab))}); A/A, bare ÷ the same code: ${percent(pairRatio(aa))} (middle half ${pairSpread(aa)})`,
      },
      {
        bench: BENCH,
        label: 'separate processes, paired rounds: client ÷ bare − 1 (%)',
        value: (paired - 1) * 100,
        digits: 1,
        target: 'report only',
        met: null,
        note: `middle half of rounds ${percent(percentile(ratios, 25))} … ${percent(percentile(ratios, 75))}; from total time ${percent(total)}`,
      },
      {
        bench: BENCH,
        label: 'caller CPU per call, client ÷ bare − 1 (%)',
        value: (cpuClient / cpuBare - 1) * 100,
        digits: 1,
        target: 'report only',
        met: null,
        note: `bare ${cpuBare.toFixed(0)} µs, client ${cpuClient.toFixed(0)} µs (medians of rounds)`,
      },
      {
        bench: BENCH,
        label: 'client’s own work per call, canned answers (µs)',
        value: ownWorkUs,
        digits: 1,
        target: 'report only',
        met: null,
        note: `${((ownWorkUs / bareUs) * 100).toFixed(1)} % of a bare call over the network`,
      },
    ];
    for (const f of figures) console.log(figureLine(f));
    return figures;
  } catch (error) {
    const note = `FAILED to run: ${(error as Error).message.split('\n')[0]}`;
    console.log(`   ${note}`);
    return [
      {
        bench: BENCH,
        label: 'client ÷ bare fetch − 1, calls alternating in one process (%)',
        value: null,
        target: `< ${TARGET_PERCENT} %`,
        met: false,
        note,
      },
    ];
  } finally {
    await stopAll(children);
  }
}

if (isMain(import.meta.url)) runAsScript(BENCH, run);
