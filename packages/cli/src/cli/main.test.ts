/**
 * The `vmpro` program as a whole: commander wiring and exit codes in-process, the long-running
 * commands (emulator, dev) until Ctrl-C, and the package's real binary spawned.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from 'vmpro-connect/emulator';
import { parseClientSpec } from './commands/emulator.js';
import type { CliContext } from './context.js';
import { runCli } from './program.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vmpro-main-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A context whose stdout can be awaited for a pattern. */
function capture(env: Record<string, string> = {}, signal?: AbortSignal) {
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = w.pattern.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  const ctx: CliContext = {
    env: { VMPRO_HOME: home, ...env },
    stdout: {
      write: (s: string) => {
        out += s;
        check();
      },
    },
    stderr: { write: (s: string) => (err += s) },
    ...(signal && { signal }),
  };
  return {
    ctx,
    out: () => out,
    err: () => err,
    waitFor: (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve) => {
        waiters.push({ pattern, resolve });
        check();
      }),
  };
}

describe('vmpro (in-process)', () => {
  it('--help lists every command and exits 0', async () => {
    const c = capture();
    expect(await runCli(['--help'], c.ctx)).toBe(0);
    for (const command of ['dev', 'emulator', 'login', 'token', 'whoami', 'api', 'logout', 'doctor']) {
      expect(c.out()).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    }
  });

  it.each(['dev', 'emulator', 'login', 'token', 'whoami', 'api', 'logout', 'doctor'])(
    '%s --help explains the command with an example',
    async (command) => {
      const c = capture();
      expect(await runCli([command, '--help'], c.ctx)).toBe(0);
      expect(c.out()).toContain(`Usage: vmpro ${command}`);
      expect(c.out()).toMatch(/Examples:\n {2}\S/);
    },
  );

  it('an unknown command is a usage error: exit 2', async () => {
    const c = capture();
    expect(await runCli(['frobnicate'], c.ctx)).toBe(2);
    expect(c.err()).toContain("unknown command 'frobnicate'");
  });

  it('a bad option value is a usage error: exit 2', async () => {
    const c = capture();
    expect(await runCli(['emulator', '--port', 'eighty'], c.ctx)).toBe(2);
    expect(c.err()).toContain('Expected a whole number');
  });

  it('--help lists the exit codes', async () => {
    const c = capture();
    expect(await runCli(['--help'], c.ctx)).toBe(0);
    expect(c.out()).toContain('Exit codes:');
    for (const code of [0, 1, 2, 3, 4, 5]) expect(c.out()).toMatch(new RegExp(`^ {2}${code} {2}\\S`, 'm'));
    expect(c.out()).toMatch(/^ {2}3 {2}not signed in, or the login has ended/m);
  });

  it('a missing argument is a usage error: exit 2', async () => {
    const c = capture();
    expect(await runCli(['api', 'GET'], c.ctx)).toBe(2);
    expect(c.err()).toContain('missing the path');
  });

  it('api with a path in place of the method suggests the command line meant, exit 2', async () => {
    const c = capture();
    expect(await runCli(['api', '/v1/vms'], c.ctx)).toBe(2);
    expect(c.err()).toContain('did you mean: vmpro api GET /v1/vms');
    expect(c.err()).not.toContain("missing required argument 'path'");
  });

  it('api with a URL in place of the method suggests its path below the API base', async () => {
    const c = capture();
    expect(await runCli(['api', 'https://api.video-cdn.net/v1/vms?limit=2'], c.ctx)).toBe(2);
    expect(c.err()).toContain('did you mean: vmpro api GET /v1/vms?limit=2');
  });

  it('api with a URL as the path suggests its path below the API base', async () => {
    const c = capture();
    expect(await runCli(['api', 'GET', 'https://api.video-cdn.net/v1/vms'], c.ctx)).toBe(2);
    expect(c.err()).toContain('did you mean: vmpro api GET /v1/vms');
  });

  it('api with the path before the method suggests them the other way round', async () => {
    const c = capture();
    expect(await runCli(['api', '/v1/vms/1/videos', 'post'], c.ctx)).toBe(2);
    expect(c.err()).toContain('did you mean: vmpro api POST /v1/vms/1/videos');
  });

  it('api --help shows the method and the path as required', async () => {
    const c = capture();
    expect(await runCli(['api', '--help'], c.ctx)).toBe(0);
    expect(c.out()).toContain('Usage: vmpro api [options] <method> <path>');
  });

  it('there is no option to pass a password value on the command line', async () => {
    const c = capture();
    expect(await runCli(['login', '--password', 'secret-value', '--username', 'demo'], c.ctx)).toBe(2);
    expect(c.err()).toContain('too many arguments');
    expect(c.err()).not.toContain('secret-value');
  });
});

describe('vmpro emulator', () => {
  it('prints its URL, issuer, users, the demo client and how to use it, and stops on Ctrl-C', async () => {
    const stop = new AbortController();
    const c = capture({}, stop.signal);
    const done = runCli(
      ['emulator', '--port', '0', '--client', 'my-app:my-app-secret:http://localhost:8080/cb'],
      c.ctx,
    );
    const [, url] = await c.waitFor(/^VideoManager Pro emulator: (http:\/\/127\.0\.0\.1:\d+)$/m);
    await c.waitFor(/Stop with Ctrl-C/);
    expect(c.out()).toContain(`issuer:    ${url}/auth/realms/platform`);
    expect(c.out()).toContain('demo/demo');
    expect(c.out()).toContain('vmpro-demo / vmpro-demo-secret');
    expect(c.out()).toContain(
      `VMPRO_API_BASE=${url} VMPRO_CLIENT_ID=vmpro-demo VMPRO_CLIENT_SECRET=vmpro-demo-secret npm start`,
    );
    expect(c.out()).toContain('my-app (confidential');
    expect(c.out()).not.toContain('my-app-secret');

    const webfinger = await fetch(
      `${url}/.well-known/webfinger?resource=${encodeURIComponent(`${url}/v1/`)}`,
    );
    expect(webfinger.status).toBe(200);
    stop.abort();
    expect(await done).toBe(0);
    expect(c.out()).toContain('Emulator stopped.');
    await expect(fetch(`${url}/`)).rejects.toThrow();
  });

  it('reads --client id:secret:redirectUri, with colons in the URI and an empty secret for a public client', () => {
    expect(parseClientSpec('a:s:http://127.0.0.1:8765/callback')).toMatchObject({
      clientId: 'a',
      clientSecret: 's',
      redirectUris: ['http://127.0.0.1:8765/callback'],
    });
    expect(parseClientSpec('cli::http://127.0.0.1:8765/callback')).toMatchObject({
      clientId: 'cli',
      publicClient: true,
    });
    expect(() => parseClientSpec('just-an-id')).toThrow(/id:secret:redirectUri/);
  });
});

describe('vmpro dev', () => {
  it('runs the demo app with the embedded emulator, prints the banner, and stops on Ctrl-C', async () => {
    const stop = new AbortController();
    const c = capture(
      { PORT: '0', VMPRO_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters' },
      stop.signal,
    );
    const done = runCli(['dev'], c.ctx);
    const [, url] = await c.waitFor(/VideoManager Pro demo: (http:\/\/\S+?)\/?$/m);
    await c.waitFor(/Stop with Ctrl-C/);
    expect(c.out()).toContain('Embedded emulator');
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    stop.abort();
    expect(await done).toBe(0);
    expect(c.out()).toContain('Demo stopped.');
  });
});

const VMPRO_BIN = fileURLToPath(new URL('../../bin/vmpro.js', import.meta.url));

/** Runs the real binary; resolves with its exit code and output. */
function spawnVmpro(args: string[], env: Record<string, string | undefined>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    // The package's bin, as `npx vmpro` runs it in a checkout (the sources, through tsx), from
    // another folder: it must not depend on the working directory.
    execFile(
      process.execPath,
      [VMPRO_BIN, ...args],
      { cwd: home, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the vmpro binary (packages/cli/bin/vmpro.js, spawned)', { timeout: 90_000 }, () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await emulator.close();
  });

  const baseEnv = () => {
    const env: Record<string, string | undefined> = { ...process.env, VMPRO_HOME: home };
    for (const key of Object.keys(env)) if (key.startsWith('VMPRO_') && key !== 'VMPRO_HOME') delete env[key];
    return env;
  };

  it('--help exits 0 and lists the commands', async () => {
    const result = await spawnVmpro(['--help'], baseEnv());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: vmpro');
    expect(result.stdout).toMatch(/^ {2}doctor\b/m);
  });

  it('an unknown command exits 2', async () => {
    expect((await spawnVmpro(['frobnicate'], baseEnv())).code).toBe(2);
  });

  it('token without a login exits 3, telling to run vmpro login', async () => {
    const result = await spawnVmpro(['token'], baseEnv());
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Run `vmpro login` first.');
  });

  it('doctor exits 0 against the emulator', async () => {
    const result = await spawnVmpro(['doctor'], {
      ...baseEnv(),
      VMPRO_API_BASE: emulator.apiBase,
      VMPRO_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
    });
    expect(result.stdout).toContain('All checks passed.');
    expect(result.code).toBe(0);
  });

  it('doctor exits 1 against a dead port', async () => {
    const result = await spawnVmpro(
      ['doctor', '--api-base', `http://127.0.0.1:${await freePort()}`],
      baseEnv(),
    );
    expect(result.stdout).toMatch(/^✘ WebFinger/m);
    expect(result.code).toBe(1);
  });

  it('login --password, then token prints only the token on stdout', async () => {
    const env = { ...baseEnv(), VMPRO_API_BASE: emulator.apiBase };
    const login = await spawnVmpro(['login', '--password', '--username', 'demo'], {
      ...env,
      VMPRO_PASSWORD: 'demo',
    });
    expect(login.code).toBe(0);
    const token = await spawnVmpro(['token'], env);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });
});
