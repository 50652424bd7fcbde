/**
 * What the framework tests share: the library packed as a user gets it, real apps under
 * `test/frameworks/apps/<name>/` installed from npm into a cache outside the checkout (so the
 * slow install happens once per machine and dependency set), a server process started and stopped
 * by the test, and Debian's Chromium signing in through the emulator's login form.
 *
 * Cache: `$VMPRO_FRAMEWORK_CACHE`, else `~/.cache/vmpro-connect-frameworks`. An app's install is
 * keyed by its `package.json`; the library's tarball by a digest of the sources it is built from,
 * so a changed source gives a new tarball, put into the app's `node_modules` without reinstalling.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';

export const root = resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const cacheRoot =
  process.env.VMPRO_FRAMEWORK_CACHE ?? join(homedir(), '.cache', 'vmpro-connect-frameworks');

/** Install timeouts: a cold `npm install` of Next.js takes about a minute here; 8 minutes is a broken network. */
const INSTALL_TIMEOUT_MS = 8 * 60_000;

/** Runs a command; rejects with its output when it fails or runs past `timeoutMs`. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolvePromise(stdout);
        const what = error.killed ? `timed out after ${options.timeoutMs} ms` : `failed (${error.message})`;
        reject(
          new Error(
            `\`${command} ${args.join(' ')}\` in ${options.cwd} ${what}\n--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`,
          ),
        );
      },
    );
  });
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** A lock across test processes (vitest runs files in parallel): a directory that only one can create. */
async function withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
  const dir = join(cacheRoot, 'locks', name);
  mkdirSync(join(cacheRoot, 'locks'), { recursive: true });
  const deadline = Date.now() + INSTALL_TIMEOUT_MS + 60_000;
  for (;;) {
    try {
      mkdirSync(dir);
      break;
    } catch {
      // A lock older than the longest install belongs to a process that died holding it.
      try {
        if (Date.now() - statSync(dir).mtimeMs > INSTALL_TIMEOUT_MS + 60_000)
          rmSync(dir, { recursive: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`gave up waiting for the lock ${dir}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function digest(paths: string[]): string {
  const hash = createHash('sha256');
  for (const path of paths) {
    hash.update(relative(root, path));
    hash.update(readFileSync(path));
  }
  return hash.digest('hex').slice(0, 16);
}

function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, keep));
    else if (keep(path)) out.push(path);
  }
  return out;
}

/**
 * The library as `npm pack` makes it, built from the current sources into the cache (never into
 * the checkout's `dist/`, which other tests read while this runs).
 */
export async function libraryTarball(): Promise<string> {
  const sources = [
    ...filesUnder(join(root, 'src'), (p) => p.endsWith('.ts')),
    join(root, 'package.json'),
    join(root, 'tsconfig.json'),
    join(root, 'tsconfig.build.json'),
    join(root, 'README.md'),
  ];
  const id = digest(sources);
  const tarball = join(cacheRoot, 'lib', `vmpro-connect-${id}.tgz`);
  if (existsSync(tarball)) return tarball;
  return withLock('lib', async () => {
    if (existsSync(tarball)) return tarball;
    const work = join(cacheRoot, 'lib', `build-${id}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    await run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json', '--outDir', join(work, 'dist')], {
      cwd: root,
      timeoutMs: 180_000,
    });
    for (const file of ['package.json', 'README.md', 'LICENSE'])
      if (existsSync(join(root, file))) cpSync(join(root, file), join(work, file));
    const out = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: work,
      timeoutMs: 60_000,
    });
    const [info] = JSON.parse(out) as Array<{ filename: string }>;
    if (!info) throw new Error('npm pack printed no result');
    renameSync(join(work, info.filename), tarball);
    rmSync(work, { recursive: true, force: true });
    return tarball;
  });
}

export interface PreparedApp {
  /** The app's folder in the cache, with its dependencies and the current library installed. */
  dir: string;
  /** True when this call ran `npm install` (a cold cache). */
  installed: boolean;
}

/**
 * Copies `test/frameworks/apps/<name>/` into the cache, installs its `package.json` with npm the
 * first time (the app depends on `"vmpro-connect": "file:./vmpro-connect.tgz"`, the packed
 * library, as a user's app depends on the published one), and puts the current tarball in its
 * `node_modules/vmpro-connect` on every run.
 */
export async function prepareApp(name: string): Promise<PreparedApp> {
  const source = join(root, 'test/frameworks/apps', name);
  const tarball = await libraryTarball();
  const manifest = join(source, 'package.json');
  const dir = join(cacheRoot, 'apps', `${name}-${digest([manifest, join(root, 'package-lock.json')])}`);
  return withLock(`app-${name}`, async () => {
    mkdirSync(dir, { recursive: true });
    // The sources, fresh each run (not `node_modules` or build output, which live only in the cache).
    // An app whose package.json says `"vmproTestApp": { "sourcesFrom": "<other app>" }` runs the
    // other app's sources on its own dependencies (Koa 2 with Koa 3's app).
    const filter = (path: string) => !/node_modules|\.next|dist$/.test(path);
    const { vmproTestApp } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      vmproTestApp?: { sourcesFrom?: string };
    };
    if (vmproTestApp?.sourcesFrom) {
      const shared = join(root, 'test/frameworks/apps', vmproTestApp.sourcesFrom);
      cpSync(shared, dir, {
        recursive: true,
        filter: (path) => filter(path) && path !== join(shared, 'package.json'),
      });
    }
    cpSync(source, dir, { recursive: true, filter });
    cpSync(tarball, join(dir, 'vmpro-connect.tgz'));
    const marker = join(dir, 'node_modules', '.vmpro-installed');
    let installed = false;
    if (!existsSync(marker)) {
      await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'], {
        cwd: dir,
        timeoutMs: INSTALL_TIMEOUT_MS,
      });
      writeFileSync(marker, tarball);
      installed = true;
    }
    if (readFileSync(marker, 'utf8') !== tarball) {
      // A new build of the library: unpack it in place of the old one (its dependencies, jose and
      // openid-client, are pinned and already installed).
      const target = join(dir, 'node_modules', 'vmpro-connect');
      const unpack = join(dir, 'node_modules', '.vmpro-unpack');
      rmSync(unpack, { recursive: true, force: true });
      mkdirSync(unpack);
      await run('tar', ['-xzf', tarball, '-C', unpack], { cwd: dir, timeoutMs: 60_000 });
      rmSync(target, { recursive: true, force: true });
      renameSync(join(unpack, 'package'), target);
      rmSync(unpack, { recursive: true, force: true });
      writeFileSync(marker, tarball);
    }
    return { dir, installed };
  });
}

/** A free TCP port on 127.0.0.1 (for servers such as `next start` that must be told a port). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePromise(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface AppProcess {
  origin: string;
  /** What the process printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.pid) killGroup(child.pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {}
}

/**
 * Starts a server process in its own process group and waits until `origin + readyPath` answers
 * (any status). `stop()` ends the whole group (npm → node → workers).
 */
export async function startProcess(options: {
  cwd: string;
  command: string;
  args: string[];
  port: number;
  env?: NodeJS.ProcessEnv;
  readyPath?: string;
  timeoutMs?: number;
}): Promise<AppProcess> {
  const origin = `http://127.0.0.1:${options.port}`;
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `${options.command} ${options.args.join(' ')} exited with ${child.exitCode}:\n${tail(output)}`,
      );
    try {
      await fetch(origin + (options.readyPath ?? '/'), {
        redirect: 'manual',
        signal: AbortSignal.timeout(2_000),
      });
      break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.command} did not answer at ${origin} in time:\n${tail(output)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { origin, output: () => output, stop };
}

/** Debian's Chromium with the flags this machine needs (no sandbox as root, no background network). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** On the emulator's login form (reached by following the app's sign-in): signs in as `demo`. */
export async function fillLoginForm(page: Page, username = 'demo', password = 'demo'): Promise<void> {
  await page.waitForSelector('#kc-login');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#kc-login');
}

export interface FrameworkEmulator {
  emulator: RunningEmulator;
  /** Environment for an app process: the emulator as login server and API, a registered client. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export const FRAMEWORK_SESSION_SECRET = 'framework-test-secret-0123456789-abcdef';

/**
 * Starts the emulator (short access tokens, so a test sees one expire) and registers a confidential
 * client for an app at `origin`. The env names are the demo's (DESIGN.md): `VMPRO_CLIENT_ID`,
 * `VMPRO_CLIENT_SECRET`, `VMPRO_API_BASE`, `VMPRO_REDIRECT_URI`, `VMPRO_SESSION_SECRET`.
 */
export async function frameworkEmulator(
  origin: string,
  options: { accessTokenLifetime?: number; callbackPath?: string } = {},
): Promise<FrameworkEmulator> {
  const emulator = await startEmulator({ accessTokenLifetime: options.accessTokenLifetime ?? 300 });
  const clientId = 'framework-app';
  const clientSecret = 'framework-app-secret';
  const callbackPath = options.callbackPath ?? '/auth/callback';
  emulator.addClient({
    clientId,
    clientSecret,
    redirectUris: [`${origin}${callbackPath}`],
    postLogoutRedirectUris: [`${origin}/`],
  });
  return {
    emulator,
    env: {
      VMPRO_CLIENT_ID: clientId,
      VMPRO_CLIENT_SECRET: clientSecret,
      VMPRO_API_BASE: emulator.apiBase,
      VMPRO_ISSUER: emulator.issuer,
      VMPRO_REDIRECT_URI: `${origin}${callbackPath}`,
      VMPRO_SESSION_SECRET: FRAMEWORK_SESSION_SECRET,
      APP_ORIGIN: origin,
    },
    close: () => emulator.close(),
  };
}
