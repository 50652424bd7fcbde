/** `vmpro doctor` against a real emulator, a dead port and broken settings. */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import { type DoctorOptions, doctor } from './commands/doctor.js';
import type { CliContext } from './context.js';
import { credentialsPath, writeCredentials } from './credentials.js';

let emulator: RunningEmulator;
let home: string;
const SECRET = 'a-session-secret-of-at-least-32-characters';

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vmpro-doctor-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

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

async function runDoctor(
  env: Record<string, string>,
  options: DoctorOptions = {},
  extra: Partial<CliContext> = {},
) {
  let out = '';
  const ctx: CliContext = {
    env: { VMPRO_HOME: home, VMPRO_API_BASE: emulator.apiBase, VMPRO_SESSION_SECRET: SECRET, ...env },
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (out += s) },
    ...extra,
  };
  const code = await doctor(options, ctx);
  const lines = out.split('\n');
  /** The line of the check whose title contains `text`, and the fix line after it. */
  const line = (text: string) => {
    const i = lines.findIndex((l) => /^[✔✘!–] /.test(l) && l.includes(text));
    return { line: lines[i] ?? '', fix: lines[i + 1]?.startsWith('    fix: ') ? lines[i + 1] : undefined };
  };
  return { code, out, line };
}

describe('vmpro doctor', () => {
  it('passes every check against the emulator', async () => {
    const { code, out } = await runDoctor({});
    const checks = out.split('\n').filter((l) => /^[✔✘!–] /.test(l));
    expect(checks.length).toBeGreaterThanOrEqual(12);
    expect(checks.filter((l) => !l.startsWith('✔'))).toEqual([]);
    expect(out).toContain("✔ WebFinger in movingimage's form");
    expect(out).toContain(`✔ Issuer ${emulator.issuer}`);
    expect(out).toContain('✔ PKCE with S256 supported');
    expect(out).toContain('All checks passed.');
    expect(code).toBe(0);
  });

  it('fails with a fix when the API base does not answer', async () => {
    const port = await freePort();
    const { code, line } = await runDoctor({ VMPRO_API_BASE: `http://127.0.0.1:${port}` });
    const webfinger = line('WebFinger');
    expect(webfinger.line).toMatch(
      /^✘ WebFinger at http:\/\/127\.0\.0\.1:\d+\/\.well-known\/webfinger\?.* cannot be reached: ECONNREFUSED/,
    );
    expect(webfinger.fix).toMatch(/VMPRO_API_BASE/);
    expect(line('OpenID configuration').line).toMatch(/^– /);
    expect(code).toBe(1);
  });

  it('refuses a plain-http API base that is not loopback', async () => {
    const { code, line } = await runDoctor({ VMPRO_API_BASE: 'http://api.example.com' });
    expect(line('API base').line).toMatch(/^✘ .*plain http/);
    expect(line('API base').fix).toMatch(/https/);
    expect(code).toBe(1);
  });

  it('fails the issuer check when the configured issuer differs from the announced one', async () => {
    const { code, line } = await runDoctor({}, { issuer: `${emulator.issuer}/` });
    const issuer = line('names the issuer');
    expect(issuer.line).toMatch(/^✘ The OpenID configuration names the issuer/);
    expect(issuer.fix).toMatch(/frontendUrl|misspelled/);
    expect(code).toBe(1);
  });

  it("fails the clock check when this machine's clock is 2 minutes off", async () => {
    const { code, line } = await runDoctor({}, {}, { now: () => Date.now() + 120_000 });
    expect(line('clock').line).toMatch(/^✘ This machine's clock is 1\d\d s ahead of the login server's/);
    expect(line('clock').fix).toMatch(/timedatectl|Synchronise/);
    expect(code).toBe(1);
  });

  it('fails on a session secret shorter than 32 characters', async () => {
    const { code, line } = await runDoctor({ VMPRO_SESSION_SECRET: 'short' });
    expect(line('VMPRO_SESSION_SECRET').line).toMatch(/^✘ /);
    expect(line('VMPRO_SESSION_SECRET').fix).toContain('openssl rand -base64 32');
    expect(code).toBe(1);
  });

  it('only warns when no session secret is set', async () => {
    const { code, line } = await runDoctor({ VMPRO_SESSION_SECRET: '' });
    expect(line('VMPRO_SESSION_SECRET').line).toMatch(/^! /);
    expect(code).toBe(0);
  });

  it('fails on a session store it does not understand', async () => {
    const { code, line } = await runDoctor({ VMPRO_SESSION_STORE: 'mysql://x' });
    expect(line('VMPRO_SESSION_STORE').line).toMatch(/^✘ /);
    expect(line('VMPRO_SESSION_STORE').fix).toContain('redis://');
    expect(code).toBe(1);
  });

  it('fails when the Redis store does not answer', async () => {
    const port = await freePort();
    const { code, line } = await runDoctor({ VMPRO_SESSION_STORE: `redis://:pw@127.0.0.1:${port}` });
    const redis = line('Redis at');
    expect(redis.line).toMatch(/^✘ Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ does not answer/);
    expect(redis.line).not.toContain(':pw@');
    expect(redis.fix).toContain('Start Redis');
    expect(code).toBe(1);
  });

  it('fails when VMPRO_CLIENT_SECRET is set without VMPRO_CLIENT_ID', async () => {
    const { code, line } = await runDoctor({ VMPRO_CLIENT_SECRET: 'x' });
    expect(line('VMPRO_CLIENT_SECRET').line).toMatch(/^✘ /);
    expect(code).toBe(1);
  });

  it('fails when the credentials file is readable by others, with the chmod fix', async () => {
    const path = credentialsPath({ VMPRO_HOME: home });
    await writeCredentials(path, {
      version: 1,
      apiBase: emulator.apiBase,
      issuer: emulator.issuer,
      clientId: 'anonymous',
      grant: 'password',
      tokens: {
        accessToken: 'a',
        tokenType: 'Bearer',
        accessTokenExpiresAt: null,
        refreshToken: null,
        refreshTokenExpiresAt: null,
        idToken: null,
        claims: null,
        scope: null,
        sessionState: null,
        receivedAt: 0,
      },
      savedAt: new Date().toISOString(),
    });
    expect((await runDoctor({})).line('Credentials file').line).toMatch(/^✔ /);
    await chmod(path, 0o644);
    const { code, line } = await runDoctor({});
    expect(line('credentials file').line).toMatch(/^✘ .*mode 0644/);
    expect(line('credentials file').fix).toContain(`chmod 600 ${path}`);
    expect(code).toBe(1);
  });
});

describe.skipIf(!process.env.REDIS_URL)('vmpro doctor with Redis (needs REDIS_URL)', () => {
  it('passes when the Redis store answers PING', async () => {
    const { line } = await runDoctor({ VMPRO_SESSION_STORE: process.env.REDIS_URL! });
    expect(line('Redis at').line).toMatch(/^✔ Redis at .* answers PING/);
  });
});
