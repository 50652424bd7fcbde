/**
 * The README's first steps, done the way a newcomer does them: a fresh copy of the repository (the
 * files git tracks plus new ones it does not ignore, so uncommitted work is included, but no
 * node_modules and no dist), `npm ci` with the lock file, then `npx vmpro --help`,
 * `npx vmpro emulator --port 0` with `login` and `whoami` against it, `npm start`, and
 * `npm pack` of both packages (which must hold a build). Installs come from npm's cache when they
 * can (`--prefer-offline`); the whole file takes about a minute and a half.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
let copy: string;
let installLog = '';

/** Runs `command` in the copy until `pattern` shows in its output; resolves with the match. */
async function until(
  command: string,
  args: string[],
  pattern: RegExp,
  env: Record<string, string> = {},
): Promise<{ match: RegExpExecArray; stop: () => Promise<number | null> }> {
  // Its own process group, so that stopping it stops npm's children too.
  const child: ChildProcess = spawn(command, args, {
    cwd: copy,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGINT');
    return exited;
  };
  let out = '';
  try {
    const match = await new Promise<RegExpExecArray>((resolveMatch, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing matched ${pattern} in 60 s: ${out}`)), 60_000);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const found = pattern.exec(out);
        if (found) {
          clearTimeout(timer);
          resolveMatch(found);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void exited.then((code) =>
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${out}`)),
      );
    });
    return { match, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'vmpro-fresh-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && existsSync(join(root, f)));
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(root, file), join(copy, file));
  }
  // npm ci runs the root's prepare script (the library's build); the CLI runs from its sources.
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: copy,
    encoding: 'utf8',
  });
  installLog = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`npm ci failed (${result.status}):\n${installLog}`);
}, 300_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('a fresh copy of the repository after npm ci', () => {
  it('installed without an engine warning, and linked the vmpro command', () => {
    expect(installLog).not.toMatch(/EBADENGINE/);
    expect(existsSync(join(copy, 'node_modules/.bin/vmpro'))).toBe(true);
    expect(existsSync(join(copy, 'packages/cli/dist'))).toBe(false); // nothing to build for npx vmpro
  });

  it('npx vmpro --help works', () => {
    const help = execFileSync('npx', ['vmpro', '--help'], { cwd: copy, encoding: 'utf8' });
    expect(help).toMatch(/^ {2}emulator\b/m);
    expect(help).toContain('Exit codes:');
  });

  it('npx vmpro emulator, login and whoami work as the README shows them', async () => {
    const { match, stop } = await until(
      'npx',
      ['vmpro', 'emulator', '--port', '0'],
      /http:\/\/127\.0\.0\.1:\d+/,
    );
    try {
      const config = await fetch(`${match[0]}/auth/realms/platform/.well-known/openid-configuration`);
      expect(config.status).toBe(200);
      const env = { ...process.env, VMPRO_HOME: join(copy, '.vmpro-home'), VMPRO_API_BASE: match[0] };
      const login = execFileSync('npx', ['vmpro', 'login', '--password', '--username', 'demo'], {
        cwd: copy,
        encoding: 'utf8',
        env: { ...env, VMPRO_PASSWORD: 'demo' },
      });
      expect(login).toContain('Signed in as Dana Demo');
      const whoami = execFileSync('npx', ['vmpro', 'whoami'], { cwd: copy, encoding: 'utf8', env });
      expect(whoami).toMatch(/^Signed in as Dana Demo/);
    } finally {
      await stop();
    }
  });

  it('npm start runs the demo with the embedded emulator', async () => {
    const { match, stop } = await until('npm', ['start'], /VideoManager Pro demo: (http:\/\/\S+?)\/?$/m, {
      PORT: '0',
    });
    try {
      expect((await fetch(`${match[1]}/healthz`)).status).toBe(200);
    } finally {
      await stop();
    }
  });

  it('npm pack gives both packages with their build', () => {
    const packs = join(copy, '.packs');
    mkdirSync(packs);
    const files = (cwd: string) => {
      const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packs], {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return (
        (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? []
      );
    };
    expect(files(copy)).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'LICENSE']));
    expect(files(join(copy, 'packages/cli'))).toEqual(
      expect.arrayContaining(['bin/vmpro.js', 'dist/cli/main.js']),
    );
  });
});
