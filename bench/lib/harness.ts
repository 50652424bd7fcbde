/**
 * What every benchmark shares: servers under test in child processes, the load generator (wrk,
 * a C program in a process of its own; autocannon in this process only where no wrk is
 * installed), interleaved rounds with medians and spreads, and the figures every benchmark returns.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One printed figure: a ratio (or count) measured in this run, with its target. */
export interface Figure {
  bench: string;
  label: string;
  value: number | null;
  /** Human-readable target, e.g. `≥ 0.85`; `report only` when there is none. */
  target: string;
  /** `null` when there is no target or the figure could not be measured. */
  met: boolean | null;
  /** Why the figure is missing, or anything the reader must know next to it. */
  note?: string;
  digits?: number;
}

export const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

/**
 * Rounds per route, seconds per measurement (whole seconds: wrk takes no fractions), seconds of
 * warm-up per route, connections. Many short rounds: on a shared 2-core VM the rate of one route
 * swings from one second to the next, and only the ratio of two routes measured back to back
 * (paired) is stable.
 */
export const LOAD = {
  rounds: envNumber('BENCH_ROUNDS', 10),
  seconds: Math.max(1, Math.round(envNumber('BENCH_SECONDS', 1))),
  warmupSeconds: Math.max(1, Math.round(envNumber('BENCH_WARMUP', 1))),
  connections: envNumber('BENCH_CONNECTIONS', 10),
};

/** The load generator of this run: wrk when installed, else autocannon (and the run says so). */
export interface LoadGenerator {
  kind: 'wrk' | 'autocannon';
  /** wrk's path, when `kind` is `wrk`. */
  command: string;
  version: string;
  threads: number;
  /** One line for the run's header. */
  note: string;
}

let generator: LoadGenerator | undefined;

/**
 * wrk (`BENCH_WRK`, default `wrk` on the PATH) unless `BENCH_LOAD_GENERATOR=autocannon`.
 * autocannon runs in this Node process, on the same cores as the server: when it is the
 * bottleneck, every ratio of two routes is squeezed toward 1.
 */
export function loadGenerator(): LoadGenerator {
  if (generator) return generator;
  const command = process.env.BENCH_WRK ?? 'wrk';
  const threads = envNumber('BENCH_WRK_THREADS', 1);
  const forced = process.env.BENCH_LOAD_GENERATOR === 'autocannon';
  const probe = forced ? null : spawnSync(command, ['-v'], { encoding: 'utf8' });
  const banner = `${probe?.stdout ?? ''}${probe?.stderr ?? ''}`.split('\n')[0] ?? '';
  if (probe && !probe.error && /^wrk /.test(banner)) {
    const version = banner.split(' ')[1] ?? 'unknown';
    generator = {
      kind: 'wrk',
      command,
      version,
      threads,
      note: `load generator: wrk ${version} (${threads} thread${threads === 1 ? '' : 's'}), a C program in its own process`,
    };
  } else {
    generator = {
      kind: 'autocannon',
      command: '',
      version: '8',
      threads: 1,
      note: forced
        ? 'load generator: autocannon in this process (BENCH_LOAD_GENERATOR=autocannon). It shares the two cores with the server and squeezes every ratio toward 1'
        : 'load generator: autocannon in this process, because no wrk was found (apt-get install -y wrk). It shares the cores with the server and squeezes every ratio toward 1: read the ratios as lower bounds of the differences',
    };
  }
  return generator;
}

/** The machine, for a run's header: cores, load average, Node. */
export function machineLine(): string {
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const cores = spawnSync('nproc', [], { encoding: 'utf8' }).stdout?.trim() || '?';
  return `machine: ${cores} cores, load average ${load} at the start; node ${process.version}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A server under test, running in its own process. */
export interface ChildServer<T> {
  /** The JSON line the child printed when ready (its URL, session cookie, …). */
  info: T;
  pid: number;
  /** Sends one line to the child's stdin and resolves with the next JSON line it prints. */
  ask<R>(line: string): Promise<R>;
  stop(): Promise<void>;
}

/**
 * Spawns `node --import tsx <script>` and waits for the JSON line `{"ready":true,…}` on its
 * stdout. The child exits on SIGTERM or when its stdin closes (so it also ends when this process
 * dies). With `BENCH_CPU_PROF=<dir>` the child writes a V8 CPU profile there when it exits.
 */
export async function startChild<T>(
  script: string,
  env: Record<string, string | undefined>,
  label: string,
  options: {
    timeoutMs?: number;
    /**
     * Another checkout of this repository to run the script from (its own sources, its own
     * bench/servers), with `buildDir` its compiled library (see build.ts).
     */
    tree?: { root: string; buildDir: string | undefined };
  } = {},
): Promise<ChildServer<T>> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const root = options.tree?.root ?? ROOT;
  const buildDir = options.tree ? options.tree.buildDir : process.env.BENCH_BUILD_DIR;
  const nodeArgs = ['--import', 'tsx'];
  // The compiled library instead of tsx-transpiled sources (see build.ts and use-build.mjs).
  if (buildDir) nodeArgs.push('--import', pathToFileURL(`${root}/bench/lib/use-build.mjs`).href);
  const profileDir = process.env.BENCH_CPU_PROF;
  // One directory per server; V8 names each thread's profile (main thread: CPU.….0.001.cpuprofile).
  if (profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}/${label}`);
  const scriptPath = fileURLToPath(new URL(script, pathToFileURL(`${root}/`)));
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, scriptPath], {
    cwd: root,
    env: { ...process.env, ...env, BENCH_BUILD_DIR: buildDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${label}] ${line}\n`);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const answers: Array<{ resolve: (answer: unknown) => void; reject: (error: Error) => void }> = [];
  child.once('exit', (code) => {
    for (const pending of answers.splice(0))
      pending.reject(new Error(`${label} exited with code ${code}:\n${stderrTail.join('\n')}`));
  });

  const info = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(
        new Error(`${label} did not report ready within ${timeoutMs / 1000} s\n${stderrTail.join('\n')}`),
      );
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    let ready = false;
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as { ready?: boolean };
        if (!ready && parsed.ready) {
          ready = true;
          clearTimeout(timer);
          resolve(parsed as T);
        } else if (ready) {
          answers.shift()?.resolve(parsed);
        }
      } catch {
        // not our line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with code ${code} before it was ready:\n${stderrTail.join('\n')}`));
    });
  });

  return {
    info,
    pid: child.pid!,
    ask<R>(line: string) {
      return new Promise<R>((resolve, reject) => {
        if (child.exitCode !== null) {
          reject(new Error(`${label} has exited:\n${stderrTail.join('\n')}`));
          return;
        }
        answers.push({ resolve: resolve as (answer: unknown) => void, reject });
        child.stdin!.write(`${line}\n`);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      child.stdin?.end();
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') child.kill('SIGKILL');
    },
  };
}

/** Stops every child, even when some fail to stop. */
export async function stopAll(children: Array<ChildServer<unknown> | undefined>): Promise<void> {
  await Promise.allSettled(children.map((c) => c?.stop()));
}

export interface LoadTarget {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The server's process: its CPU time per request is measured too (Linux `/proc`). */
  pid?: number;
}

export interface RateSample {
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Server CPU time (user + system) per request in µs; `null` without a pid or `/proc`. */
  cpuUs: number | null;
  /** The load generator's own CPU time per request in µs (wrk's process, or this one). */
  loadCpuUs: number | null;
}

/** CPU time (user + system) a process has used so far, in µs; `null` where `/proc` is missing. */
export function processCpuUs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) in clock ticks; Linux uses 100 ticks per second.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

/**
 * CPU time of this process's children that have exited and been waited for (fields 16 and 17
 * of stat, cutime and cstime), in µs: its growth over one wrk run is wrk's CPU time, provided no
 * other child exits meanwhile (servers stop only between measurements).
 */
function exitedChildrenCpuUs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10_000;
  } catch {
    return null;
  }
}

interface WrkReport {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** One wrk run; its summary comes back as a JSON line from wrk-report.lua. */
function runWrk(target: LoadTarget, seconds: number, connections: number): Promise<WrkReport> {
  const wrk = loadGenerator();
  const args = [
    `-t${Math.min(wrk.threads, connections)}`,
    `-c${connections}`,
    `-d${Math.max(1, Math.round(seconds))}s`,
    '--timeout',
    '10s',
    '-s',
    `${ROOT}bench/lib/wrk-report.lua`,
  ];
  for (const [name, value] of Object.entries(target.headers)) args.push('-H', `${name}: ${value}`);
  args.push(target.url);
  return new Promise((resolve, reject) => {
    const child = spawn(wrk.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk ${args.join(' ')} exited with ${code}: ${(err || out).trim().slice(0, 500)}`));
        return;
      }
      resolve(JSON.parse(line) as WrkReport);
    });
  });
}

/** Requests/second of one route for `seconds`, with `connections` keep-alive connections. */
export async function measureRate(
  target: LoadTarget,
  seconds: number,
  connections = LOAD.connections,
): Promise<RateSample> {
  const cpuBefore = target.pid === undefined ? null : processCpuUs(target.pid);
  const perRequest = (before: number | null, after: number | null, requests: number) =>
    before === null || after === null || requests === 0 ? null : (after - before) / requests;
  if (loadGenerator().kind === 'wrk') {
    const loadBefore = exitedChildrenCpuUs();
    const report = await runWrk(target, seconds, connections);
    const cpuAfter = target.pid === undefined ? null : processCpuUs(target.pid);
    return {
      rps: report.requests / (report.durationUs / 1e6),
      requests: report.requests,
      non2xx: report.status,
      errors: report.connect + report.read + report.write + report.timeout,
      cpuUs: perRequest(cpuBefore, cpuAfter, report.requests),
      loadCpuUs: perRequest(loadBefore, exitedChildrenCpuUs(), report.requests),
    };
  }
  const loadBefore = process.cpuUsage();
  const result = await autocannon({
    url: target.url,
    headers: target.headers,
    connections,
    duration: seconds,
  });
  const cpuAfter = target.pid === undefined ? null : processCpuUs(target.pid);
  const load = process.cpuUsage(loadBefore);
  const requests = result.requests.total;
  return {
    rps: requests / result.duration,
    requests,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuUs: perRequest(cpuBefore, cpuAfter, requests),
    loadCpuUs: requests === 0 ? null : (load.user + load.system) / requests,
  };
}

export interface RouteResult {
  name: string;
  rates: number[];
  median: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Server CPU µs per request, per round (empty without a pid). */
  cpu: number[];
  /** The load generator's CPU µs per request, per round. */
  loadCpu: number[];
}

/**
 * The ratio of two routes' rates, round by round (each round measures both back to back), and
 * its median: steadier than the ratio of the two medians when the machine's speed drifts.
 */
export function pairedRatio(a: RouteResult, b: RouteResult): Spread {
  return spread(a.rates.map((rate, i) => rate / b.rates[i]!));
}

/** A median with the middle half and the whole range of the values it came from. */
export interface Spread {
  median: number;
  low: number;
  high: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread {
  return {
    median: median(values),
    low: percentile(values, 25),
    high: percentile(values, 75),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** `median of 8 paired rounds (middle half 0.80–0.84, all 0.78–0.86)`. */
export function spreadNote(s: Spread, what = 'paired rounds', digits = 2): string {
  return `median of ${s.n} ${what} (middle half ${fmt(s.low, digits)}–${fmt(s.high, digits)}, all ${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

/** Median server CPU µs per request of a route (`NaN` without a pid). */
export const cpuOf = (r: RouteResult): number => (r.cpu.length > 0 ? median(r.cpu) : Number.NaN);

/**
 * Measures routes in interleaved rounds (the order alternates each round), after a warm-up
 * of each, so that drift — JIT, GC, other processes on the machine — hits every route alike.
 * Routes compared with each other should sit next to each other in `targets`: they are then
 * measured back to back in every round.
 */
export async function interleave(targets: LoadTarget[], load = LOAD): Promise<RouteResult[]> {
  for (const target of targets) await measureRate(target, load.warmupSeconds);
  const results = targets.map((t) => ({
    name: t.name,
    rates: [] as number[],
    cpu: [] as number[],
    loadCpu: [] as number[],
    requests: 0,
    non2xx: 0,
    errors: 0,
  }));
  for (let round = 0; round < load.rounds; round++) {
    const order = targets.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const sample = await measureRate(targets[i]!, load.seconds, load.connections);
      const r = results[i]!;
      r.rates.push(sample.rps);
      if (sample.cpuUs !== null) r.cpu.push(sample.cpuUs);
      if (sample.loadCpuUs !== null) r.loadCpu.push(sample.loadCpuUs);
      r.requests += sample.requests;
      r.non2xx += sample.non2xx;
      r.errors += sample.errors;
    }
  }
  return results.map((r) => ({ ...r, median: median(r.rates) }));
}

export const fmtRate = (rps: number) => `${Math.round(rps).toLocaleString('en-US')} req/s`;
export const fmt = (value: number | null, digits = 2) =>
  value === null || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
export const verdict = (met: boolean | null) => (met === null ? '' : met ? 'MET' : 'NOT MET');

/** One route's line: median, and the per-round rates so that the spread is visible. */
export function routeLine(r: RouteResult): string {
  const rounds = r.rates.map((x) => Math.round(x)).join(', ');
  const server = r.cpu.length > 0 ? `   server CPU ${median(r.cpu).toFixed(1)} µs/request` : '';
  const load = r.loadCpu.length > 0 ? `, load generator ${median(r.loadCpu).toFixed(1)} µs` : '';
  const cpu = server + load;
  return `  ${r.name.padEnd(44)} median ${fmtRate(r.median).padStart(14)}${cpu}\n  ${''.padEnd(44)} rounds: ${rounds}`;
}

/** Prints a loud failure block (non-2xx answers or socket errors during a measurement). */
export function loudFailure(what: string, r: RouteResult): string[] {
  if (r.non2xx === 0 && r.errors === 0) return [];
  return [
    '',
    '  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    `  !!! FAILURE: ${what}: ${r.non2xx} of ${r.requests} answers were not 2xx, ${r.errors} socket errors/timeouts.`,
    '  !!! The rate above is not a measurement of the intended route.',
    '  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    '',
  ];
}

export function figureLine(f: Figure): string {
  const value = fmt(f.value, f.digits ?? 2);
  const met = verdict(f.met);
  return `  => ${f.label}: ${value}   (target: ${f.target})${met ? `  ${met}` : ''}${f.note ? `  — ${f.note}` : ''}`;
}

/** A table of figures, for the end of a run. */
export function summaryTable(figures: Figure[]): string {
  const rows = figures.map((f) => [
    f.bench,
    f.label,
    fmt(f.value, f.digits ?? 2),
    f.target,
    verdict(f.met) || '—',
    f.note ?? '',
  ]);
  const head = ['benchmark', 'figure', 'value', 'target', 'met', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * The ratios among `figures` (labels with `÷`) as bar charts, one per benchmark, each scaled to
 * its largest ratio (at least 1), with a mark where a bar of exactly 1.00 ends.
 */
export function barChart(figures: Figure[], width = 40): string {
  const ratios = figures.filter((f) => f.label.includes('÷') && f.value !== null && !f.label.includes('(%)'));
  if (ratios.length === 0) return '(no ratios)';
  const labelWidth = Math.max(...ratios.map((f) => f.label.length));
  const charts: string[] = [];
  for (const bench of new Set(ratios.map((f) => f.bench))) {
    const group = ratios.filter((f) => f.bench === bench);
    const top = Math.max(1, ...group.map((f) => f.value!));
    // The column where a bar of exactly 1.00 ends.
    const one = Math.max(1, Math.round(width / top));
    const lines = [bench];
    for (const f of group) {
      const cells = Math.round((f.value! / top) * width);
      const bar = cells >= one ? '█'.repeat(cells) : `${'█'.repeat(cells).padEnd(one - 1)}┆`;
      lines.push(`  ${f.label.padEnd(labelWidth)}  ${bar.padEnd(width)}  ${fmt(f.value, f.digits ?? 2)}`);
    }
    lines.push(`  ${''.padEnd(labelWidth)}  ${'┆'.padStart(one)} 1.00`);
    charts.push(lines.join('\n'));
  }
  return charts.join('\n\n');
}

/** True when `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === moduleUrl;
}

/** Runs a benchmark as a script: prints its figures' table and exits (children are stopped by then). */
export function runAsScript(title: string, run: () => Promise<Figure[]>): void {
  run().then(
    (figures) => {
      console.log(`\n${title}: summary\n${summaryTable(figures)}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** A fixed session secret for every benchmark server (several instances must share it). */
export const BENCH_SECRET = 'bench-session-secret-0123456789-abcdefghijklmnop';
