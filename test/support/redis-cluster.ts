/**
 * A real Redis Cluster for tests: six `redis-server --cluster-enabled yes` processes (three
 * primaries, one replica each) on free ports of 127.0.0.1, each in its own temporary directory,
 * joined with `redis-cli --cluster create`. The processes are always killed and the directories
 * removed: by `close()`, and — if the test worker dies first — by a watchdog per server that
 * SIGKILLs it when our pipe to it closes, plus an exit hook.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Why a cluster cannot be started here (`redis-server` or `redis-cli` missing, or too old for
 * `--cluster-port`), or `undefined` when it can. Use it in `describe.skipIf`.
 *
 * @example
 * ```ts
 * const missing = clusterUnavailable()
 * describe.skipIf(missing !== undefined)(`on a Redis Cluster${missing ? ` (skipped: ${missing})` : ''}`, () => {})
 * ```
 */
export function clusterUnavailable(server = 'redis-server', cli = 'redis-cli'): string | undefined {
  for (const binary of [server, cli]) {
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (probe.error !== undefined || probe.status !== 0) {
      return `\`${binary}\` is not installed or does not run (Debian: apt-get install redis-server)`;
    }
  }
  const version = /v=(\d+)\./.exec(spawnSync(server, ['--version'], { encoding: 'utf8' }).stdout);
  if (version === null || Number(version[1]) < 7) {
    return `\`${server}\` is older than 7 (the helper needs --cluster-port and the tests sharded Pub/Sub)`;
  }
  return undefined;
}

/** One server of the cluster. */
export interface ClusterNode {
  readonly port: number;
  readonly pid: number;
  /** False once killed. */
  readonly alive: boolean;
  /** SIGKILL; resolves once the process has been reaped. */
  kill(): Promise<void>;
}

/** A running cluster; `close()` kills every server and removes the temporary directory. */
export interface RunningCluster {
  readonly nodes: readonly ClusterNode[];
  /** `{ host, port }` of every server, for `new Cluster(...)` / `createCluster({ rootNodes })`. */
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  /** A plain (non-cluster) connection to one server, for CLUSTER / INFO commands; closed by `close()`. */
  admin(port: number): Redis;
  /** The port of the primary that serves `slot` now, as a live server sees it. */
  primaryOf(slot: number): Promise<number>;
  /** The ports of the current primaries. */
  primaries(): Promise<number[]>;
  /** Resolves once a live primary other than `oldPort` serves `slot` and the cluster state is ok. */
  waitForFailover(slot: number, oldPort: number, withinMs?: number): Promise<number>;
  close(): Promise<void>;
}

/** Options of `startRedisCluster`. */
export interface RedisClusterOptions {
  /** `cluster-node-timeout`: how long a primary may be silent before its replica takes over; default 1500 ms. */
  nodeTimeoutMs?: number;
  server?: string;
  cli?: string;
}

/** pids of every server started by this module and not yet reaped. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

/** The server under a shell that SIGKILLs it when our pipe on its stdin closes (this worker died). */
const WATCHDOG = '"$0" "$@" & pid=$!; echo "pid=$pid"; read line; kill -9 "$pid" 2>/dev/null; wait "$pid"';

async function startNode(server: string, port: number, busPort: number, dir: string, nodeTimeoutMs: number) {
  const args = [
    '--port',
    String(port),
    '--cluster-port',
    String(busPort),
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, 'nodes.conf'),
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--bind',
    '127.0.0.1',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  const watchdog: ChildProcess = spawn('sh', ['-c', WATCHDOG, server, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  watchdog.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  watchdog.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(watchdog, 'exit').then(() => undefined);
  let pid = 0;
  let alive = true;
  const node: ClusterNode = {
    port,
    get pid() {
      return pid;
    },
    get alive() {
      return alive;
    },
    async kill() {
      alive = false;
      if (pid !== 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      watchdog.stdin?.end();
      await exited;
      running.delete(pid);
    },
  };
  const deadline = performance.now() + 5000;
  for (;;) {
    const announced = /pid=(\d+)/.exec(output);
    if (pid === 0 && announced) {
      pid = Number(announced[1]);
      running.add(pid);
    }
    if (pid !== 0 && (await answersPing(port))) return node;
    if (watchdog.exitCode !== null || performance.now() > deadline) {
      await node.kill();
      throw new Error(`redis-server on port ${port} did not start: ${output.slice(-500)}`);
    }
    await sleep(25);
  }
}

async function answersPing(port: number): Promise<boolean> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${output.slice(-800)}`));
    });
  });
}

/** `CLUSTER SHARDS`-free parsing of `CLUSTER NODES`: primary port per slot range. */
function parsePrimaries(nodesText: string): Array<{ port: number; ranges: Array<[number, number]> }> {
  const primaries: Array<{ port: number; ranges: Array<[number, number]> }> = [];
  for (const line of nodesText.trim().split('\n')) {
    const fields = line.split(' ');
    const flags = fields[2]?.split(',') ?? [];
    if (!flags.includes('master') || flags.includes('fail') || flags.includes('fail?')) continue;
    const port = Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]);
    const ranges: Array<[number, number]> = [];
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue; // a slot being migrated
      const [from, to] = range.split('-').map(Number);
      ranges.push([from!, to ?? from!]);
    }
    if (ranges.length > 0) primaries.push({ port, ranges });
  }
  return primaries;
}

/**
 * Starts six servers and joins them into a cluster of three primaries with one replica each;
 * resolves once every server reports `cluster_state:ok` (at most ~20 s).
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster({ nodeTimeoutMs: 1500 })
 * try {
 *   const client = new Cluster(cluster.startupNodes)
 * } finally {
 *   await cluster.close()
 * }
 * ```
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RunningCluster> {
  const server = options.server ?? 'redis-server';
  const cli = options.cli ?? 'redis-cli';
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1500;
  const root = mkdtempSync(join(tmpdir(), 'vmpro-redis-cluster-'));
  const nodes: ClusterNode[] = [];
  const admins = new Map<number, Redis>();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const admin of admins.values()) admin.disconnect();
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    const ports: Array<[number, number]> = [];
    for (let i = 0; i < 6; i++) ports.push([await freePort(taken), await freePort(taken)]);
    for (const [i, [port, busPort]] of ports.entries()) {
      const dir = join(root, `node-${i}`);
      mkdirSync(dir);
      nodes.push(await startNode(server, port, busPort, dir, nodeTimeoutMs));
    }
    await run(
      cli,
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      20_000,
    );
  } catch (error) {
    await close();
    throw error;
  }

  const admin = (port: number): Redis => {
    let client = admins.get(port);
    if (client === undefined) {
      client = new Redis({
        port,
        host: '127.0.0.1',
        maxRetriesPerRequest: 1,
        connectTimeout: 1000,
        retryStrategy: (times) => (times > 3 ? null : 100),
      });
      client.on('error', () => {});
      admins.set(port, client);
    }
    return client;
  };
  const live = () => nodes.filter((n) => n.alive);
  const clusterNodes = async (): Promise<string> => {
    let last: unknown;
    for (const node of live()) {
      try {
        return String(await admin(node.port).call('CLUSTER', 'NODES'));
      } catch (error) {
        last = error;
      }
    }
    throw new Error(`no live cluster node answered CLUSTER NODES: ${String(last)}`);
  };
  const allOk = async () => {
    for (const node of live()) {
      const info = String(
        await admin(node.port)
          .call('CLUSTER', 'INFO')
          .catch(() => ''),
      );
      if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
    }
    return true;
  };
  const until = async <T>(
    what: string,
    probe: () => Promise<T | undefined>,
    withinMs: number,
  ): Promise<T> => {
    const deadline = performance.now() + withinMs;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (performance.now() > deadline) throw new Error(`Redis Cluster: ${what} not within ${withinMs} ms`);
      await sleep(100);
    }
  };

  const cluster: RunningCluster = {
    nodes,
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    admin,
    async primaryOf(slot) {
      for (const primary of parsePrimaries(await clusterNodes())) {
        if (primary.ranges.some(([from, to]) => slot >= from && slot <= to)) return primary.port;
      }
      throw new Error(`no primary serves slot ${slot}`);
    },
    async primaries() {
      return parsePrimaries(await clusterNodes()).map((p) => p.port);
    },
    waitForFailover: (slot, oldPort, withinMs = 20_000) =>
      until(
        `failover of slot ${slot} away from port ${oldPort}`,
        async () => {
          const port = await cluster.primaryOf(slot);
          return port !== oldPort && (await allOk()) ? port : undefined;
        },
        withinMs,
      ),
    close,
  };
  try {
    await until('cluster_state:ok on every node', async () => ((await allOk()) ? true : undefined), 20_000);
  } catch (error) {
    await close();
    throw error;
  }
  return cluster;
}
